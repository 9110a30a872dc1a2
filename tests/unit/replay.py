"""Replays a recording of the real sandbox (tests/recordings/<scenario>.jsonl, made by
tests/recordings/record.py) through a call book, as the engine drives it: AMI events into ``CallBook.feed``,
the engine's tick every half second (``expire``, the agents' clocks, handle times to the pacer), attempts
registered as the placer registers them, and the FastAGI routes' calls run through the real ``Routes`` with the
channel variables the live route read. Everything the book produces is kept: its effects (database writes),
the notifications on a recording bus, every agent's states and each campaign's pacer observations.

No database, no Asterisk, no root: the recording is the world.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dialer.callrecords.fate import CallFate
from dialer.engine import routes as routes_mod
from dialer.engine.agents import AgentPool
from dialer.engine.callbook import CallBook, Effect, LiveCall
from dialer.engine.engine import Engine
from dialer.engine.notifier import Notifier
from dialer.engine.outcomes import Outcome
from dialer.engine.recovery import Recovery
from dialer.engine.routes import Routes
from dialer.engine.runtime import CampaignRuntime
from dialer.engine.store import Placed
from dialer.engine.tracker import CallTracker
from dialer.engine.window import CallingWindow
from dialer.fastagi.server import AgiHangup
from dialer.pacing import Observation, PacingDecision, PacingView

REC = Path(__file__).resolve().parents[1] / "recordings"
TICK = 0.5  # the engine's tick (dialer/engine/engine.py)
DECISIONS = (
    "DIALER_ACTION",
    "DIALER_CALLBACK",
    "AGENT_EXTEN",
)  # what a route decides, as the dialplan sees it


class RecordingBus:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class RecordingPacer:
    """Records what the engine tells the pacer; a replay places no calls, so it is never asked to decide."""

    def __init__(self) -> None:
        self.observed: list[Observation] = []

    def observe(self, obs: Observation) -> None:
        self.observed.append(obs)

    def decide(self, view: PacingView) -> PacingDecision:
        raise AssertionError("a replay never asks the pacer how many calls to place")


class ReplayAgi:
    """The AGI session a route talks to: the channel variables as the live route read them; what the route
    sets is kept. A route that reads a variable the live one never read has decided differently."""

    def __init__(self, line: dict[str, Any]) -> None:
        self.env = {"agi_uniqueid": line["uniqueid"], "agi_callerid": line["callerid"]}
        self.hungup = False
        self._got: dict[str, str | None] = line["got"]
        self._live_sets = len(line["set"])
        self._hung_up_live = line["error"] is not None
        self.set: list[list[str]] = []
        self.played: list[str] = []

    async def get_variable(self, name: str) -> str | None:
        if name not in self._got:
            raise AssertionError(f"the replayed route read {name}, the live one did not")
        return self._got[name]

    async def set_variable(self, name: str, value: str) -> None:
        if self._hung_up_live and len(self.set) >= self._live_sets:
            self.hungup = True
            raise AgiHangup("the caller had hung up here in the recording")
        self.set.append([name, value])

    async def stream_file(self, name: str, escape: str = "") -> str:
        self.played.append(name)
        return ""


@dataclass
class Replay:
    effects: list[Effect] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # agent -> (state, since)
    observed: dict[str, list[Observation]] = field(default_factory=dict)  # campaign name -> observations
    routes: list[tuple[str, list[list[str]], list[list[str]]]] = field(default_factory=list)  # replayed, live
    placed: dict[str, Placed] = field(default_factory=dict)  # key -> attempt
    pool: AgentPool = field(default_factory=AgentPool)

    def state_names(self, agent: str) -> list[str]:
        return [s for s, _ in self.states.get(agent, [])]

    def seconds_in(self, agent: str, state: str) -> list[float]:
        """How long each stay of ``agent`` in ``state`` lasted."""
        seq = self.states[agent]
        return [seq[i + 1][1] - seq[i][1] for i in range(len(seq) - 1) if seq[i][0] == state]

    def phone_of(self, attempt_id: int | None) -> str:
        return next(p.phone for p in self.placed.values() if p.attempt_id == attempt_id)


class _Clock:
    """``time.time()`` for the routes: the recording's clock, not the machine's."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


def _lines(name: str) -> list[dict[str, Any]]:
    text = (REC / f"{name}.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _fate(d: dict[str, Any]) -> CallFate:
    def at(v: str | None) -> datetime | None:
        return datetime.fromisoformat(v) if v else None

    return CallFate(
        outcome=Outcome(d["outcome"]),
        agent=d["agent"],
        started_at=at(d["started_at"]),
        answered_at=at(d["answered_at"]),
        bridged_at=at(d["bridged_at"]),
        ended_at=at(d["ended_at"]),
        talk_seconds=d["talk_seconds"],
    )


async def _replay(
    lines: list[dict[str, Any]], applications: dict[str, dict[str, Any]], clock: _Clock
) -> Replay:
    out = Replay()
    pool, tracker, bus = out.pool, CallTracker(), RecordingBus()
    campaigns: dict[int, CampaignRuntime] = {}
    pacers: dict[int, RecordingPacer] = {}
    book = CallBook(
        pool,
        tracker,
        Notifier(bus),
        campaigns,
        pacers.get,
        lambda: datetime.fromtimestamp(clock.now, UTC),
    )
    # what the routes and the engine's handle-time step use of the engine
    eng: Any = SimpleNamespace(
        calls=book.calls, pool=pool, campaigns=campaigns, book=book, tracker=tracker, pacer_for=pacers.get
    )
    routes = Routes(eng)

    async def application(number: str) -> dict[str, Any] | None:
        return applications.get(number)

    routes._application = application  # type: ignore[method-assign]
    learn: Callable[[], None] = lambda: Engine._learn_handle_times(eng)  # noqa: E731

    def note_states(t: float) -> None:
        for ext, a in pool.agents.items():
            seq = out.states.setdefault(ext, [])
            if not seq or seq[-1][0] != a.state:
                seq.append((a.state, t))

    def tick(t: float) -> None:
        clock.now = t
        book.expire(t)
        pool.tick(t)
        learn()
        note_states(t)

    next_tick: float | None = None
    last = 0.0
    for ev in lines:
        t = float(ev.get("Timestamp") or last)
        while next_tick is not None and next_tick <= t:
            tick(next_tick)
            next_tick += TICK
        if next_tick is None:
            next_tick = t + TICK
        last = clock.now = t
        kind = str(ev.get("Event", ""))
        if kind == "DialerAgents":
            rows = [
                (a["id"], a["ext"], a["name"], a["presence"], a["pause_reason"], frozenset(a["campaigns"]))
                for a in ev["agents"]
            ]
            pool.sync(rows, t)
            for a in ev["agents"]:
                pool.device_state(a["ext"], a["device"], t)
        elif kind == "DialerCampaign":
            campaigns[ev["id"]] = CampaignRuntime(
                id=ev["id"],
                name=ev["name"],
                state="running",
                caller_id="505",
                mode=ev["mode"],
                params={},
                max_attempts=ev["max_attempts"],
                retry_delays={},
                abandon_cap=ev["abandon_cap"],
                window=CallingWindow.build("Europe/Moscow", {}),
                timezone="Europe/Moscow",
                weight=1,
                ring_timeout=ev["ring_timeout"],
                wrapup_seconds=ev["wrapup_seconds"],
                amd=ev["amd"],
            )
            pacers[ev["id"]] = RecordingPacer()
            out.observed[ev["name"]] = pacers[ev["id"]].observed
        elif kind == "DialerPlaced":
            fields = {k: ev[k] for k in Placed.__dataclass_fields__}
            placed = Placed(**fields)
            out.placed[placed.key] = placed
            if placed.reserved_agent:
                pool.reserve(placed.reserved_agent, placed.key)  # the placer holds the agent first
            tracked = tracker.expect(placed.key, t)
            book.register(LiveCall(placed, ev["camp_id"], tracked, t, ev["ring_timeout"], amd=ev["amd"]))
        elif kind == "DialerRoute":
            agi = ReplayAgi(ev)
            handler = routes.answered if ev["route"] == "answered" else routes.inbound
            # the route runs where it returned in the stream, on the clock of when it started (what it learnt
            # then, e.g. the AMD verdict, is stamped with that time)
            clock.now = float(ev.get("started") or t)
            with contextlib.suppress(AgiHangup):
                await handler(agi)  # type: ignore[arg-type]
            clock.now = t
            out.routes.append((ev["route"], _decisions(agi.set), _decisions(ev["set"])))
        elif kind == "DialerReconcile":
            fates = None if ev["fates"] is None else {k: _fate(v) for k, v in ev["fates"].items()}

            async def recorded_fates(keys: list[str], fates: Any = fates) -> Any:
                return fates

            stand_in: Any = SimpleNamespace(eng=eng, fates=recorded_fates)
            await Recovery._close_vanished(stand_in, {k: {} for k in ev["live"]}, t)
        else:
            book.feed(ev, t)
        out.effects += book.take_effects()
        note_states(t)
    # the engine's clock runs on after the recording: wrap-ups end, overdue calls are closed
    assert next_tick is not None
    while next_tick <= last + 60:
        tick(next_tick)
        next_tick += TICK
    out.effects += book.take_effects()
    out.notifications = [e for e in bus.events]
    return out


def _decisions(sets: list[list[str]]) -> list[list[str]]:
    return [s for s in sets if s[0] in DECISIONS]


_cache: dict[str, Replay] = {}


def replay(name: str, applications: dict[str, dict[str, Any]] | None = None) -> Replay:
    """The scenario recorded as ``name`` replayed (once per test session)."""
    if name not in _cache:
        _cache[name] = replay_lines(_lines(name), applications)
    return _cache[name]


def replay_lines(
    lines: list[dict[str, Any]], applications: dict[str, dict[str, Any]] | None = None
) -> Replay:
    """Lines in the recording's format replayed. The routes' 2-second wait for an agent is not waited out:
    the recording shows whether an agent became free in it (and each route's decision is compared with the
    live one)."""
    clock = _Clock()
    module: Any = routes_mod
    real_time, real_after = module.time, module.ABANDON_AFTER
    module.time, module.ABANDON_AFTER = clock, module.ROUTING_MARGIN
    try:
        return asyncio.run(_replay(lines, applications or {}, clock))
    finally:
        module.time, module.ABANDON_AFTER = real_time, real_after
