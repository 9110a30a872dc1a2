"""Fault soak (not a test): a campaign on the real sandbox with faults injected at random moments, judged at
the end by ``dialer audit`` against Asterisk's own call records.

    dialer bench soak [--minutes 8] [--seed N] [--faults kill9,asterisk-restart,ami-cut] [--json]
                      [--database URL] [--contacts 300] [--agents 6] [--gap 15]

A campaign of a few hundred simulated numbers (every behaviour of the carrier: answered, busy, no answer,
congestion, unallocated, machine) runs in predictive mode with softphone agents taking the calls, while
505 callers ring the IVR now and then. The service runs as a subprocess (``python -m dialer serve``) and
reaches AMI through a loopback proxy (bench/amiproxy.py) so the link can be cut or frozen. Faults
(bench/soakfaults.py) come one at a time, each after a random gap, in a shuffled order that gives each its
turn. When time is up the campaign is paused, the calls in flight end, and the audit runs.

Prints one JSON object (``--json``) or a summary: ``trials`` (fault -> count), ``calls`` (placed, connected,
abandoned, ...), ``anomalies`` (kind -> count, every kind, zero when clean), and the fault log. Exit 0 when
the audit is clean, 1 otherwise. It takes the machine's sandbox lock (waiting up to 300 s, ``--lock-wait``) and starts and
stops the sandbox itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from sqlalchemy import func, select

from bench.amiproxy import AmiProxy
from bench.soakfaults import FAULTS, Faults, plan
from bench.soakwatch import Watch
from dialer.agents import services as agent_services
from dialer.ami.link import AmiLink
from dialer.audit.collect import run_audit
from dialer.audit.judge import KINDS
from dialer.config import WEEKDAYS, Settings, load_settings
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import AgentPresence, CallAttempt, InflightNumber
from dialer.sandbox import CARRIER_AMI, Sandbox

REPO = Path(__file__).resolve().parents[1]
LOCK_WAIT = 300.0
FAULT_TAIL = timedelta(seconds=15)  # a fault's effects outlast it by an agent's ring time and a Ping deadline
CAMPAIGN = "soak"
# the carrier's behaviours by last digit (README): mostly people who answer, every other kind mixed in
DIGITS = "1111999002334567891"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProc:
    """``python -m dialer --config CFG serve`` as the operator runs it, killed and restarted at will."""

    def __init__(self, cfg: Path, log: Path, http_port: int) -> None:
        self.cfg = cfg
        self.log = log
        self.port = http_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer", "--config", str(self.cfg), "serve"],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=REPO,
        )
        self.starts += 1

    def pid(self) -> int | None:
        """The running service's pid (None while it is down)."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=3) as r:
                data: dict[str, Any] = json.loads(r.read())
                return data
        except Exception:
            return None

    async def wait_ready(self, timeout: float, *, link_up: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}); see {self.log}")
            h = await asyncio.to_thread(self.health)
            if h is not None and h.get("database") == "ok" and (not link_up or h.get("ami") == "up"):
                return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"the service was not ready within {timeout:.0f} s; see {self.log}")


class Soak:
    def __init__(self, sandbox: Sandbox, db_url: str, workdir: Path, agents: list[str]) -> None:
        self.sandbox = sandbox
        self.db_url = db_url
        self.workdir = workdir
        self.agents = agents
        self.base: Settings = sandbox.settings
        self.proxy = AmiProxy(self.base.ami.host, self.base.ami.port)
        self.cfg = workdir / "soak.yaml"
        self.log = workdir / "serve.log"
        self.service = ServiceProc(self.cfg, self.log, _free_port())
        self.engine = make_engine(db_url)
        self.sessions = make_sessionmaker(self.engine)
        self.inbound = Counter[str]()

    def settings(self) -> Settings:
        return load_settings(self.cfg)

    def write_config(self) -> None:
        assert self.base.call_records.url is not None, "call_records.url must point at the PBX's records"
        self.cfg.write_text(
            json.dumps(
                {
                    "data_dir": str(self.workdir),
                    "database": {"url": self.db_url},
                    "ami": {
                        "host": "127.0.0.1",
                        "port": self.proxy.port,
                        "username": self.base.ami.username,
                        "secret": self.base.ami.secret.get_secret_value(),
                    },
                    "http": {"bind": f"127.0.0.1:{self.service.port}"},
                    "calling_window": {"hours": {d: "00:00-24:00" for d in WEEKDAYS}, "holidays": []},
                    "call_records": {
                        "url": self.base.call_records.url.get_secret_value(),
                        "table": self.base.call_records.table,
                    },
                }
            )
        )

    def cli(self, *args: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "dialer", "--config", str(self.cfg), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        if r.returncode != 0:
            raise RuntimeError(f"dialer {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    async def agents_ready(self, exts: list[str]) -> None:
        """What an agent does when their phone is back: ready again (the engine may have paused them)."""
        for ext in exts:
            for _ in range(20):
                try:
                    await agent_services.set_presence(self.sessions, ext, AgentPresence.READY, actor="soak")
                    break
                except Exception:  # the database may be the one being locked right now
                    await asyncio.sleep(1)

    async def setup(self, contacts: int, rng: Random) -> None:
        await self.proxy.start()
        self.write_config()
        await asyncio.to_thread(self.cli, "db", "upgrade")
        csv = self.workdir / "contacts.csv"
        csv.write_text(
            "phone,application_number,name\n"
            + "".join(f"+7990000{i:03d}{rng.choice(DIGITS)},S-{i},Soak {i}\n" for i in range(contacts))
        )
        args = ["campaign", "create", CAMPAIGN, "--contacts", str(csv), "--mode", "predictive"]
        args += ["--max-attempts", "2", "--wrapup-seconds", "2", "--ring-timeout", "20"]
        for outcome in ("busy", "noanswer", "congestion", "failed", "abandoned", "machine"):
            args += ["--retry", f"{outcome}=60"]
        await asyncio.to_thread(self.cli, *args)
        await asyncio.to_thread(self.cli, "agent", "login", *self.agents)
        await asyncio.to_thread(self.cli, "campaign", "start", CAMPAIGN)

    async def callers(self, rng: Random, stop: asyncio.Event) -> None:
        """505 callers now and then: some key a number, some wait for an operator, all hang up in time."""
        host, port, user, secret = CARRIER_AMI
        link = AmiLink(host, port, user, secret, name="soak-callers")
        link.start()
        try:
            with contextlib.suppress(Exception):
                await link.wait_up(15)
            k = 0
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rng.uniform(4, 12))
                if stop.is_set():
                    break
                k += 1
                digits = rng.choice(["", "5050000001#", f"{rng.randrange(10**9):09d}#"])
                try:
                    r = await link.send(
                        {
                            "Action": "Originate",
                            "Channel": "PJSIP/505@pbx",
                            "Context": "sim-caller",
                            "Exten": "s",
                            "Priority": "1",
                            "CallerID": f'"Caller {k}" <+7990002{k % 10000:04d}>',
                            "Timeout": "15000",
                            "Async": "true",
                            "Variable": [f"DIGITS={digits}", "DTMF_DELAY=1.5", f"STAY={rng.randint(8, 25)}"],
                        },
                        timeout=10,
                    )
                    self.inbound["placed" if r.get("Response") == "Success" else "refused"] += 1
                except Exception:
                    self.inbound["refused"] += 1
        finally:
            await link.stop()

    async def open_calls(self) -> int:
        async with self.sessions() as s:
            n = (await s.execute(select(func.count()).where(CallAttempt.ended_at.is_(None)))).scalar_one()
            m = (await s.execute(select(func.count()).select_from(InflightNumber))).scalar_one()
        return int(n) + int(m)

    async def drain(self, timeout: float = 240) -> None:
        """Pause the campaign and wait for every call in flight to end."""
        await asyncio.to_thread(self.cli, "campaign", "pause", CAMPAIGN)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if await self.open_calls() == 0:
                    return
            await asyncio.sleep(1)
        raise RuntimeError(f"calls still in flight {timeout:.0f} s after the campaign was paused")

    async def close(self) -> None:
        self.service.stop()
        await self.proxy.stop()
        await self.engine.dispose()


async def run_soak(
    sandbox: Sandbox,
    db_url: str,
    workdir: Path,
    *,
    minutes: float,
    seed: int,
    faults: list[str],
    contacts: int = 300,
    agents: int | None = None,
    gap: float = 15.0,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    rng = Random(seed)
    exts = sandbox.agent_extensions(agents)
    soak = Soak(sandbox, db_url, workdir, exts)
    inj = Faults(soak, rng)
    trials: Counter[str] = Counter()
    events: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    stop = asyncio.Event()
    callers: asyncio.Task[None] | None = None
    watch = Watch(soak.service.port)
    watching: asyncio.Task[None] | None = None
    try:
        await soak.setup(contacts, rng)
        soak.service.start()
        await soak.service.wait_ready(60, link_up=True)
        callers = asyncio.create_task(soak.callers(rng, stop))
        watching = asyncio.create_task(watch.run(soak.service.pid, stop))
        end = time.monotonic() + minutes * 60
        order = iter(plan(faults, rng))
        while faults:
            wait = rng.uniform(0.3, 1.7) * gap
            if time.monotonic() + wait >= end:
                break
            await asyncio.sleep(wait)
            name = next(order)
            t = time.monotonic()
            began = datetime.now(UTC)
            note = await inj.runner(name)()
            # a call answered during a fault (an agent's phone gone, the link or the database away) may be
            # abandoned for want of anyone to route it to: kept out of the abandon cap, counted apart
            inj.outages.append((began, datetime.now(UTC) + FAULT_TAIL))
            trials[name] += 1
            events.append(
                {"at": datetime.now(UTC).isoformat(timespec="seconds"), "fault": name, "what": note}
            )
            say(f"{name}: {note} ({time.monotonic() - t:.1f} s)")
            # back to normal before the next one: the service up and linked to Asterisk
            await soak.service.wait_ready(120, link_up=True)
        if not faults:
            await asyncio.sleep(max(0.0, end - time.monotonic()))
        stop.set()
        if callers is not None:
            await callers
        if watching is not None:
            await watching
        say("time is up: pausing the campaign and waiting for calls in flight to end")
        await soak.drain()
        await asyncio.sleep(12)  # the last calls' records are written as their channels go away
        report = await run_audit(
            soak.settings(),
            started - timedelta(seconds=5),
            campaign=CAMPAIGN,
            stuck_after=timedelta(minutes=5),
            blind=inj.blind,
            outages=inj.outages,
        )
    finally:
        stop.set()
        for task in (callers, watching):
            if task is not None and not task.done():
                task.cancel()
        await soak.close()
    log = soak.log.read_text(errors="replace") if soak.log.exists() else ""
    counts = report.counts()
    return {
        "seed": seed,
        "minutes": minutes,
        "database": "postgresql" if db_url.startswith("postgresql") else "sqlite",
        "faults": faults,
        "trials": {f: trials.get(f, 0) for f in faults},
        "calls": {**report.calls, "inbound": soak.inbound.get("placed", 0)},
        "anomalies": {k: counts[k] for k in KINDS},
        "anomaly_details": [a.as_dict() for a in report.anomalies[:50]],
        "service": {
            "starts": soak.service.starts,
            "error_lines": sum(1 for line in log.splitlines() if " ERROR " in line or '"ERROR"' in line),
            "log": str(soak.log),
            **watch.report(),
        },
        "events": events,
    }


def take_lock(root: Path, wait: float = LOCK_WAIT) -> Any:
    """The machine's sandbox lock (dialer/sandbox/lock.py's file), waiting in line at most ``wait`` seconds
    (a blocking flock, so the kernel keeps our turn, interrupted by an alarm; main thread only)."""
    path = root.parent / ".test-lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "w")  # noqa: SIM115 - held for the run

    def expired(*_: Any) -> None:
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, wait)
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
        return f
    except TimeoutError:
        f.close()
        raise RuntimeError(
            f"the sandbox is busy (other test sessions held its lock for {wait:.0f} s); try again later"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parse_faults(value: str) -> list[str]:
    names = [x.strip() for x in value.split(",") if x.strip()]
    bad = [x for x in names if x not in FAULTS]
    if bad:
        raise ValueError(f"unknown fault(s): {', '.join(bad)} (known: {', '.join(FAULTS)})")
    return names


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dialer bench soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=None, help="default: random (printed, to reproduce the run)")
    p.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help="comma-separated, a name repeated to weigh it (default: all): " + ", ".join(FAULTS),
    )
    p.add_argument("--database", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--contacts", type=int, default=300)
    p.add_argument("--agents", type=int, default=6, help="softphone agents (at most 20)")
    p.add_argument("--gap", type=float, default=15.0, help="mean seconds between faults")
    p.add_argument(
        "--lock-wait", type=float, default=LOCK_WAIT, help="seconds to wait for the sandbox (default 300)"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        faults = parse_faults(args.faults)
    except ValueError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 2
    if not 1 <= args.contacts <= 1000:
        print("dialer: --contacts must be 1..1000", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else Random().randrange(10**6)
    base = load_settings(REPO / "config.yaml")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else print
    say(f"soak: seed {seed}, {args.minutes:g} minutes, faults {', '.join(faults)}")
    try:
        lock = take_lock(base.sandbox.root, args.lock_wait)
    except RuntimeError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 2
    try:
        work = Path(tempfile.mkdtemp(prefix="dialer-soak-"))
        db_url = args.database or f"sqlite+aiosqlite:///{work / 'soak.db'}"
        sb = Sandbox(load_settings(REPO / "config.yaml", data_dir=work))
        say("soak: starting the sandbox")
        sb.up(agents=args.agents)
        try:
            result = asyncio.run(
                run_soak(
                    sb,
                    db_url,
                    work,
                    minutes=args.minutes,
                    seed=seed,
                    faults=faults,
                    contacts=args.contacts,
                    agents=args.agents,
                    gap=args.gap,
                    say=say,
                )
            )
        finally:
            sb.down()
    finally:
        lock.close()
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"trials: {result['trials']}")
        print(f"calls: {result['calls']}")
        print(f"anomalies: {result['anomalies']}")
        for a in result["anomaly_details"]:
            print(f"  {a}")
    return 0 if not any(result["anomalies"].values()) else 1
