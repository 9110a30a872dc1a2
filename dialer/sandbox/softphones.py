"""Agent softphones: one baresip process per agent, inside the chroot, auto-answering.

Each runs in the foreground with stdin held open by ``sleep`` (its ``-d`` daemon mode breaks stdio), in its
own session so ``down`` can kill the whole group. ``ctrl_tcp`` lets tests drive a phone (hang up, etc.).
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import time
import wave
from pathlib import Path

from dialer.sandbox.asterisk import INNER, agent_password

SIP_BASE_PORT = 5090
CTRL_BASE_PORT = 4440
RTP_BASE_PORT = 20000


def agent_dir(ext: str) -> Path:
    return INNER / "agents" / ext


def sip_port(ext: str) -> int:
    return SIP_BASE_PORT + int(ext) % 100


def ctrl_port(ext: str) -> int:
    return CTRL_BASE_PORT + int(ext) % 100


TALK_SECONDS = 1800


def _write_audio(path: Path) -> None:
    """A quiet 8 kHz 16-bit mono WAV, shared by all phones: baresip's aufile source needs one (ausine only
    does 48 kHz), and baresip hangs up when the file ends, so it lasts longer than any test call."""
    if path.exists() and path.stat().st_size > TALK_SECONDS * 16000:
        return
    second = b"".join(struct.pack("<h", (i % 16) * 20 - 160) for i in range(8000))
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(second * TALK_SECONDS)
    tmp.rename(path)


def configure(root: Path, ext: str, *, answer: str = "auto") -> Path:
    d = root / str(agent_dir(ext)).lstrip("/")
    d.mkdir(parents=True, exist_ok=True)
    inner = agent_dir(ext)
    _write_audio(d.parent / "talk.wav")
    (d / "accounts").write_text(
        f"<sip:{ext}@127.0.0.1:5060;transport=udp>;auth_pass={agent_password(ext)};answermode={answer};regint=60\n"
    )
    rtp = RTP_BASE_PORT + (int(ext) % 100) * 20
    (d / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port(ext)}",
                "net_interface 127.0.0.1",
                f"rtp_ports {rtp}-{rtp + 19}",
                "audio_player aufile,/dev/null",
                f"audio_source aufile,{inner.parent}/talk.wav",
                "audio_alert aufile,/dev/null",
                "module_path /usr/lib/baresip/modules",
                "module g711.so",
                "module aufile.so",
                "module_app account.so",
                "module_app menu.so",
                "module_app ctrl_tcp.so",
                f"ctrl_tcp_listen 127.0.0.1:{ctrl_port(ext)}",
                "",
            ]
        )
    )
    return d


def _pidfile(root: Path, ext: str) -> Path:
    return root / str(agent_dir(ext)).lstrip("/") / "pgid"


def start(root: Path, ext: str, *, answer: str = "auto") -> None:
    stop(root, ext)
    d = configure(root, ext, answer=answer)
    log = open(d / "baresip.log", "wb")  # noqa: SIM115 - handed to the child
    # `sleep` keeps stdin open; exec so the group is just sleep + baresip
    cmd = f"sleep 2147483647 | exec chroot {root} baresip -f {agent_dir(ext)} -v"
    p = subprocess.Popen(["sh", "-c", cmd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _pidfile(root, ext).write_text(str(p.pid))


def stop(root: Path, ext: str) -> None:
    stop_many(root, [ext])


def stop_many(root: Path, exts: list[str], grace: float = 2.0) -> None:
    """TERM every phone at once (each unregisters, which takes about a second), KILL what is left."""
    groups: dict[str, int] = {}
    for ext in exts:
        try:
            groups[ext] = int(_pidfile(root, ext).read_text())
        except (OSError, ValueError):
            continue
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = {}
        for ext, pgid in groups.items():
            try:
                os.killpg(pgid, sig)
                alive[ext] = pgid
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            for ext, pgid in list(alive.items()):
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    del alive[ext]
            time.sleep(0.05)
        groups = alive
        if not groups:
            break
    for ext in exts:
        _pidfile(root, ext).unlink(missing_ok=True)


def is_running(root: Path, ext: str) -> bool:
    try:
        os.killpg(int(_pidfile(root, ext).read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def started_agents(root: Path) -> list[str]:
    base = root / str(INNER / "agents").lstrip("/")
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "pgid").exists())
