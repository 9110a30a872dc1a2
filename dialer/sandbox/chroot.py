"""The Debian sid chroot that carries Asterisk 22 and baresip (Debian 12 has no Asterisk package).

Built once with debootstrap and cached; rebuilt when missing or when the package set changes. The
chroot shares the host's network, so Asterisk on 127.0.0.x is reachable from the host's Python.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGES = (
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-ru",
    "asterisk-core-sounds-en",
    "baresip-core",
    # for the classic AGI script that runs where Asterisk runs
    "python3",
    "python3-sqlalchemy",
    "python3-psycopg2",
    "procps",
)
STAMP = ".dialer-sandbox-packages"


class SandboxError(RuntimeError):
    pass


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=False, text=True, capture_output=True, **kw)  # type: ignore[call-overload,no-any-return]


def is_built(root: Path) -> bool:
    stamp = root / STAMP
    return stamp.is_file() and stamp.read_text().split() == list(PACKAGES)


def ensure_host_tools() -> None:
    if shutil.which("debootstrap") is None:
        log.info("installing debootstrap")
        r = _run(
            ["apt-get", "install", "-y", "-q", "debootstrap"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        if r.returncode != 0:
            raise SandboxError(f"apt-get install debootstrap failed: {r.stderr.strip()[-500:]}")


# debootstrap's "I: <Verb> <package>" lines, by phase; the build's progress is read from them
PHASES = (
    ("Retrieving", "downloading packages"),
    ("Extracting", "extracting the base system"),
    ("Unpacking", "unpacking packages"),
    ("Configuring", "configuring packages"),
)
# "I: Retrieving InRelease", "I: Unpacking required packages...", "I: Configuring the base system..."
NOT_PACKAGES = frozenset({"InRelease", "Release", "Packages", "required", "base", "the"})
# measured: 93 s on the project's 2-core machine (other jobs running), 138 s on a fresh Debian 12 VM
BUILD_SECONDS = "90-140"


class BuildProgress:
    """What debootstrap is doing, from its output: the phase, packages done in it, and the number of
    packages it downloaded (the later phases go over them, the required ones first, then the rest).

    The sandbox build is the longest wait a newcomer has (two minutes or more): a line that moves tells
    them it is working and how far it got."""

    def __init__(self) -> None:
        self.phase = 0
        self.done = 0
        self.total = 0

    def feed(self, line: str) -> bool:
        """Read one output line; True when the phase changed."""
        words = line.strip().split()
        if len(words) < 3 or words[0] != "I:":
            return False
        for i, (verb, _) in enumerate(PHASES, 1):
            if words[1] != verb or words[2] in NOT_PACKAGES:
                continue
            changed = i != self.phase
            if changed:
                self.phase, self.done = i, 0
            self.done += 1
            if i == 1:
                self.total = self.done
            return changed
        return False

    def text(self, elapsed: float) -> str:
        if self.phase == 0:
            return f"sandbox: starting debootstrap ({elapsed:.0f} s)"
        name = PHASES[self.phase - 1][1]
        count = (
            f"{self.done}"
            if self.phase == 1 or not self.total
            else f"{min(self.done, self.total)}/{self.total}"
        )
        return f"sandbox: {name}, {count} ({elapsed:.0f} s of usually {BUILD_SECONDS} s)"


def _show(progress: BuildProgress, elapsed: float, tty: bool, final: bool = False) -> None:
    """One line on standard error: redrawn in place on a terminal, else one line per phase."""
    text = progress.text(elapsed)
    if tty:
        end = "\n" if final else ""
        print(f"\r{text:<100}", end=end, file=sys.stderr, flush=True)
    else:
        print(text, file=sys.stderr, flush=True)


def build(root: Path, mirror: str, *, show_progress: bool = True) -> None:
    """Debootstrap into a temporary folder and move it into place, so an interrupted build is never taken
    for a finished one. Progress goes to standard error while it runs (the whole output on failure)."""
    if is_built(root):
        return
    if os.geteuid() != 0:
        raise SandboxError("building the sandbox needs root (debootstrap, chroot, mount)")
    ensure_host_tools()
    unmount_all(root)
    tmp = root.with_name(root.name + ".building")
    unmount_all(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    log.info("building the Asterisk sandbox in %s (once, usually %s s)", root, BUILD_SECONDS)
    t0 = time.monotonic()
    tty = sys.stderr.isatty()
    progress = BuildProgress()
    tail: list[str] = []
    cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), "sid", str(tmp), mirror]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as proc:
        assert proc.stdout is not None
        last_shown = 0.0
        for line in proc.stdout:
            tail = [*tail[-19:], line.rstrip()]
            changed = progress.feed(line)
            now = time.monotonic()
            if show_progress and (changed or (tty and now - last_shown >= 0.5)):
                _show(progress, now - t0, tty)
                last_shown = now
        rc = proc.wait()
    if show_progress and tty:
        _show(progress, time.monotonic() - t0, tty, final=True)
    if rc != 0:
        raise SandboxError("debootstrap failed: " + " | ".join(tail[-5:]))
    (tmp / STAMP).write_text("\n".join(PACKAGES) + "\n")
    if root.exists():
        unmount_all(root)
        shutil.rmtree(root)
    tmp.rename(root)
    log.info("sandbox built in %.0f s", time.monotonic() - t0)


def prepare_network(root: Path) -> None:
    """Name resolution inside the chroot must never wait on DNS: Asterisk looks up the machine's hostname
    (and A.ROOT-SERVERS.NET to find its own address) while setting up calls, and a resolver timeout there
    stalls call set-up by seconds. Both are answered from /etc/hosts."""
    hostname = socket.gethostname()
    (root / "etc/hosts").write_text(
        "127.0.0.1\tlocalhost\n"
        f"127.0.0.1\t{hostname}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "198.41.0.4\ta.root-servers.net A.ROOT-SERVERS.NET\n"
    )
    resolv = Path("/etc/resolv.conf")
    if resolv.is_file():
        (root / "etc/resolv.conf").write_text(resolv.read_text())


def _mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == target for line in f)


def mount(root: Path) -> None:
    """Mount /proc and bind /dev into the chroot (Asterisk and baresip need both)."""
    proc, dev = root / "proc", root / "dev"
    if not _mounted(proc):
        r = _run(["mount", "-t", "proc", "proc", str(proc)])
        if r.returncode != 0:
            raise SandboxError(f"mount proc failed: {r.stderr.strip()}")
    if not _mounted(dev):
        r = _run(["mount", "--bind", "/dev", str(dev)])
        if r.returncode != 0:
            raise SandboxError(f"bind-mount /dev failed: {r.stderr.strip()}")


def unmount_all(root: Path) -> None:
    """Unmount everything under root (deepest first); lazily if busy, so `down` never leaves mounts."""
    if not root.exists():
        return
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts") as f:
        targets = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    for t in sorted(targets, key=len, reverse=True):
        if _run(["umount", t]).returncode != 0:
            _run(["umount", "-l", t])


def chroot_cmd(root: Path, *args: str) -> list[str]:
    return ["chroot", str(root), *args]


def run_in(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        chroot_cmd(root, *args), check=False, text=True, capture_output=True, timeout=timeout
    )
