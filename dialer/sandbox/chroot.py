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


def build(root: Path, mirror: str) -> None:
    """Debootstrap into a temporary folder and move it into place, so an interrupted build is never taken
    for a finished one."""
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
    log.info("building the Asterisk sandbox in %s (about a minute, once)", root)
    t0 = time.monotonic()
    r = _run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(PACKAGES),
            "sid",
            str(tmp),
            mirror,
        ]
    )
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-5:]
        raise SandboxError("debootstrap failed: " + " | ".join(tail))
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
