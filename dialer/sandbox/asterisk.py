"""Two Asterisk 22 instances in the chroot: the call centre's PBX (our real configuration from
``asterisk_conf/``) and a simulated carrier network (the test overlay) that the PBX reaches over a PJSIP trunk."""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import signal
import struct
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from dialer.sandbox.chroot import SandboxError, chroot_cmd, run_in

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "asterisk_conf"
INNER = Path("/opt/dialer-sandbox")  # path inside the chroot
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"


def agent_password(ext: str) -> str:
    """Sandbox agent passwords are fixed so tests and softphones know them; production sets its own."""
    return f"sandbox-{ext}"


@dataclass
class Instance:
    name: str
    sources: list[Path]  # files copied into astetcdir, later ones win
    generated: dict[str, str] = field(default_factory=dict)

    def inner(self, *parts: str) -> Path:
        return INNER / self.name / Path(*parts) if parts else INNER / self.name

    @property
    def conf(self) -> str:
        return str(self.inner("etc", "asterisk.conf"))

    def asterisk_conf(self) -> str:
        d = self.inner()
        return f"""[directories]
astetcdir => {d}/etc
astmoddir => {MODULE_DIR}
astvarlibdir => /var/lib/asterisk
astdbdir => {d}/db
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => {INNER}/agi-bin
astspooldir => {d}/spool
astrundir => {d}/run
astlogdir => {d}/log
astsbindir => /usr/sbin

[options]
verbose = 1
debug = 0
nofork = no
transcode_via_sln = yes
hideconnect = yes
lockconfdir = no
documentation_language = en_US
"""


def pbx_instance(ami_secret: str, agents: range) -> Instance:
    sources = sorted(p for p in CONF.glob("*.conf"))
    sources += sorted((CONF / "sandbox" / "pbx").glob("*.conf"))
    auth = "".join(
        f"[{e}-auth]\ntype = auth\nauth_type = userpass\nusername = {e}\npassword = {agent_password(str(e))}\n\n"
        for e in agents
    )
    inst = Instance("pbx", sources)
    inst.generated = {
        "manager_secret.conf": f"secret = {ami_secret}\n",
        "pjsip_agents_auth.conf": auth,
    }
    return inst


def carrier_instance() -> Instance:
    # the PBX's base files, then the network's own manager/pjsip/extensions/rtp on top
    sources = sorted(p for p in CONF.glob("*.conf"))
    sources += sorted((CONF / "sandbox" / "carrier").glob("*.conf"))
    return Instance("carrier", sources)


def _write_greeting(path: Path, seconds: float = 4.0) -> None:
    """A speech-like 4 s greeting (syllable-shaped bursts of mixed tones) for the answering-machine number,
    so Asterisk's AMD hears talk, not a pure tone or silence."""
    rate = 8000
    rng = random.Random(505)
    frames = bytearray()
    n = int(seconds * rate)
    syl = 0.0
    for i in range(n):
        t = i / rate
        if i % 1600 == 0:
            syl = rng.uniform(0.5, 1.0) if rng.random() < 0.85 else 0.0
        env = syl * (0.5 - 0.5 * math.cos(2 * math.pi * (i % 1600) / 1600))
        s = env * (0.5 * math.sin(2 * math.pi * 180 * t) + 0.3 * math.sin(2 * math.pi * 720 * t)) + rng.gauss(
            0, 0.02
        )
        frames += struct.pack("<h", max(-32767, min(32767, int(s * 12000))))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def install(root: Path, inst: Instance) -> None:
    """Write the instance's configuration and fresh runtime folders into the chroot."""
    base = root / str(inst.inner()).lstrip("/")
    etc = base / "etc"
    shutil.rmtree(etc, ignore_errors=True)
    etc.mkdir(parents=True)
    for sub in ("run", "log", "spool", "db"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "log" / "messages").unlink(missing_ok=True)
    for src in inst.sources:
        shutil.copy2(src, etc / src.name)
    for name, text in inst.generated.items():
        (etc / name).write_text(text)
        os.chmod(etc / name, 0o600)
    (etc / "asterisk.conf").write_text(inst.asterisk_conf())


def _write_hello(path: Path, seconds: float = 0.5) -> None:
    """A person's short "hello?": ONE word (continuous voice, soft attack and decay), so answering-machine
    detection hears a short greeting and then silence: a human."""
    rate = 8000
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        t = i / rate
        env = math.sin(math.pi * i / n) ** 0.5
        s = env * (0.6 * math.sin(2 * math.pi * 200 * t) + 0.3 * math.sin(2 * math.pi * 800 * t))
        frames += struct.pack("<h", int(s * 12000))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def inside(root: Path, path: Path) -> Path:
    """Resolve symlinks the way the chroot sees them (Debian's sound folders are absolute alternatives links)."""
    for _ in range(20):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / str(target).lstrip("/") if target.is_absolute() else path.parent / target
    raise SandboxError(f"symlink loop at {path}")


def install_media(root: Path) -> None:
    """Project sounds (asterisk_conf/sounds/<lang>/...), the simulated greeting, and the classic AGI scripts."""
    sounds = root / "usr/share/asterisk/sounds"
    src = CONF / "sounds"
    if src.is_dir():
        for lang_dir in src.iterdir():
            if lang_dir.is_dir():
                shutil.copytree(lang_dir, inside(root, sounds / lang_dir.name), dirs_exist_ok=True)
    greeting = inside(root, sounds / "en") / "sim" / "machine-greeting.wav"
    if not greeting.exists():
        _write_greeting(greeting)
    _write_hello(inside(root, sounds / "en") / "sim" / "hello.wav")
    agi = root / str(INNER / "agi-bin").lstrip("/")
    agi.mkdir(parents=True, exist_ok=True)
    scripts = REPO / "agi_scripts"
    if scripts.is_dir():
        for f in scripts.iterdir():
            if f.is_file():
                shutil.copy2(f, agi / f.name)
    from dialer.ivr.bundle import write_bundle  # the classic IVR script's modules, pyst2 and six

    write_bundle(agi)


def rx(root: Path, inst: Instance, command: str, timeout: float = 15) -> str:
    r = run_in(root, "asterisk", "-C", inst.conf, "-rx", command, timeout=timeout)
    if r.returncode != 0:
        raise SandboxError(f"{inst.name}: asterisk -rx {command!r} failed: {(r.stderr or r.stdout).strip()}")
    return r.stdout


def pid(root: Path, inst: Instance) -> int | None:
    pidfile = root / str(inst.inner("run", "asterisk.pid")).lstrip("/")
    try:
        p = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(p, 0)
    except ProcessLookupError:
        return None
    return p


def running(root: Path, inst: Instance) -> bool:
    if pid(root, inst) is None:
        return False
    try:
        return "Asterisk" in rx(root, inst, "core show version", timeout=5)
    except (SandboxError, subprocess.TimeoutExpired):
        return False


def start(root: Path, inst: Instance, timeout: float = 60) -> None:
    if running(root, inst):
        stop(root, inst)
    r = subprocess.run(
        chroot_cmd(root, "asterisk", "-C", inst.conf),
        check=False,
        text=True,
        capture_output=True,
        timeout=30,
    )
    if r.returncode != 0:
        raise SandboxError(f"{inst.name}: asterisk did not start: {(r.stderr or r.stdout).strip()}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rx(root, inst, "core waitfullybooted", timeout=max(1.0, deadline - time.monotonic()))
            return
        except (SandboxError, subprocess.TimeoutExpired):
            time.sleep(0.2)
    raise SandboxError(f"{inst.name}: asterisk did not finish booting within {timeout:.0f} s")


def stop(root: Path, inst: Instance, timeout: float = 15) -> None:
    p = pid(root, inst)
    if p is None:
        return
    with contextlib.suppress(SandboxError, subprocess.TimeoutExpired):
        rx(root, inst, "core stop now", timeout=5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(p, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(p, signal.SIGKILL)


def log_path(root: Path, inst: Instance) -> Path:
    return root / str(inst.inner("log", "messages")).lstrip("/")
