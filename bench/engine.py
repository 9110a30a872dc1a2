"""Engine benchmark on the real sandbox (not a test): how many concurrent calls the service follows with its
AMI event lag under 100 ms, its CPU per call, and the answer-to-agent-ring time.

    .venv/bin/python -m bench.engine [--levels 50,100,200,400] [--json]
    .venv/bin/python -m bench.engine --dry [--levels 20,50]   # no sandbox: the code paths, not the figures

Each level places N calls to simulated numbers that ring 15 s, twice:

- **direct**: the engine's placing rooms called one by one (attempt written, number claimed, call
  registered, Originate sent), as the dialler does once it has decided;
- **paced**: the engine's normal path: a running progressive campaign with N agents ready (agents with no
  softphone: the numbers never answer, so no agent's phone is ever rung), and the engine's own tick asks the
  guarded pacer how many calls to place, fetches the contacts due and places them (``Placer.dial``).

The event lag is Asterisk's event timestamp to two moments: when the link hands the event over (a tap, just
before the engine's handler) and when the engine's handler has returned (a handler registered after the
engine's: the call book has taken the event in). The same load is first run through a bare AMI link that
does nothing but read events: the baseline of the same run, so figures are reported as ratios.
Answer-to-agent-ring is measured on connected calls (20 softphone agents), from the customer's answer to
the agent's phone ringing, both stamped by Asterisk.

``--dry`` runs the same levels against the simulated Asterisk of :mod:`dialer.simulator.asterisk` in
virtual time (a real engine on a scratch SQLite): it proves the benchmark's own paths place and follow every
call without the sandbox; its lags are virtual (zero) and its CPU figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import update

from dialer.agents import services as agent_services
from dialer.ami.link import AmiLink
from dialer.config import load_settings
from dialer.db.models import AgentPresence, Campaign
from dialer.engine.engine import Engine
from dialer.engine.store import fetch_due, place
from dialer.sandbox import Sandbox
from dialer.sandbox.harness import REPO, Harness, sim
from dialer.sandbox.lock import exclusive


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class LagMeter:
    """Asterisk's event timestamp to now (the wall clock, or a virtual one in the dry run)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lags: list[float] = []
        self.clock = clock

    def __call__(self, ev: Any) -> None:
        ts = ev.get("Timestamp")
        if ts:
            self.lags.append(self.clock() - float(ts))


class AfterHandler:
    """Registered with the link after the engine's own handler, so it sees each event once the engine's
    handler has returned; measures into ``meter`` while one is set (a link's handlers can't be removed)."""

    def __init__(self) -> None:
        self.meter: LagMeter | None = None

    def __call__(self, ev: Any) -> None:
        if self.meter is not None:
            self.meter(ev)


class Rig(Protocol):
    """What a level needs: the sandbox's :class:`Harness`, or :class:`DryRig` on the simulated Asterisk."""

    sessions: Any

    @property
    def engine(self) -> Engine: ...

    def wall(self) -> float: ...

    async def campaign(self, name: str, phones: list[str], **spec: Any) -> None: ...

    async def state(self, name: str, action: str) -> None: ...

    async def wait(self, pred: Callable[[], Any], timeout: float, what: str) -> None: ...


async def _hangup_all(link: AmiLink) -> None:
    with contextlib.suppress(Exception):  # nothing to hang up is fine
        await link.send({"Action": "Hangup", "Channel": "/^PJSIP/carrier-.*/", "Cause": "16"}, timeout=30)


async def baseline(settings: Any, n: int) -> dict[str, float]:
    """A bare link: originate N calls and only read the events."""
    link = AmiLink.from_settings(settings.ami)
    meter = LagMeter()
    link.on_event("*", meter)
    link.start()
    await link.wait_up(10)
    c0 = _cpu()
    await asyncio.gather(
        *(
            link.send(
                {
                    "Action": "Originate",
                    "Channel": f"PJSIP/79900{i:05d}4@carrier",
                    "Application": "Wait",
                    "Data": "1",
                    "Timeout": "15000",
                    "ActionID": f"b-{n}-{i}",
                    "Async": "true",
                },
                timeout=30,
            )
            for i in range(n)
        )
    )
    await asyncio.sleep(4)
    cpu = _cpu() - c0
    await _hangup_all(link)
    await asyncio.sleep(3)
    await link.stop()
    return {"lag_p50": _pct(meter.lags, 0.5), "lag_p99": _pct(meter.lags, 0.99), "cpu_per_call": cpu / n}


def _level_figures(
    before: LagMeter, after: LagMeter, cpu: float, n: int, in_flight: int, place_seconds: float
) -> dict[str, float]:
    return {
        "lag_p50": _pct(before.lags, 0.5),
        "lag_p99": _pct(before.lags, 0.99),
        "handled_lag_p50": _pct(after.lags, 0.5),
        "handled_lag_p99": _pct(after.lags, 0.99),
        "events": len(after.lags),
        "cpu_per_call": cpu / n,
        "in_flight": in_flight,
        "place_seconds": place_seconds,
    }


async def engine_level(h: Rig, after: AfterHandler, n: int, camp_name: str) -> dict[str, float]:
    """N calls placed through the engine's placing rooms called directly (the campaign paused, so the
    engine's own pacing places none)."""
    eng = h.engine
    meter, handled = LagMeter(h.wall), LagMeter(h.wall)
    eng.ami.add_tap(meter)  # runs just before the engine's own handlers
    after.meter = handled
    phones = [f"+79900{i:05d}4" for i in range(n)]
    await h.campaign(camp_name, phones, mode="progressive", max_attempts=1, ring_timeout=15)
    async with h.sessions() as s:
        await s.execute(update(Campaign).where(Campaign.name == camp_name).values(state="paused"))
        await s.commit()
    await eng.reload(h.wall())
    rt = next(c for c in eng.campaigns.values() if c.name == camp_name)
    async with h.sessions() as s:
        contacts = await fetch_due(s, rt, eng.clock(), n, reserved=False)
    c0 = _cpu()
    t0 = time.monotonic()
    placed = [p for c in contacts if (p := await place(h.sessions, rt, c, eng.clock(), None)) is not None]
    for p in placed:
        eng.placer.register(rt, p)
    await asyncio.gather(*(eng.placer.originate(rt, p) for p in placed))
    place_time = time.monotonic() - t0
    await asyncio.sleep(4)
    cpu = _cpu() - c0
    in_flight = len(eng.calls)
    eng.ami.remove_tap(meter)
    after.meter = None
    await _hangup_all(eng.ami)
    await h.wait(lambda: not eng.calls, 60, "calls finished")
    return _level_figures(meter, handled, cpu, n, in_flight, place_time)


async def engine_level_paced(h: Rig, after: AfterHandler, n: int, camp_name: str) -> dict[str, float]:
    """N calls placed by the engine's own tick: a running progressive campaign, N agents ready for it alone
    (extensions with no softphone: the numbers only ring), the guarded pacer deciding, ``Placer.dial``
    fetching and placing. ``place_seconds`` runs from the campaign's start to the N-th call in flight."""
    eng = h.engine
    meter, handled = LagMeter(h.wall), LagMeter(h.wall)
    # the carrier's ringing numbers are +7990000XXX4 (asterisk_conf/sandbox/carrier/extensions.conf): the
    # direct path takes XXX from 000, this one from 500 (the direct calls have ended by then)
    phones = [f"+7990000{(500 + i) % 1000:03d}4" for i in range(n)]
    await h.campaign(camp_name, phones, mode="progressive", max_attempts=1, ring_timeout=15)
    exts = [f"9{n:04d}{i:04d}" for i in range(n)]
    for e in exts:
        await agent_services.ensure_agent(h.sessions, e)
        await agent_services.set_presence(
            h.sessions, e, AgentPresence.READY, actor="bench", campaigns=[camp_name]
        )
    eng.ami.add_tap(meter)
    after.meter = handled
    c0 = _cpu()
    t0 = time.monotonic()
    await h.state(camp_name, "start")

    def mine() -> int:
        return sum(1 for lc in eng.calls.values() if lc.camp_id == camp_id)

    camp_id = -1

    def all_in_flight() -> bool:
        nonlocal camp_id
        rt = next((c for c in eng.campaigns.values() if c.name == camp_name), None)
        camp_id = rt.id if rt is not None else -1
        return mine() >= n

    await h.wait(all_in_flight, 60, f"{n} calls placed by the engine's pacing")
    place_time = time.monotonic() - t0
    await asyncio.sleep(4)
    cpu = _cpu() - c0
    in_flight = mine()
    eng.ami.remove_tap(meter)
    after.meter = None
    await h.state(camp_name, "pause")
    for e in exts:
        await agent_services.set_presence(h.sessions, e, AgentPresence.LOGGED_OUT, actor="bench")
    await _hangup_all(eng.ami)
    await h.wait(lambda: mine() == 0, 60, "calls finished")
    return _level_figures(meter, handled, cpu, n, in_flight, place_time)


async def answer_to_agent(h: Harness, calls: int) -> list[float]:
    exts = [str(e) for e in range(101, 121)]
    await h.agents(*exts)
    await h.campaign(
        "a2a", [sim("1", 800 + i) for i in range(calls)], mode="progressive", max_attempts=1, wrapup_seconds=0
    )
    samples: list[float] = []
    eng = h.svc.dialer

    def tap(ev: Any) -> None:
        if ev.get("Event") == "DialBegin" and str(ev.get("Uniqueid", "")).startswith("dlr-"):
            call = eng.tracker.calls.get(ev["Uniqueid"])
            if call and call.answered_at:
                samples.append(float(ev["Timestamp"]) - call.answered_at)

    eng.ami.add_tap(tap)
    await h.state("a2a", "start")
    await h.wait(lambda: h.completed("a2a"), 300, "answer-to-agent campaign")
    return samples


class SandboxRig:
    """The sandbox's :class:`Harness` as a :class:`Rig`."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.sessions = h.sessions

    @property
    def engine(self) -> Engine:
        return cast("Engine", self.h.svc.dialer)

    def wall(self) -> float:
        return time.time()

    async def campaign(self, name: str, phones: list[str], **spec: Any) -> None:
        await self.h.campaign(name, phones, **spec)

    async def state(self, name: str, action: str) -> None:
        await self.h.state(name, action)

    async def wait(self, pred: Callable[[], Any], timeout: float, what: str) -> None:
        await self.h.wait(pred, timeout, what)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def level_row(
    n: int, base: dict[str, float], direct: dict[str, float], paced: dict[str, float]
) -> dict[str, Any]:
    """One level's figures in ms, the engine's against the bare link's of the same run."""

    def ms(x: float) -> float:
        return round(x * 1000, 1)

    row: dict[str, Any] = {"calls": n, "baseline_lag_p99_ms": ms(base["lag_p99"])}
    row["baseline_cpu_ms_per_call"] = round(base["cpu_per_call"] * 1000, 2)
    for prefix, eng in (("engine", direct), ("paced", paced)):
        row[f"{prefix}_in_flight"] = eng["in_flight"]
        row[f"{prefix}_lag_p50_ms"] = ms(eng["lag_p50"])
        row[f"{prefix}_lag_p99_ms"] = ms(eng["lag_p99"])
        row[f"{prefix}_handled_lag_p50_ms"] = ms(eng["handled_lag_p50"])
        row[f"{prefix}_handled_lag_p99_ms"] = ms(eng["handled_lag_p99"])
        row[f"{prefix}_lag_p99_ratio"] = _ratio(eng["lag_p99"], base["lag_p99"])
        row[f"{prefix}_handled_lag_p99_ratio"] = _ratio(eng["handled_lag_p99"], base["lag_p99"])
        row[f"{prefix}_cpu_ms_per_call"] = round(eng["cpu_per_call"] * 1000, 2)
        row[f"{prefix}_cpu_ratio"] = _ratio(eng["cpu_per_call"], base["cpu_per_call"])
        row[f"{prefix}_place_seconds"] = round(eng["place_seconds"], 2)
        row[f"{prefix}_events"] = eng["events"]
    # the names the README's table was first measured with
    row["in_flight"] = row["engine_in_flight"]
    row["lag_p99_ratio"] = row["engine_lag_p99_ratio"]
    row["cpu_ratio"] = row["engine_cpu_ratio"]
    return row


async def levels_on(rig: Rig, levels: list[int], baseline_of: Callable[[int], Any]) -> list[dict[str, Any]]:
    """Each level: the bare link (baseline), then the engine placing directly, then through its pacing."""
    after = AfterHandler()
    rig.engine.ami.on_event("*", after)  # registered after the engine's handler, so it runs after it
    rows = []
    for n in levels:
        base = await baseline_of(n)
        direct = await engine_level(rig, after, n, f"load-{n}")
        paced = await engine_level_paced(rig, after, n, f"paced-{n}")
        row = level_row(n, base, direct, paced)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


async def run(levels: list[int], a2a_calls: int) -> dict[str, Any]:
    settings = load_settings(REPO / "config.yaml")
    out: dict[str, Any] = {"levels": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with Harness(
            f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}", Path(tmp), outbound={"max_channels": 2000}
        ) as h:
            out["levels"] = await levels_on(SandboxRig(h), levels, lambda n: baseline(settings, n))
            samples = await answer_to_agent(h, a2a_calls)
    ok = [
        r["calls"]
        for r in out["levels"]
        if r["engine_lag_p99_ms"] < 100 and r["in_flight"] >= r["calls"] * 0.95
    ]
    out["max_concurrent_calls_lag_under_100ms"] = max(ok) if ok else 0
    out["answer_to_agent_ring_ms"] = {
        "n": len(samples),
        "p50": round(_pct(samples, 0.5) * 1000, 1),
        "p99": round(_pct(samples, 0.99) * 1000, 1),
        "mean": round(statistics.fmean(samples) * 1000, 1) if samples else None,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.engine", description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="50,100,200,400", help="concurrent calls per step")
    ap.add_argument("--answer-calls", type=int, default=60, help="connected calls for answer-to-agent timing")
    ap.add_argument("--json", action="store_true", help="JSON on stdout")
    ap.add_argument(
        "--dry",
        action="store_true",
        help="no sandbox: the levels against the simulated Asterisk in virtual time (checks the paths only)",
    )
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    if args.dry:
        from bench.engine_dry import run_dry  # the simulator's stack, only when asked

        rows = run_dry(levels)
        print(json.dumps({"levels": rows}, indent=2))
        return 0
    settings = load_settings(REPO / "config.yaml")
    with exclusive(settings.sandbox.root):
        sb = Sandbox(settings)
        sb.up(agents=20)
        try:
            result = asyncio.run(run(levels, args.answer_calls))
        finally:
            sb.down()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{'calls':>6} {'path':>7} {'in flight':>9} {'lag p50':>8} {'lag p99':>8} {'handled p50':>12} "
            f"{'handled p99':>12} {'base p99':>8} {'ratio':>6} {'cpu/call':>9} {'base':>6} {'ratio':>6} "
            f"{'placing':>8}"
        )
        for r in result["levels"]:
            for path, k in (("direct", "engine"), ("paced", "paced")):
                print(
                    f"{r['calls']:>6} {path:>7} {r[k + '_in_flight']:>9} {r[k + '_lag_p50_ms']:>6}ms "
                    f"{r[k + '_lag_p99_ms']:>6}ms {r[k + '_handled_lag_p50_ms']:>10}ms "
                    f"{r[k + '_handled_lag_p99_ms']:>10}ms {r['baseline_lag_p99_ms']:>6}ms "
                    f"{r[k + '_handled_lag_p99_ratio']!s:>6} {r[k + '_cpu_ms_per_call']:>7}ms "
                    f"{r['baseline_cpu_ms_per_call']:>4}ms {r[k + '_cpu_ratio']!s:>6} {r[k + '_place_seconds']:>7}s"
                )
        print(
            f"largest load with event lag p99 < 100 ms: {result['max_concurrent_calls_lag_under_100ms']} calls"
        )
        a = result["answer_to_agent_ring_ms"]
        print(f"answer -> agent phone ringing: p50 {a['p50']} ms, p99 {a['p99']} ms over {a['n']} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
