"""IVR look-up latency: the FastAGI route against a database of 1,000,000 applications at 1, 10 and 50
concurrent calls, and the classic AGI script's start-to-first-command time, side by side in one run.

Usage (``python -m bench.agi_latency --help``; also ``dialer bench agi``)::

    python -m bench.agi_latency                      # SQLite, 1,000,000 applications (cached), ~1-2 min
    python -m bench.agi_latency --apps 100000 --seconds 3
    python -m bench.agi_latency --db-url postgresql+asyncpg://dialer:pw@127.0.0.1/bench   # an empty database

How it measures. A scripted "Asterisk" drives real FastAGI sessions against the service's ``ivr`` route; the
caller keys the digits of a number stored with a dash (``7000-000123``), and the look-up latency is the time
from confirming the read-back (the reply "1" to GET DATA) to receiving the next command, timed by the
scripted "Asterisk" (in a child process, as the real one runs apart from the service): the caller's turn
and in-memory limit, the indexed read by the number's digits, queuing the audit row (written behind the
call in batches), plus the AGI round trip. Baselines from the same run, at the same concurrency: the bare
indexed read of one application through the same session pool (``direct read``), and the directory's
look-up called without AGI; for the classic script a bare python3 that only reads the AGI header and sends
one command.

Two loads per level N. *Sustained*: N callers back to back for ``--seconds``, each call a whole AGI
conversation with no time spent listening to prompts, so the process serves hundreds of calls a second (far
beyond N people on the phone) while it measures. *Burst*: N calls are driven to the read-back, and all N
callers confirm at the same instant, so N look-ups are in flight together (what N people calling at once
can do at worst); the baseline is N direct indexed reads started at the same instant, one per caller.
The classic script runs the way the PBX runs it: inside the sandbox's chroot (Debian sid python3) when it is
built, else with this Python. 10% of the numbers keyed in are unknown; every call has its own caller number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dialer.db import migrate  # noqa: E402
from dialer.db.engine import make_engine, make_sessionmaker  # noqa: E402
from dialer.fastagi.server import FastAgiServer  # noqa: E402
from dialer.ivr.bundle import write_bundle, write_conf  # noqa: E402
from dialer.ivr.fastagi import make_route  # noqa: E402
from dialer.ivr.flow import IvrConfig  # noqa: E402
from dialer.ivr.lookup import AsyncDirectory, find  # noqa: E402

STATUSES = ("ready", "processing", "submitted", "issued", "rejected")
# callers of this run: the database (and the look-up limit seeded from its audit log) outlives a run, and a
# caller number reused by the next run within 10 minutes would have been limited by this one's misses
RUN = f"{random.SystemRandom().randrange(1000):03d}"
FIRST_NUMBER = 7_000_000_000
SANDBOX_ROOT = Path("/var/cache/dialer-sandbox/root")
BARE_AGI = (
    "import sys\n"
    "for line in sys.stdin:\n"
    "    if not line.strip(): break\n"
    "sys.stdout.write('GET VARIABLE IVR_LANG\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
)


@dataclass
class Row:
    what: str
    concurrency: int
    n: int
    p50_ms: float
    p99_ms: float
    baseline: str = ""
    ratio_p50: float | None = None
    ratio_p99: float | None = None


def pct(samples: Sequence[float], q: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def number(i: int) -> str:
    """What the caller keys: the digits."""
    return str(FIRST_NUMBER + i)


def stored(i: int) -> str:
    """How the office wrote it: ``7000-000123``."""
    n = number(i)
    return f"{n[:4]}-{n[4:]}"


# ---- the database ----------------------------------------------------------------------------------------
def seed_sqlite(path: Path, apps: int) -> None:
    """1,000,000 rows in one transaction with executemany: about 10 s; the file is kept for later runs."""
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=OFF")
        rows = (
            (
                stored(i),
                number(i),
                "Bench Applicant",
                f"+7990{i:07d}",
                STATUSES[i % 5],
                f"Отделение №{i % 40 + 1}",
            )
            for i in range(apps)
        )
        c.executemany(
            "INSERT INTO applications (number, search_key, applicant_name, phone, status, pickup_office,"
            " pickup_from, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '2027-03-15',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            rows,
        )
        c.execute("ANALYZE")


async def seed_pg(url: str, apps: int) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    await asyncio.to_thread(migrate.upgrade, url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM applications") >= apps:
            return
        from datetime import UTC, date, datetime

        now, day = datetime.now(UTC), date(2027, 3, 15)
        await conn.copy_records_to_table(
            "applications",
            columns=[
                "number",
                "search_key",
                "applicant_name",
                "phone",
                "status",
                "pickup_office",
                "pickup_from",
                "created_at",
                "updated_at",
            ],
            records=(
                (
                    stored(i),
                    number(i),
                    "Bench Applicant",
                    f"+7990{i:07d}",
                    STATUSES[i % 5],
                    f"Отделение №{i % 40 + 1}",
                    day,
                    now,
                    now,
                )
                for i in range(apps)
            ),
        )
        await conn.execute("ANALYZE applications")
    finally:
        await conn.close()


def fresh_file(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def pick_number(rng: random.Random, apps: int) -> str:
    return number(rng.randrange(apps)) if rng.random() >= 0.1 else str(9_000_000_000 + rng.randrange(10**9))


# ---- FastAGI ---------------------------------------------------------------------------------------------
class Caller:
    """Plays Asterisk's side of FastAGI calls back to back; collects look-up latencies."""

    def __init__(self, port: int, apps: int, rng: random.Random) -> None:
        self.port, self.apps, self.rng = port, apps, rng
        self.lookups: list[float] = []
        self.first_command: list[float] = []

    async def one_call(self, caller: str) -> None:
        t_connect = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = {
            "agi_network_script": "ivr",
            "agi_request": f"agi://127.0.0.1:{self.port}/ivr",
            "agi_uniqueid": f"{time.time():.6f}",
            "agi_callerid": caller,
        }
        writer.write("".join(f"{k}: {v}\n" for k, v in head.items()).encode() + b"\n")
        sent_digits: float | None = None
        first = True
        try:
            while True:
                line = await reader.readline()
                now = time.perf_counter()
                if not line:
                    return
                if first:
                    self.first_command.append(now - t_connect)
                    first = False
                if sent_digits is not None:
                    self.lookups.append(now - sent_digits)
                    sent_digits = None
                cmd = line.decode().strip()
                if cmd.startswith("GET DATA ivr/enter-number"):
                    reply = f"200 result={pick_number(self.rng, self.apps)}"
                elif cmd.startswith("GET DATA ivr/confirm-number"):
                    reply = "200 result=1"  # the read-back was right: the look-up starts now
                    sent_digits = time.perf_counter()
                elif cmd.startswith("GET DATA"):
                    reply = "200 result="  # '#': no, thanks / end
                elif cmd.startswith("GET VARIABLE"):
                    reply = "200 result=0"
                else:
                    reply = "200 result=0"
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()


async def fastagi_level(port: int, apps: int, concurrency: int, seconds: float, seed: int) -> Caller:
    stats = Caller(port, apps, random.Random(seed))
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(w: int) -> None:
        while time.perf_counter() < stop:
            # a fresh caller number per call: no caller-ID offer match, never rate limited
            await stats.one_call(f"+7995{RUN}{w:03d}{next(counter):05d}")

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return stats


async def direct_level(
    directory: AsyncDirectory, apps: int, concurrency: int, seconds: float, seed: int, *, bare: bool
) -> list[float]:
    """The directory's look-up without AGI, or (``bare``) only its indexed read through the same pool."""
    rng = random.Random(seed)
    samples: list[float] = []
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(w: int) -> None:
        while time.perf_counter() < stop:
            n = pick_number(rng, apps)
            t0 = time.perf_counter()
            if bare:
                await directory._run(lambda c, n=n: find(c, n))
            else:
                await directory.lookup(
                    n,
                    f"+7996{RUN}{w:03d}{next(counter):05d}",
                    max_misses=5,
                    window_s=600,
                    details={"app_number": n},
                )
            samples.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return samples


# ---- bursts: N callers confirm their numbers at the same instant ------------------------------------------
async def burst_call(
    port: int, key: str, caller: str, ready: asyncio.Queue[None], go: asyncio.Event, out: list[float]
) -> None:
    """One call that keys ``key``, then waits at the read-back until every caller of the round is there."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = {
        "agi_network_script": "ivr",
        "agi_request": f"agi://127.0.0.1:{port}/ivr",
        "agi_uniqueid": f"{time.time():.6f}",
        "agi_callerid": caller,
    }
    writer.write("".join(f"{k}: {v}\n" for k, v in head.items()).encode() + b"\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = line.decode().strip()
            if cmd.startswith("GET DATA ivr/enter-number"):
                reply = f"200 result={key}"
            elif cmd.startswith("GET DATA ivr/confirm-number"):
                ready.put_nowait(None)
                await go.wait()
                t0 = time.perf_counter()
                writer.write(b"200 result=1\n")
                await writer.drain()
                await reader.readline()  # the flow's first command after the look-up
                out.append(time.perf_counter() - t0)
                return  # the caller hangs up: the flow records the call and ends
            else:
                reply = "200 result=0" if not cmd.startswith("GET DATA") else "200 result="
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()


async def burst_level(port: int, apps: int, callers: int, rounds: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    out: list[float] = []
    for r in range(rounds):
        ready: asyncio.Queue[None] = asyncio.Queue()
        go = asyncio.Event()
        calls = [
            asyncio.ensure_future(
                burst_call(port, pick_number(rng, apps), f"+7998{RUN}{r:04d}{i:04d}", ready, go, out)
            )
            for i in range(callers)
        ]
        for _ in range(callers):
            await ready.get()
        go.set()
        await asyncio.gather(*calls)
    return out


async def burst_direct(
    directory: AsyncDirectory, apps: int, callers: int, rounds: int, seed: int
) -> list[float]:
    """The baseline: ``callers`` direct indexed reads started at the same instant, one per caller."""
    rng = random.Random(seed)
    out: list[float] = []

    async def one(n: str) -> None:
        t0 = time.perf_counter()
        await directory._run(lambda c: find(c, n))
        out.append(time.perf_counter() - t0)

    for _ in range(rounds):
        await asyncio.gather(*(one(pick_number(rng, apps)) for _ in range(callers)))
    return out


# ---- the fake Asterisk in its own process ------------------------------------------------------------------
async def in_client(port: int, apps: int, mode: str, level: int, amount: float, seed: int) -> Caller:
    """Run the calls from a child process, as Asterisk runs apart from the service: the service's event loop
    then serves the calls instead of also playing the caller's side of them. Latencies are measured there."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.agi_latency",
        "--client",
        json.dumps(
            {"port": port, "apps": apps, "mode": mode, "level": level, "amount": amount, "seed": seed}
        ),
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the client process failed ({proc.returncode})")
    data = json.loads(out.decode().strip().splitlines()[-1])
    stats = Caller(port, apps, random.Random(seed))
    stats.lookups, stats.first_command = data["lookups"], data["first_command"]
    return stats


async def client(spec: dict[str, Any]) -> dict[str, list[float]]:
    port, apps, level, seed = spec["port"], spec["apps"], spec["level"], spec["seed"]
    if spec["mode"] == "burst":
        return {
            "lookups": await burst_level(port, apps, level, int(spec["amount"]), seed),
            "first_command": [],
        }
    stats = await fastagi_level(port, apps, level, float(spec["amount"]), seed)
    return {"lookups": stats.lookups, "first_command": stats.first_command}


# ---- classic AGI -----------------------------------------------------------------------------------------
@dataclass
class ClassicSetup:
    argv_script: list[str]
    argv_bare: list[str]
    where: str


def classic_setup(work: Path, db_url_inside: str) -> ClassicSetup:
    """Bundle the script into a folder the PBX's python sees (inside the chroot when it is built)."""
    if SANDBOX_ROOT.joinpath(".dialer-sandbox-packages").is_file() and os.geteuid() == 0:
        inner = Path("/tmp/dialer-bench/agi-bin")
        dest = SANDBOX_ROOT / str(inner).lstrip("/")
        write_bundle(dest)
        write_conf(dest, db_url_inside)
        (dest / "bare.py").write_text(BARE_AGI)
        chroot = ["chroot", str(SANDBOX_ROOT), "python3"]
        return ClassicSetup(
            [*chroot, str(inner / "ivr.py"), str(inner / "dialer-ivr.conf")],
            [*chroot, str(inner / "bare.py")],
            "sandbox chroot (Debian sid python3)",
        )
    dest = work / "agi-bin"
    write_bundle(dest)
    write_conf(dest, db_url_inside)
    (dest / "bare.py").write_text(BARE_AGI)
    return ClassicSetup(
        [sys.executable, str(dest / "ivr.py"), str(dest / "dialer-ivr.conf")],
        [sys.executable, str(dest / "bare.py")],
        f"this Python ({sys.version.split()[0]}); the sandbox chroot is not built",
    )


def classic_call(argv: list[str], apps: int, rng: random.Random, full: bool) -> tuple[float, float | None]:
    """Start the script as Asterisk does; returns (start-to-first-command, look-up latency or None)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert p.stdin is not None and p.stdout is not None
    head = {
        "agi_request": "ivr.py",
        "agi_uniqueid": f"{time.time():.6f}",
        "agi_callerid": f"+7997{rng.randrange(10**7):07d}",
    }
    p.stdin.write("".join(f"{k}: {v}\n" for k, v in head.items()) + "\n")
    p.stdin.flush()
    first = p.stdout.readline()
    t_first = time.perf_counter() - t0
    lookup: float | None = None
    try:
        cmd = first.strip()
        sent: float | None = None
        while cmd:
            if sent is not None:
                lookup, sent = time.perf_counter() - sent, None
                if not full:
                    break
            if cmd.startswith("GET DATA ivr/enter-number") and full:
                reply = f"200 result={pick_number(rng, apps)}"
            elif cmd.startswith("GET DATA ivr/confirm-number") and full:
                reply, sent = "200 result=1", time.perf_counter()
            elif cmd.startswith("GET DATA"):
                reply = "200 result="
            elif full:
                reply = "200 result=0"
            else:
                break
            p.stdin.write(reply + "\n")
            p.stdin.flush()
            cmd = p.stdout.readline().strip()
    finally:
        p.stdin.close()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    return t_first, lookup


# ---- the run -------------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> list[Row]:
    cache = Path(args.cache_dir)
    rows: list[Row] = []
    chroot_ok = SANDBOX_ROOT.joinpath(".dialer-sandbox-packages").is_file() and os.geteuid() == 0
    if args.db_url:
        url = inside_url = args.db_url
        print(f"seeding {args.apps:,} applications into {url.split('@')[-1]} ...", flush=True)
        await seed_pg(url, args.apps)
    else:
        # inside the chroot's filesystem when it exists, so the classic script opens the very same file
        base = SANDBOX_ROOT / "tmp" / "dialer-bench" if chroot_ok else cache
        db = base / f"applications-keyed-{args.apps}.db"  # numbers with dashes, and their search_key
        url = f"sqlite+aiosqlite:///{db}"
        inside_url = f"sqlite+aiosqlite:///{'/' + str(db.relative_to(SANDBOX_ROOT)) if chroot_ok else db}"
        if args.fresh or not db.exists():
            await asyncio.to_thread(fresh_file, db)
            print(f"seeding {args.apps:,} applications into {db} (once; kept for later runs) ...", flush=True)
            t = time.perf_counter()
            await asyncio.to_thread(seed_sqlite, db, args.apps)
            print(f"  seeded in {time.perf_counter() - t:.0f} s", flush=True)

    fa_first: list[float] = []
    engine = make_engine(url, pool_size=60)
    directory = AsyncDirectory(make_sessionmaker(engine))
    server = FastAgiServer("127.0.0.1", 0, max_sessions=500, idle_timeout=30)
    server.add_route("ivr", make_route(directory, IvrConfig(lookup_deadline=30)))
    await server.start()
    try:
        await fastagi_level(server.port, args.apps, 1, 0.5, 0)  # warm the caches and the pool
        for level in args.levels:
            print(
                f"FastAGI at {level} concurrent calls ({args.seconds:g} s; baselines half each) ...",
                flush=True,
            )
            base = await direct_level(directory, args.apps, level, args.seconds / 2, level, bare=True)
            look = await direct_level(directory, args.apps, level, args.seconds / 2, level, bare=False)
            stats = await in_client(server.port, args.apps, "sustained", level, args.seconds, level)
            b50, b99 = pct(base, 0.5), pct(base, 0.99)
            d50, d99 = pct(look, 0.5), pct(look, 0.99)
            f50, f99 = pct(stats.lookups, 0.5), pct(stats.lookups, 0.99)
            rows.append(Row("direct indexed read (baseline)", level, len(base), b50, b99))
            rows.append(
                Row("directory look-up, no AGI", level, len(look), d50, d99, "read", d50 / b50, d99 / b99)
            )
            rows.append(
                Row("FastAGI look-up", level, len(stats.lookups), f50, f99, "read", f50 / b50, f99 / b99)
            )
            if level == 1:
                fa_first = stats.first_command
        for level in args.levels:
            rounds = max(args.burst_rounds, 1000 // level)
            print(f"bursts: {level} callers confirming at once, {rounds} rounds ...", flush=True)
            base = await burst_direct(directory, args.apps, level, rounds, level)
            got = (await in_client(server.port, args.apps, "burst", level, rounds, level)).lookups
            b50, b99 = pct(base, 0.5), pct(base, 0.99)
            f50, f99 = pct(got, 0.5), pct(got, 0.99)
            rows.append(Row("burst: direct indexed reads (baseline)", level, len(base), b50, b99))
            rows.append(
                Row("burst: FastAGI look-ups", level, len(got), f50, f99, "read", f50 / b50, f99 / b99)
            )
    finally:
        await server.stop(grace=1)
        await directory.close()  # the audit rows still queued
        print(f"audit rows written behind the calls: {directory.audit.written:,}", flush=True)
        await engine.dispose()

    setup = classic_setup(cache, inside_url)
    print(f"classic AGI script, {args.classic_runs} starts, in {setup.where} ...", flush=True)
    rng = random.Random(7)
    bare = [classic_call(setup.argv_bare, args.apps, rng, full=False)[0] for _ in range(args.classic_runs)]
    starts, lookups = [], []
    for _ in range(args.classic_runs):
        t_first, lk = await asyncio.to_thread(classic_call, setup.argv_script, args.apps, rng, True)
        starts.append(t_first)
        if lk is not None:
            lookups.append(lk)
    b50, b99 = pct(bare, 0.5), pct(bare, 0.99)
    rows.append(Row("bare python3 AGI start (baseline)", 1, len(bare), b50, b99))
    s50, s99 = pct(starts, 0.5), pct(starts, 0.99)
    rows.append(
        Row("classic ivr.py start-to-first-command", 1, len(starts), s50, s99, "bare", s50 / b50, s99 / b99)
    )
    if fa_first:  # measured at level 1
        f50, f99 = pct(fa_first, 0.5), pct(fa_first, 0.99)
        rows.append(
            Row("FastAGI connect-to-first-command", 1, len(fa_first), f50, f99, "bare", f50 / b50, f99 / b99)
        )
    fa1 = next((r for r in rows if r.what == "FastAGI look-up" and r.concurrency == 1), None)
    if lookups and fa1 is not None:
        l50, l99 = pct(lookups, 0.5), pct(lookups, 0.99)
        rows.append(
            Row(
                "classic ivr.py first look-up",
                1,
                len(lookups),
                l50,
                l99,
                "FastAGI@1",
                l50 / fa1.p50_ms,
                l99 / fa1.p99_ms,
            )
        )
    if args.cleanup and chroot_ok:
        shutil.rmtree(SANDBOX_ROOT / "tmp" / "dialer-bench", ignore_errors=True)
    return rows


def table(rows: list[Row]) -> str:
    head = f"{'measurement':<40} {'conc':>5} {'n':>7} {'p50 ms':>9} {'p99 ms':>9}   {'vs':<9} {'x p50':>7} {'x p99':>7}"
    out = [head, "-" * len(head)]
    for r in rows:
        ratio = (
            f"{r.baseline:<9} {r.ratio_p50:>7.2f} {r.ratio_p99:>7.2f}"
            if r.ratio_p50 is not None and r.ratio_p99 is not None
            else ""
        )
        out.append(f"{r.what:<40} {r.concurrency:>5} {r.n:>7} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f}   {ratio}")
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.agi_latency", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--apps", type=int, default=1_000_000, help="applications in the database (default 1,000,000)"
    )
    p.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10, 50],
        help="concurrent calls",
    )
    p.add_argument(
        "--seconds", type=float, default=8.0, help="FastAGI run per level (the baseline gets half)"
    )
    p.add_argument("--classic-runs", type=int, default=15, help="classic script starts to time")
    p.add_argument(
        "--burst-rounds",
        type=int,
        default=20,
        help="rounds of N callers confirming at once (at least 1000/N)",
    )
    p.add_argument(
        "--db-url", default=None, help="PostgreSQL URL (async driver) instead of a cached SQLite file"
    )
    p.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "dialer-bench"))
    p.add_argument("--fresh", action="store_true", help="re-seed the SQLite database")
    p.add_argument("--cleanup", action="store_true", help="remove the database and bundle afterwards")
    p.add_argument("--json", action="store_true", help="also print the rows as JSON")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--client"]:  # the child process of in_client()
        print(json.dumps(asyncio.run(client(json.loads(argv[1])))))
        return 0
    args = parse_args(argv)
    t0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows = asyncio.run(run(args))
    print()
    print(table(rows))
    print(f"\n{args.apps:,} applications; 10% unknown numbers; total run {time.perf_counter() - t0:.0f} s")
    # figures from a machine other jobs keep busy are noise: say how busy it was
    print(
        f"load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, "
        f"{os.cpu_count()} CPUs"
    )
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
