"""The production engine in the loop: a simulated call centre (customers, agents, Asterisk) around the real
:class:`dialer.engine.engine.Engine`, its placing, call book, FastAGI routes, pacer, hopper and store, in
virtual time.

Customers and agents come from a :class:`~dialer.simulator.scenario.Scenario` through the same keyed
random streams as the pacer-only simulator: the ``k``-th number dialled on a day meets the same fate, an
agent's ``n``-th call of the day lasts as long, so the two worlds are compared on the same people. What
differs is everything the engine does on the way: the attempt written before each Originate, the 0.5 s
tick, the agent's phone ringing before the bridge, AMD inside the dialplan, talk and wrap-up measured from
Asterisk's events and the agent's own disposition, presence read from the database once a second.

The world keeps its own books (who talked, who waited, who was abandoned) from what really happened, not
from what the engine believes: a person whom AMD took for a machine is an abandoned call here, as the
regulator counts it, though the engine never learns it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import insert

from dialer.agents import services as agent_services
from dialer.bus import EventBus
from dialer.campaigns import services as campaign_services
from dialer.campaigns.schemas import CampaignSpec, WindowSpec
from dialer.db import migrate
from dialer.db.models import AgentPresence, Contact, ContactState
from dialer.engine.callbook import INBOUND_WRAPUP
from dialer.engine.engine import Engine
from dialer.engine.routes import Routes
from dialer.hours import WEEKDAYS
from dialer.pacing import Pacer, PacingDecision, PacingView
from dialer.pacing.types import Observation
from dialer.simulator.asterisk.db import engine_settings, inline_engine
from dialer.simulator.asterisk.pbx import FAILURES, SimAgi, SimulatedAsterisk
from dialer.simulator.asterisk.vtime import VirtualTimeLoop, engine_time
from dialer.simulator.metrics import ABANDON_CAP, DayStats, RunMetrics, summarize
from dialer.simulator.rng import STREAM_AGENT_CALL, STREAM_CUSTOMER, day_key, item_key, uniform
from dialer.simulator.scenario import CallFate, Scenario

if TYPE_CHECKING:
    from dialer.service import Service

EPOCH = datetime(2030, 1, 7, 8, 0, tzinfo=UTC).timestamp()  # a Monday, 08:00 UTC: loop time 0
FIRST_DAY = 3600.0  # the first day opens at 09:00
DAY = 86400.0
MACHINE_WRAPUP = 5.0  # an agent handed a machine notes it quickly (as the pacer-only simulator assumes)
ABANDON_MESSAGE = 6.0  # seconds of the abandoned-call message before Hangup(16)
MACHINE_MESSAGE = 8.0
STREAM_INBOUND = 7
HELD = "held to the abandon cap"  # how dialer/pacing/guard.py ends the reason of a decision it cut
POLICY_MODES = {"predictive": "predictive", "progressive": "progressive", "ratio": "ratio"}


@dataclass
class SimAgent:
    """One agent and their softphone: the world's truth about where their time goes."""

    index: int
    ext: str
    state: str = "logged_out"  # logged_out, ready, ringing, talking, wrapup, paused
    since: float = 0.0
    acc: dict[str, float] = field(default_factory=dict)
    on_break: bool = False
    nth: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def set(self, state: str, now: float) -> None:
        if self.state != "logged_out":
            self.acc[self.state] = self.acc.get(self.state, 0.0) + now - self.since
        self.state, self.since = state, now
        if state in ("ready", "paused", "logged_out"):
            self.idle.set()
        else:
            self.idle.clear()


@dataclass
class EngineRun:
    """A finished run: the metrics (same keys as the pacer-only simulator) and how it went."""

    metrics: RunMetrics
    days: list[DayStats]
    wall_seconds_per_day: list[float]
    engine_modules_on_virtual_time: list[str]
    agent_conflicts: int  # an agent the engine sent a call to whose phone was not free (should stay 0)
    inbound_calls: int
    fates: list[CallFate] = field(default_factory=list)  # every outbound call's fate, in dialling order
    handled: list[tuple[float, float]] = field(default_factory=list)  # (talk, wrap-up) of each bridged call
    decisions: dict[str, int] = field(default_factory=dict)  # the engine's placing decisions by kind

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.metrics.as_dict())
        out["wall_seconds_per_day"] = round(
            sum(self.wall_seconds_per_day) / len(self.wall_seconds_per_day), 2
        )
        out["agent_conflicts"] = self.agent_conflicts
        out["engine_abandon_rate"] = _ratio(
            sum(d.engine_abandoned for d in self.days), sum(d.engine_answered for d in self.days)
        )
        if self.inbound_calls:
            out["inbound_calls"] = self.inbound_calls
        n = sum(self.decisions.values())
        for kind in ("predictive", "fallback", "held"):
            out[f"decisions_{kind}_share"] = round(_ratio(self.decisions.get(kind, 0), n), 4)
        return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


class DecisionWatch:
    """Stands between the engine and its campaign's (guarded) pacer and sorts its placing decisions: made
    predictively, in the pacer's own progressive fallback (warm-up, or the day's abandon budget nearly
    spent), or cut by the abandon-cap guard. Tells who set the pace: the pacer's model, its budget, or
    the guard."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.counts: Counter[str] = Counter()

    def decide(self, view: PacingView) -> PacingDecision:
        d = self.pacer.decide(view)
        if d.reason.endswith(HELD):
            self.counts["held"] += 1
        elif d.reason.startswith("progressive: budget"):
            self.counts["fallback"] += 1
        elif d.reason.startswith("predictive"):
            self.counts["predictive"] += 1
        else:  # progressive or ratio mode, no agents, no line free
            self.counts["other"] += 1
        return d

    def observe(self, obs: Observation) -> None:
        self.pacer.observe(obs)


class CallCentre:
    """Customers, agents and the simulated Asterisk around one engine."""

    def __init__(
        self,
        scenario: Scenario,
        loop: VirtualTimeLoop,
        *,
        seed: int,
        agent_answer: float,
        inbound_per_hour: float,
    ) -> None:
        self.sc = scenario
        self.loop = loop
        self.seed = seed
        self.agent_answer = agent_answer
        self.inbound_per_hour = inbound_per_hour
        self.ami = SimulatedAsterisk(loop, self._originate)
        self.agents = [SimAgent(i, str(2000 + i)) for i in range(scenario.agents)]
        self.by_ext = {a.ext: a for a in self.agents}
        for a in self.agents:
            self.ami.devices[f"PJSIP/{a.ext}"] = "UNAVAILABLE"
        self.routes: Routes | None = None
        self.bus: EventBus | None = None
        self.sessions: Any = None
        self.stats = DayStats()
        self.day = 0
        self.day_start = 0.0
        self.lines = 0
        self.next_index = 0
        self.conflicts = 0
        self.inbound_calls = 0
        self.dialled = 0
        self._customers = 0
        self._agent_calls = 0
        self._uid = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fates: list[CallFate] = []
        self.handled: list[tuple[float, float]] = []
        self.watch: DecisionWatch | None = None

    # ---- plumbing ----------------------------------------------------------------------------------
    def spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._done)

    def _done(self, t: asyncio.Task[Any]) -> None:
        self._tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            raise RuntimeError("simulated call centre task failed") from t.exception()

    def now(self) -> float:
        return self.loop.time()

    async def until(self, day_offset: float) -> None:
        await asyncio.sleep(max(0.0, self.day_start + day_offset - self.now()))

    def start_day(self, day: int) -> None:
        self.day = day
        self.day_start = self.now()
        self.stats = DayStats()
        self.next_index = 0
        self._customers = day_key(self.seed, STREAM_CUSTOMER, day)
        self._agent_calls = day_key(self.seed, STREAM_AGENT_CALL, day)
        for a in self.agents:
            a.nth = 0
            a.acc = {}

    # ---- outbound calls ------------------------------------------------------------------------------
    def _originate(self, action: dict[str, Any]) -> None:
        index = self.next_index
        self.next_index += 1
        self.dialled += 1
        self.stats.dials += 1
        fate = self.sc.fate_of(item_key(self._customers, index), self.now() - self.day_start)
        self.fates.append(fate)
        self.spawn(self._outbound(action, fate))

    async def _outbound(self, action: dict[str, Any], fate: CallFate) -> None:
        key = str(action["ChannelId"])
        amd = "DIALER_AMD=1" in action.get("Variable", [])
        chan = self.ami.channel("carrier")
        self.lines += 1
        self.stats.peak_lines = max(self.stats.peak_lines, self.lines)
        emit = self.ami.emit
        try:
            emit(
                "Newchannel",
                Channel=chan,
                ChannelState="0",
                ChannelStateDesc="Down",
                Uniqueid=key,
                Linkedid=key,
            )
            emit("DialBegin", DestChannel=chan, DestUniqueid=key, DialString=str(action["Channel"])[6:])
            if fate.seen in ("busy", "invalid", "failed"):
                await asyncio.sleep(fate.ring)
                status, reason, cause, tech = FAILURES[fate.seen]
                emit("OriginateResponse", ActionID=key, Response="Failure", Reason=str(reason), Uniqueid=key)
                emit("DialEnd", DestChannel=chan, DestUniqueid=key, DialStatus=status)
                emit("Hangup", Channel=chan, Uniqueid=key, Cause=str(cause), TechCause=str(tech))
                return
            emit("Newstate", Channel=chan, ChannelState="5", ChannelStateDesc="Ringing", Uniqueid=key)
            if fate.seen == "noanswer":
                await asyncio.sleep(fate.ring)
                _, reason, cause, tech = FAILURES["noanswer"]
                emit("OriginateResponse", ActionID=key, Response="Failure", Reason=str(reason), Uniqueid=key)
                emit("Hangup", Channel=chan, Uniqueid=key, Cause=str(cause), TechCause=str(tech))
                return
            listening = self.sc.amd_delay if self.sc.amd else 0.0  # the fate's ring includes AMD's listening
            await asyncio.sleep(max(0.0, fate.ring - listening))
            if fate.human:
                self.stats.human_answered += 1
            emit("Newstate", Channel=chan, ChannelState="6", ChannelStateDesc="Up", Uniqueid=key)
            emit("DialEnd", DestChannel=chan, DestUniqueid=key, DialStatus="ANSWER")
            emit("OriginateResponse", ActionID=key, Response="Success", Reason="4", Uniqueid=key)
            bridged = await self._dialer_answered(key, chan, fate, amd, action)
            if fate.human and not bridged:
                self.stats.human_abandoned += 1
        finally:
            self.lines -= 1

    async def _dialer_answered(
        self, key: str, chan: str, fate: CallFate, amd: bool, action: dict[str, Any]
    ) -> bool:
        """``[dialer-answered]``: AMD, the route, then Dial(PJSIP/agent) or a message and Hangup(16)."""
        assert self.routes is not None
        variables = dict(v.split("=", 1) for v in action.get("Variable", []))
        if amd:
            await asyncio.sleep(self.sc.amd_delay)
            variables["AMDSTATUS"] = "MACHINE" if fate.seen == "machine" else "HUMAN"
        answered_at = self.now()
        while True:
            variables["DIALER_ACTION"] = ""
            agi = SimAgi(
                {"agi_uniqueid": key, "agi_channel": chan, "agi_network_script": "answered"}, variables
            )
            await self.routes.answered(agi)
            decided = variables.get("DIALER_ACTION")
            if decided == "connect":
                if fate.human:
                    talk, wrap = -1.0, -1.0  # drawn for the agent who takes it
                else:
                    talk, wrap = fate.machine_talk, MACHINE_WRAPUP
                status = await self._dial_agent(key, chan, variables["AGENT_EXTEN"], talk, wrap, answered_at)
                if status == "ANSWER":
                    return True
                variables["AGENT_FAILED"] = f"{variables['AGENT_EXTEN']}/{status}"
                continue
            await asyncio.sleep(MACHINE_MESSAGE if decided == "machine" else ABANDON_MESSAGE)
            self.ami.emit("Hangup", Channel=chan, Uniqueid=key, Cause="16")
            return False

    # ---- the agent's leg -------------------------------------------------------------------------------
    async def _dial_agent(
        self,
        key: str,
        chan: str,
        ext: str,
        talk: float,
        wrap: float,
        answered_at: float,
        inbound: bool = False,
    ) -> str:
        """``Dial(PJSIP/<ext>)``: ring the agent's softphone (auto-answer), bridge, talk, hang up."""
        a = self.by_ext[ext]
        emit = self.ami.emit
        now = self.now()
        self._uid += 1
        uid = f"{self.loop.wall():.0f}.{self._uid}"
        achan = self.ami.channel(ext)
        emit("DialBegin", Channel=chan, Uniqueid=key, DestChannel=achan, DestUniqueid=uid)
        if a.state not in ("ready", "paused"):
            # the engine sent a call to a phone that is not free: Asterisk says so and the dialplan routes again
            self.conflicts += 1
            status = "CHANUNAVAIL" if a.state == "logged_out" else "BUSY"
            emit(
                "DialEnd", Channel=chan, Uniqueid=key, DestChannel=achan, DestUniqueid=uid, DialStatus=status
            )
            emit("Hangup", Channel=achan, Uniqueid=uid, Cause="17")
            return status
        self.stats.wait_sum += now - a.since if a.state == "ready" else 0.0
        self.stats.wait_count += 1
        a.set("ringing", now)
        emit(
            "Newchannel", Channel=achan, ChannelState="0", ChannelStateDesc="Down", Uniqueid=uid, Linkedid=key
        )
        emit("Newstate", Channel=achan, ChannelState="5", ChannelStateDesc="Ringing", Uniqueid=uid)
        self.ami.device(ext, "BUSY")
        await asyncio.sleep(self.agent_answer)
        emit("Newstate", Channel=achan, ChannelState="6", ChannelStateDesc="Up", Uniqueid=uid)
        emit("DialEnd", Channel=chan, Uniqueid=key, DestChannel=achan, DestUniqueid=uid, DialStatus="ANSWER")
        bridge = f"bridge-{uid}"
        emit("BridgeEnter", BridgeUniqueid=bridge, Channel=achan, Uniqueid=uid)
        emit("BridgeEnter", BridgeUniqueid=bridge, Channel=chan, Uniqueid=key)
        a.set("talking", self.now())
        if talk < 0:  # a person: this agent's n-th call of the day
            key_ = item_key(self._agent_calls, a.index * 1_000_003 + a.nth)
            a.nth += 1
            talk, wrap = self.sc.agent_call_of(key_, answered_at - self.day_start)
            if not inbound:
                self.stats.connected_humans += 1
        if inbound:
            wrap = INBOUND_WRAPUP  # the engine's fixed after-call time for operator calls
        self.handled.append((talk, wrap))
        await asyncio.sleep(talk)
        emit("BridgeLeave", BridgeUniqueid=bridge, Channel=chan, Uniqueid=key)
        emit("BridgeLeave", BridgeUniqueid=bridge, Channel=achan, Uniqueid=uid)
        emit("Hangup", Channel=chan, Uniqueid=key, Cause="16")
        emit("Hangup", Channel=achan, Uniqueid=uid, Cause="16")
        self.ami.device(ext, "NOT_INUSE")
        a.set("wrapup", self.now())
        self.spawn(self._wrapup(a, wrap))
        return "ANSWER"

    async def _wrapup(self, a: SimAgent, wrap: float) -> None:
        """After-call work ends when the agent saves the disposition (the agent page publishes it)."""
        await asyncio.sleep(wrap)
        assert self.bus is not None
        self.bus.publish({"type": "disposition.saved", "agent": a.ext})
        a.set("paused" if a.on_break else "ready", self.now())

    # ---- agents' day ---------------------------------------------------------------------------------
    async def _presence(self, a: SimAgent, presence: AgentPresence) -> None:
        await agent_services.set_presence(self.sessions, a.ext, presence, actor="simulator")

    async def agent_day(self, a: SimAgent) -> None:
        shift = self.sc.shift(self.seed, self.day, a.index)
        await self.until(shift.login)
        a.on_break = False
        self.ami.device(a.ext, "NOT_INUSE")  # the softphone registers
        await self._presence(a, AgentPresence.READY)
        a.set("ready", self.now())
        for start, duration in shift.breaks:
            if not shift.login <= start < shift.logout:
                continue  # as in the pacer-only simulator: a break outside the shift is not taken
            await self.until(start)
            a.on_break = True
            await a.idle.wait()
            await self._presence(a, AgentPresence.PAUSED)
            if a.state == "ready":
                a.set("paused", self.now())
            await self.until(start + duration)
            a.on_break = False
            await self._presence(a, AgentPresence.READY)
            await a.idle.wait()
            if a.state == "paused":
                a.set("ready", self.now())
        await self.until(shift.logout)
        a.on_break = True
        await a.idle.wait()
        await self._presence(a, AgentPresence.LOGGED_OUT)
        self.ami.device(a.ext, "UNAVAILABLE")  # the softphone unregisters
        a.set("logged_out", self.now())

    # ---- inbound callers asking the IVR for an operator --------------------------------------------------
    async def inbound_day(self, until: float) -> None:
        if self.inbound_per_hour <= 0:
            return
        family = day_key(self.seed, STREAM_INBOUND, self.day)
        i = 0
        t = 0.0
        while True:
            t += -math.log(uniform(item_key(family, i), 0)) * 3600.0 / self.inbound_per_hour
            if t >= until:
                return
            await self.until(t)
            self.spawn(self._inbound(f"sim-in-{self.day}-{i}"))
            i += 1

    async def _inbound(self, key: str) -> None:
        assert self.routes is not None
        self.inbound_calls += 1
        chan = self.ami.channel("carrier")
        self.ami.emit(
            "Newchannel", Channel=chan, ChannelState="4", ChannelStateDesc="Ring", Uniqueid=key, Linkedid=key
        )
        variables: dict[str, str] = {"APP_NUMBER": ""}
        agi = SimAgi(
            {"agi_uniqueid": key, "agi_callerid": "79990000000", "agi_network_script": "inbound"}, variables
        )
        await self.routes.inbound(agi)
        ext = variables.get("AGENT_EXTEN")
        if ext:
            status = await self._dial_agent(key, chan, ext, -1.0, -1.0, self.now(), inbound=True)
            if status == "ANSWER":
                return
        self.ami.emit("Hangup", Channel=chan, Uniqueid=key, Cause="16")

    # ---- the books -----------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.lines > 0 or any(a.state != "logged_out" for a in self.agents)

    def close_day(self, engine_answered: int, engine_abandoned: int) -> DayStats:
        s = self.stats
        for a in self.agents:
            s.ready += a.acc.get("ready", 0.0)
            s.ringing += a.acc.get("ringing", 0.0)
            s.talk += a.acc.get("talking", 0.0)
            s.wrapup += a.acc.get("wrapup", 0.0)
            s.paused += a.acc.get("paused", 0.0)
        s.logged = s.ready + s.ringing + s.talk + s.wrapup + s.paused
        s.engine_answered, s.engine_abandoned = engine_answered, engine_abandoned
        return s


def _window_end(sc: Scenario) -> str:
    """The campaign's calling window closes early enough for its last calls to meet logged-in agents."""
    minutes = int((sc.day_seconds - sc.ring_timeout - 3.0) // 60)
    end = datetime(2000, 1, 1, 9, 0) + timedelta(minutes=minutes)
    return "24:00" if end.day > 1 else end.strftime("%H:%M")


async def _setup(
    sessions: Any, sc: Scenario, policy: str, ratio: float | None, agents: list[SimAgent]
) -> int:
    for a in agents:
        await agent_services.ensure_agent(sessions, a.ext)
    spec = CampaignSpec(
        name="sim",
        mode=POLICY_MODES[policy],
        ratio=min(5.0, max(1.0, ratio or 2.0)),
        max_attempts=1,  # every dial meets a new customer, as in the pacer-only simulator
        abandon_cap=ABANDON_CAP,
        window=WindowSpec(
            hours={d: f"09:00-{_window_end(sc)}" for d in WEEKDAYS}, holidays=[], service_holidays=False
        ),
        timezone="UTC",
        ring_timeout=int(sc.ring_timeout),
        wrapup_seconds=600,  # wrap-up ends when the agent saves the disposition
        amd=sc.amd,
    )
    camp = await campaign_services.create_campaign(
        sessions, spec, actor="simulator", default_tz="UTC", default_caller_id="505"
    )
    await campaign_services.change_state(sessions, "sim", "start", actor="simulator")
    return camp.id


class _Contacts:
    """Keeps the hopper fed: new numbers are added as they are dialled (a campaign with no contact left
    would complete)."""

    def __init__(self, sessions: Any, campaign_id: int, batch: int) -> None:
        self.sessions, self.campaign_id, self.batch = sessions, campaign_id, batch
        self.added = 0

    async def top_up(self, dialled: int, due: datetime) -> None:
        if self.added - dialled >= self.batch:
            return
        rows = [
            {
                "campaign_id": self.campaign_id,
                "phone": f"+7{self.added + i:010d}",
                "name": f"customer {self.added + i}",
                "state": ContactState.PENDING,
                "priority": 5,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": due,
            }
            for i in range(self.batch)
        ]
        async with self.sessions() as s:
            await s.execute(insert(Contact), rows)
            await s.commit()
        self.added += self.batch


async def _run(
    loop: VirtualTimeLoop,
    sc: Scenario,
    policy: str,
    days: int,
    seed: int,
    ratio: float | None,
    agent_answer: float,
    inbound_per_hour: float,
    wrap_pacer: Callable[[Pacer], Pacer] | None,
    db_path: str,
    tmp: Path,
) -> tuple[list[DayStats], list[float], CallCentre]:
    db, sessions = inline_engine(db_path)
    world = CallCentre(sc, loop, seed=seed, agent_answer=agent_answer, inbound_per_hour=inbound_per_hour)
    world.sessions = sessions
    camp_id = await _setup(sessions, sc, policy, ratio, world.agents)
    settings = engine_settings(tmp, db_path, max_channels=sc.lines)
    world.bus = EventBus()
    service = SimpleNamespace(settings=settings, sessions=sessions, ami=world.ami, bus=world.bus)
    engine = Engine(cast("Service", service), clock=lambda: datetime.fromtimestamp(loop.wall(), UTC))
    world.routes = Routes(engine)
    contacts = _Contacts(sessions, camp_id, batch=max(400, 4 * sc.lines))
    await contacts.top_up(0, datetime.fromtimestamp(loop.wall(), UTC))
    await engine.start()
    stats: list[DayStats] = []
    walls: list[float] = []
    try:
        for day in range(days):
            await asyncio.sleep(0)
            opening = FIRST_DAY + day * DAY
            loop.jump(opening - 30.0 - loop.time())  # the night passes at once
            await asyncio.sleep(30.0)
            if day == 0:
                key, pacer = engine.pacers[camp_id]
                world.watch = DecisionWatch(wrap_pacer(pacer) if wrap_pacer is not None else pacer)
                engine.pacers[camp_id] = (key, world.watch)
            started = time.perf_counter()
            world.start_day(day)
            for a in world.agents:
                world.spawn(world.agent_day(a))
            world.spawn(world.inbound_day(sc.day_seconds - 600.0))
            while loop.time() < opening + sc.day_seconds or world.busy():
                await contacts.top_up(world.dialled, datetime.fromtimestamp(loop.wall(), UTC))
                await asyncio.sleep(10.0)
            live = engine.book.live.get(camp_id)
            stats.append(world.close_day(live.answered if live else 0, live.abandoned if live else 0))
            walls.append(time.perf_counter() - started)
    finally:
        await engine.stop(grace=0.0)
        for t in list(world._tasks):
            t.cancel()
        await db.dispose()
    return stats, walls, world


def run_engine(
    scenario: Scenario,
    policy: str = "predictive",
    *,
    days: int = 3,
    seed: int = 1,
    ratio: float | None = None,
    agent_answer: float = 0.5,
    inbound_per_hour: float = 0.0,
    wrap_pacer: Callable[[Pacer], Pacer] | None = None,
) -> EngineRun:
    """Run ``days`` simulated days of ``scenario`` through the production engine with ``policy`` (the
    campaign's pacing mode: predictive, progressive or ratio), deterministic for ``seed``."""
    if policy not in POLICY_MODES:
        raise ValueError(f"the engine runs {', '.join(POLICY_MODES)}; not {policy!r}")
    if days < 1:
        raise ValueError("days must be at least 1")
    if scenario.day_seconds > 15 * 3600:
        raise ValueError("a simulated day must fit between 09:00 and midnight (day_seconds <= 54000)")
    quiet = logging.getLogger("dialer")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "engine.db")
        migrate.upgrade(f"sqlite+aiosqlite:///{db_path}")
        loop = VirtualTimeLoop(EPOCH)
        try:
            with engine_time(loop) as switched:
                stats, walls, world = loop.run_until_complete(
                    _run(
                        loop,
                        scenario,
                        policy,
                        days,
                        seed,
                        ratio,
                        agent_answer,
                        inbound_per_hour,
                        wrap_pacer,
                        db_path,
                        Path(tmp),
                    )
                )
        finally:
            loop.close()
            quiet.setLevel(level)
    return EngineRun(
        summarize(stats),
        stats,
        walls,
        switched,
        world.conflicts,
        world.inbound_calls,
        world.fates,
        world.handled,
        dict(world.watch.counts) if world.watch else {},
    )
