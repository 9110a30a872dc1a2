"""A real Asterisk 22 for development, demos and tests, without Docker.

``Sandbox.up()`` builds (once) a Debian sid chroot, starts the carrier network and the PBX with the
project's ``asterisk_conf/``, and starts agent softphones; ``down()`` stops them all and unmounts.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dialer.config import Settings
from dialer.sandbox import asterisk, chroot, softphones
from dialer.sandbox.chroot import SandboxError

log = logging.getLogger(__name__)

__all__ = ["Sandbox", "SandboxError"]

CARRIER_AMI = ("127.0.0.2", 5038, "sandbox", "sandbox-carrier")
# agent endpoints configured in pjsip.conf
ALL_AGENTS = range(101, 121)


@dataclass
class Status:
    built: bool
    pbx: bool
    carrier: bool
    agents: dict[str, str]

    def lines(self) -> list[str]:
        out = [
            f"chroot:  {'built' if self.built else 'missing'}",
            f"pbx:     {'running' if self.pbx else 'stopped'}",
            f"carrier: {'running' if self.carrier else 'stopped'}",
        ]
        out += [f"agent {ext}: {state}" for ext, state in sorted(self.agents.items())]
        return out


class Sandbox:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root: Path = settings.sandbox.root
        self.pbx = asterisk.pbx_instance(settings.ami.secret.get_secret_value(), ALL_AGENTS)
        self.carrier = asterisk.carrier_instance()

    def agent_extensions(self, count: int | None = None) -> list[str]:
        n = self.settings.sandbox.agents if count is None else count
        return [str(e) for e in ALL_AGENTS][:n]

    def up(self, agents: int | None = None) -> None:
        chroot.build(self.root, self.settings.sandbox.mirror)
        chroot.mount(self.root)
        chroot.prepare_network(self.root)
        exts = self.agent_extensions(agents)
        softphones.stop_many(self.root, softphones.started_agents(self.root))
        self._both(asterisk.stop)
        for inst in (self.carrier, self.pbx):
            asterisk.install(self.root, inst)
        asterisk.install_media(self.root)
        self.configure_ivr(self.settings.database_url)
        self._both(asterisk.start)
        for ext in exts:
            softphones.start(self.root, ext)
        if exts:
            self.wait_registered(exts)

    def down(self) -> None:
        softphones.stop_many(self.root, softphones.started_agents(self.root))
        self._both(asterisk.stop)
        chroot.unmount_all(self.root)

    def _both(self, fn: Callable[[Path, asterisk.Instance], None]) -> None:
        """Run fn on the PBX and the carrier at once (each start/stop takes a second or two)."""
        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(fn, self.root, inst) for inst in (self.carrier, self.pbx)]:
                f.result()

    def share(self, host_dir: Path) -> Path:
        """Bind-mount a host folder at the same path inside the chroot, so a path means the same on both
        sides (the classic AGI script opens the service's SQLite file there). ``down()`` unmounts it."""
        host_dir = host_dir.resolve()
        host_dir.mkdir(parents=True, exist_ok=True)
        inner = self.root / str(host_dir).lstrip("/")
        if not _is_mount(inner):
            inner.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(["mount", "--bind", str(host_dir), str(inner)], capture_output=True, text=True)
            if r.returncode != 0:
                raise SandboxError(f"bind-mount {host_dir} failed: {r.stderr.strip()}")
        return host_dir

    def configure_ivr(self, database_url: str, *, default_lang: str | None = None) -> None:
        """Point the classic AGI script (agi-bin/dialer-ivr.conf) at a database the chroot can reach:
        PostgreSQL over the shared network as is, a SQLite file through a bind mount of its folder."""
        from sqlalchemy.engine import make_url

        from dialer.ivr.bundle import write_conf

        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self.share(Path(url.database).resolve().parent)
            database_url = url.set(database=str(Path(url.database).resolve())).render_as_string(
                hide_password=False
            )
        agi = self.root / str(asterisk.INNER / "agi-bin").lstrip("/")
        agi.mkdir(parents=True, exist_ok=True)
        write_conf(agi, database_url, default_lang=default_lang)

    def rx(self, command: str, *, carrier: bool = False) -> str:
        return asterisk.rx(self.root, self.carrier if carrier else self.pbx, command)

    def registered_agents(self) -> dict[str, str]:
        """Agent extension -> contact status as the PBX sees it (Avail, Unknown, ...)."""
        if not asterisk.running(self.root, self.pbx):
            return {}
        out = self.rx("pjsip show contacts")
        found: dict[str, str] = {}
        for m in re.finditer(r"Contact:\s+(\d+)/sip:\S+\s+\S+\s+(\w+)", out):
            found[m.group(1)] = m.group(2)
        return found

    def wait_registered(self, exts: list[str], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            reg = self.registered_agents()
            missing = [e for e in exts if e not in reg]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"agent softphones did not register: {', '.join(missing)}")
            time.sleep(0.3)

    def status(self) -> Status:
        built = chroot.is_built(self.root)
        pbx = built and asterisk.running(self.root, self.pbx)
        carrier = built and asterisk.running(self.root, self.carrier)
        reg = self.registered_agents() if pbx else {}
        agents = {}
        for ext in softphones.started_agents(self.root):
            alive = softphones.is_running(self.root, ext)
            agents[ext] = ("registered" if ext in reg else "not registered") if alive else "dead"
        return Status(built, pbx, carrier, agents)

    def log_text(self, *, carrier: bool = False) -> str:
        p = asterisk.log_path(self.root, self.carrier if carrier else self.pbx)
        return p.read_text(errors="replace") if p.exists() else ""


def _is_mount(path: Path) -> bool:
    target = str(path.resolve()) if path.exists() else str(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == target for line in f)
