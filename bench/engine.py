"""Engine benchmark on the real sandbox (not a test): how many concurrent calls the service follows with its
AMI event lag under 100 ms, its CPU per call, and the answer-to-agent-ring time.

    .venv/bin/python -m bench.engine [--levels 50,100,200,400] [--json]

Each level places N calls at once through the engine's own placing path (attempt written, number claimed,
Originate sent) to simulated numbers that ring 15 s, and measures the lag between Asterisk's event
timestamp and the moment the engine handled the event. The same load is first run through a bare AMI link
that does nothing but read events: the baseline of the same run, so figures are reported as ratios.
Answer-to-agent-ring is measured on connected calls (20 softphone agents), from the customer's answer to
the agent's phone ringing, both stamped by Asterisk.
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
from pathlib import Path
from typing import Any

from sqlalchemy import update

from dialer.ami.link import AmiLink
from dialer.config import load_settings
from dialer.db.models import Campaign
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
    def __init__(self) -> None:
        self.lags: list[float] = []

    def __call__(self, ev: Any) -> None:
        ts = ev.get("Timestamp")
        if ts:
            self.lags.append(time.time() - float(ts))


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


async def engine_level(h: Harness, n: int, camp_name: str) -> dict[str, float]:
    eng = h.svc.dialer
    meter = LagMeter()
    eng.ami.add_tap(meter)  # runs just before the engine's own handlers
    phones = [f"+79900{i:05d}4" for i in range(n)]
    await h.campaign(camp_name, phones, mode="progressive", max_attempts=1, ring_timeout=15)
    # paused: the engine follows its calls but its own pacing places none
    async with h.sessions() as s:
        await s.execute(update(Campaign).where(Campaign.name == camp_name).values(state="paused"))
        await s.commit()
    await eng.reload(time.time())
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
    await _hangup_all(eng.ami)
    await h.wait(lambda: not eng.calls, 60, "calls finished")
    return {
        "lag_p50": _pct(meter.lags, 0.5),
        "lag_p99": _pct(meter.lags, 0.99),
        "cpu_per_call": cpu / n,
        "in_flight": in_flight,
        "place_seconds": place_time,
    }


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


async def run(levels: list[int], a2a_calls: int) -> dict[str, Any]:
    settings = load_settings(REPO / "config.yaml")
    out: dict[str, Any] = {"levels": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with Harness(
            f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}", Path(tmp), outbound={"max_channels": 2000}
        ) as h:
            for n in levels:
                base = await baseline(settings, n)
                eng = await engine_level(h, n, f"load-{n}")
                row = {
                    "calls": n,
                    "in_flight": eng["in_flight"],
                    "engine_lag_p50_ms": round(eng["lag_p50"] * 1000, 1),
                    "engine_lag_p99_ms": round(eng["lag_p99"] * 1000, 1),
                    "baseline_lag_p99_ms": round(base["lag_p99"] * 1000, 1),
                    "lag_p99_ratio": round(eng["lag_p99"] / base["lag_p99"], 2)
                    if base["lag_p99"] > 0
                    else None,
                    "engine_cpu_ms_per_call": round(eng["cpu_per_call"] * 1000, 2),
                    "baseline_cpu_ms_per_call": round(base["cpu_per_call"] * 1000, 2),
                    "cpu_ratio": round(eng["cpu_per_call"] / base["cpu_per_call"], 2)
                    if base["cpu_per_call"]
                    else None,
                    "place_seconds": round(eng["place_seconds"], 2),
                }
                out["levels"].append(row)
                print(json.dumps(row), file=sys.stderr)
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
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
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
            f"{'calls':>6} {'in flight':>9} {'lag p50':>8} {'lag p99':>8} {'base p99':>8} {'ratio':>6} "
            f"{'cpu/call':>9} {'base':>6} {'ratio':>6}"
        )
        for r in result["levels"]:
            print(
                f"{r['calls']:>6} {r['in_flight']:>9} {r['engine_lag_p50_ms']:>7}ms {r['engine_lag_p99_ms']:>7}ms "
                f"{r['baseline_lag_p99_ms']:>7}ms {r['lag_p99_ratio']!s:>6} {r['engine_cpu_ms_per_call']:>7}ms "
                f"{r['baseline_cpu_ms_per_call']:>5}ms {r['cpu_ratio']!s:>6}"
            )
        print(
            f"largest load with event lag p99 < 100 ms: {result['max_concurrent_calls_lag_under_100ms']} calls"
        )
        a = result["answer_to_agent_ring_ms"]
        print(f"answer -> agent phone ringing: p50 {a['p50']} ms, p99 {a['p99']} ms over {a['n']} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
