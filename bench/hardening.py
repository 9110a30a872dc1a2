"""The service under the loads of issue 11, each against a baseline from the same run, on a large database
(44 campaigns, 100,000 contacts, 200,000 applications, 60,000 call attempts of which 12,000 today):

1. ``/healthz`` latency while 8 clients log in with unknown names as fast as they can (scrypt each time:
   the login throttle is raised out of the way for this part), against ``/healthz`` alone.
2. IVR calls over FastAGI (a scripted Asterisk side, the service's real ``ivr`` route and database
   look-up) while 250 idle peers hold connections open (reconnecting as soon as they are dropped), against
   the same calls with no idle peers.
3. 200 dashboard event streams: the gap between updates on each stream, the service's CPU while they are
   open and once they have left, and ``/healthz`` meanwhile, against one stream.

The service is a real ``dialer serve`` process (Asterisk unreachable; its AMI port is dead); its CPU is read
from /proc. Usage::

    dialer bench hardening                       # SQLite in a temporary folder, about 3 minutes
    dialer bench hardening --streams 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.agi_latency import STATUSES, Caller, number, stored  # noqa: E402
from dialer.db import migrate  # noqa: E402

CAMPAIGNS, CONTACTS, APPS, ATTEMPTS, TODAY = 44, 100_000, 200_000, 60_000, 12_000
ADMIN, ADMIN_PW = "bench-admin", "bench admin password 7"
SOURCES = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(samples: Sequence[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


# ---- the database ----------------------------------------------------------------------------------------
def seed(path: Path) -> None:
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    rng = random.Random(11)
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA synchronous=OFF")
        c.executemany(
            "INSERT INTO applications (number, search_key, applicant_name, phone, status, pickup_office,"
            " pickup_from, created_at, updated_at) VALUES (?, ?, 'Bench Applicant', ?, ?, 'Office 1',"
            " '2027-03-15', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            ((stored(i), number(i), f"+7990{i:07d}", STATUSES[i % 5]) for i in range(APPS)),
        )
        c.executemany(
            "INSERT INTO campaigns (name, state, caller_id, pacing_mode, pacing_params, max_attempts,"
            " retry_delays, abandon_cap, window, timezone, weight, ring_timeout, wrapup_seconds, amd,"
            " created_at, updated_at) VALUES (?, ?, '505', 'predictive', '{}', 3, '{}', 0.03, '{}',"
            " 'Europe/Moscow', 1, 30, 15, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (
                (f"campaign-{i:02d}", ("running", "paused", "draft", "completed")[i % 4])
                for i in range(CAMPAIGNS)
            ),
        )
        states = ("pending", "pending", "done", "exhausted", "dialing", "dnc", "invalid")
        c.executemany(
            "INSERT INTO contacts (campaign_id, application_id, phone, name, state, priority, attempts,"
            " next_attempt_at, needs_reserved_agent, created_at) VALUES (?, ?, ?, 'Bench', ?, 5, 1,"
            " '2026-01-01 00:00:00', 0, '2026-01-01 00:00:00')",
            ((i % CAMPAIGNS + 1, i + 1, f"+7990{i:07d}", states[i % len(states)]) for i in range(CONTACTS)),
        )
        now = time.time()
        outcomes = ("connected", "abandoned", "busy", "noanswer", "connected", "machine")

        def attempt(i: int) -> tuple[Any, ...]:
            age = rng.uniform(0, 3 * 3600) if i < TODAY else rng.uniform(2 * 86400, 30 * 86400)
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - age))
            return (
                i % CAMPAIGNS + 1,
                i % CONTACTS + 1,
                f"+7990{i % CONTACTS:07d}",
                f"bench-{i}",
                outcomes[i % len(outcomes)],
                at,
                at,
                at,
            )

        c.executemany(
            "INSERT INTO call_attempts (campaign_id, contact_id, phone, action_id, state, outcome,"
            " created_at, originated_at, ended_at) VALUES (?, ?, ?, ?, 'ended', ?, ?, ?, ?)",
            (attempt(i) for i in range(ATTEMPTS)),
        )
        c.executemany(
            "INSERT INTO agents (extension, name, presence, state, registered, state_since, created_at)"
            " VALUES (?, ?, 'ready', 'ready', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            ((str(100 + i), f"Agent {i}") for i in range(1, 21)),
        )
        c.execute("ANALYZE")


async def make_admin(url: str) -> str:
    from dialer.db.engine import make_engine, make_sessionmaker
    from dialer.web import users
    from dialer.web.models import Role

    engine = make_engine(url)
    try:
        ss = make_sessionmaker(engine)
        await users.create_user(ss, ADMIN, ADMIN_PW, Role.ADMIN, actor="bench")
        return await users.create_token(ss, ADMIN, actor="bench", name="bench")
    finally:
        await engine.dispose()


# ---- the service -----------------------------------------------------------------------------------------
class Served:
    def __init__(self, url: str, work: Path) -> None:
        self.http, self.agi = free_port(), free_port()
        env = {
            **os.environ,
            "DIALER_DATABASE__URL": url,
            "DIALER_AMI__PORT": str(free_port()),
            "DIALER_HTTP__BIND": f"127.0.0.1:{self.http}",
            "DIALER_FASTAGI__BIND": f"127.0.0.1:{self.agi}",
            "DIALER_HTTP__LOGIN_FAILURES_PER_USER": "1000000",
            "DIALER_HTTP__LOGIN_FAILURES_PER_ADDRESS": "1000000",
            "DIALER_LOGGING__LEVEL": "ERROR",
        }
        self.log = open(work / "serve.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), "serve"],
            env=env,
            cwd=work,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.http}"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def wait_up(self, session: Any) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"dialer serve exited ({self.proc.returncode}); see {self.log.name}")
            with contextlib.suppress(OSError):
                async with session.get(self.base + "/healthz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise SystemExit("dialer serve did not come up in 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


PROBE = """
import json, sys, time, urllib.request
base, seconds, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
out, stop = [], time.monotonic() + seconds
while time.monotonic() < stop:
    t0 = time.perf_counter()
    with urllib.request.urlopen(base + "/healthz", timeout=30) as r:
        r.read()
    out.append(time.perf_counter() - t0)
    time.sleep(every)
print(json.dumps(out))
"""


async def healthz_samples(_session: Any, base: str, seconds: float, every: float = 0.05) -> list[float]:
    """/healthz latencies measured from a process of its own, so the load this bench generates in its own
    event loop (200 streams to read) does not count as the service's latency."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, base, str(seconds), str(every), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    samples: list[float] = json.loads(out)
    return samples


# ---- 1: logins -------------------------------------------------------------------------------------------
async def logins(session: Any, srv: Served, clients: int, seconds: float) -> dict[str, Any]:
    base = await healthz_samples(session, srv.base, seconds)
    done = 0
    stop = time.monotonic() + seconds

    async def client(k: int) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < stop:
            body = {"username": f"nobody-{k}-{i}", "password": "wrong password 1"}
            async with session.post(srv.base + "/api/v1/session", json=body) as r:
                await r.read()
                assert r.status == 401, r.status
            done += 1
            i += 1

    cpu0 = srv.cpu_seconds()
    probe = asyncio.ensure_future(healthz_samples(session, srv.base, seconds))
    await asyncio.gather(*(client(k) for k in range(clients)))
    loaded = await probe
    cpu = (srv.cpu_seconds() - cpu0) / seconds
    return {
        "healthz_alone_p50_ms": pct(base, 0.5),
        "healthz_alone_p99_ms": pct(base, 0.99),
        "healthz_loaded_p50_ms": pct(loaded, 0.5),
        "healthz_loaded_p99_ms": pct(loaded, 0.99),
        "logins_per_s": done / seconds,
        "service_cpu": cpu,
    }


# ---- 2: FastAGI ------------------------------------------------------------------------------------------
async def ivr_calls(port: int, seconds: float) -> tuple[int, int, list[float], list[float]]:
    """IVR calls back to back for ``seconds``: (completed, placed, call durations, look-up latencies)."""
    caller = Caller(port, APPS, random.Random(5))
    ok = placed = 0
    durations: list[float] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        placed += 1
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(caller.one_call(f"+7995{placed:07d}"), 30)
            ok += 1
        durations.append(time.perf_counter() - t0)
    return ok, placed, durations, caller.lookups


async def fastagi(srv: Served, idle: int, seconds: float) -> dict[str, Any]:
    """The idle peers come from 8 loopback addresses (each under ``fastagi.max_pending_per_peer``) and
    reconnect the moment they are dropped by the header deadline, as an attacker would: the calls are
    measured while they are all connected and churning."""
    ok0, n0, dur0, look0 = await ivr_calls(srv.agi, seconds / 2)
    stop = asyncio.Event()
    connected = 0
    reconnects = 0

    async def peer(k: int) -> None:
        nonlocal connected, reconnects
        source = f"127.0.0.{2 + k % SOURCES}"  # several addresses, each under the per-address cap
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", srv.agi, local_addr=(source, 0))
            except OSError:
                await asyncio.sleep(0.05)
                continue
            connected += 1
            with contextlib.suppress(OSError, TimeoutError):
                stopper = asyncio.ensure_future(stop.wait())
                closed = asyncio.ensure_future(reader.read())
                await asyncio.wait({stopper, closed}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                closed.cancel()
            connected -= 1
            reconnects += 1
            writer.close()

    peers = [asyncio.ensure_future(peer(k)) for k in range(idle)]
    deadline = time.monotonic() + 10
    while connected < idle and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    at_start = connected
    cpu0, t0, churn0 = srv.cpu_seconds(), time.monotonic(), reconnects
    ok1, n1, dur1, look1 = await ivr_calls(srv.agi, seconds)
    window = time.monotonic() - t0
    cpu = (srv.cpu_seconds() - cpu0) / window
    churn = (reconnects - churn0) / window
    stop.set()
    await asyncio.gather(*peers, return_exceptions=True)
    return {
        "idle_peers_connected": at_start,
        "idle_reconnects_per_s": churn,
        "service_cpu": cpu,
        "calls_alone_ok": f"{ok0}/{n0}",
        "calls_with_idle_ok": f"{ok1}/{n1}",
        "call_alone_p50_ms": pct(dur0, 0.5),
        "call_with_idle_p50_ms": pct(dur1, 0.5),
        "call_with_idle_p99_ms": pct(dur1, 0.99),
        "lookup_alone_p50_ms": pct(look0, 0.5),
        "lookup_with_idle_p50_ms": pct(look1, 0.5),
    }


# ---- 3: dashboards ---------------------------------------------------------------------------------------
async def stream(
    session: Any, srv: Served, token: str, seconds: float, gaps: list[float], first: list[float]
) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.monotonic()
    last: float | None = None
    n = 0
    async with session.get(srv.base + "/api/v1/dashboard/events", headers=headers) as r:
        assert r.status == 200, r.status
        stop = t0 + seconds
        while time.monotonic() < stop:
            try:
                line = await asyncio.wait_for(r.content.readline(), max(0.1, stop - time.monotonic()))
            except TimeoutError:
                break
            if line.startswith(b"event: dashboard"):
                now = time.monotonic()
                if last is None:
                    first.append(now - t0)
                else:
                    gaps.append(now - last)
                last = now
                n += 1
    if last is not None:
        gaps.append(time.monotonic() - last)  # the time since the last update when the window closed
    return n


async def dashboards(session: Any, srv: Served, token: str, streams: int, seconds: float) -> dict[str, Any]:
    one_gaps: list[float] = []
    cpu0 = srv.cpu_seconds()
    await stream(session, srv, token, seconds, one_gaps, [])
    one_cpu = (srv.cpu_seconds() - cpu0) / seconds
    gaps: list[float] = []
    first: list[float] = []
    cpu0 = srv.cpu_seconds()
    probe = asyncio.ensure_future(healthz_samples(session, srv.base, seconds, 0.1))
    counts = await asyncio.gather(
        *(stream(session, srv, token, seconds, gaps, first) for _ in range(streams))
    )
    health = await probe
    cpu = (srv.cpu_seconds() - cpu0) / seconds
    await asyncio.sleep(1)
    cpu0 = srv.cpu_seconds()
    await asyncio.sleep(5)
    after = (srv.cpu_seconds() - cpu0) / 5
    return {
        "streams": streams,
        "streams_with_updates": sum(1 for c in counts if c > 1),
        "updates_per_stream_min": min(counts),
        "update_gap_p50_s": pct(gaps, 0.5) / 1000,
        "update_gap_max_s": max(gaps) if gaps else float("nan"),
        "first_update_p99_s": pct(first, 0.99) / 1000,
        "service_cpu": cpu,
        "service_cpu_one_stream": one_cpu,
        "service_cpu_after": after,
        "one_stream_gap_max_s": max(one_gaps) if one_gaps else float("nan"),
        "healthz_p99_ms": pct(health, 0.99),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    work = Path(args.work)
    db = work / "dialer.db"
    url = f"sqlite+aiosqlite:///{db}"
    if not db.exists():
        t0 = time.perf_counter()
        await asyncio.to_thread(seed, db)
        print(f"seeded {db} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        token = await make_admin(url)
        (work / "token").write_text(token)
    token = (work / "token").read_text()
    srv = Served(url, work)
    out: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as s:
            await srv.wait_up(s)
            print("1/3 logins with unknown names ...", file=sys.stderr)
            out["logins"] = await logins(s, srv, args.logins, args.seconds)
            print("2/3 FastAGI with idle peers ...", file=sys.stderr)
            out["fastagi"] = await fastagi(srv, args.idle_peers, args.seconds)
            print("3/3 dashboards ...", file=sys.stderr)
            out["dashboards"] = await dashboards(s, srv, token, args.streams, args.seconds)
    finally:
        srv.stop()
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="dialer bench hardening", description=__doc__.split("\n\n")[0])
    p.add_argument("--logins", type=int, default=8, help="clients logging in with unknown names")
    p.add_argument("--idle-peers", type=int, default=250, help="idle FastAGI connections held open")
    p.add_argument("--streams", type=int, default=200, help="dashboard event streams")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each measured window")
    p.add_argument("--work", help="folder for the database (kept, and reused when it exists)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.work = args.work or tempfile.mkdtemp(prefix="bench-hardening-")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    out = asyncio.run(run(args))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for part, figures in out.items():
        print(part)
        for k, v in figures.items():
            print(f"  {k:28} {v:.3f}" if isinstance(v, float) else f"  {k:28} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
