"""The dialer engine: the tick loop that places calls, the AMI event handling that follows them, and
recovery after a lost link or a crash. Routing answered calls to agents lives in ``routes.py``.

Calls start only when the AMI link is up AND has been reconciled with Asterisk (CoreShowChannels), inside
the campaign's calling window, for running campaigns, within the channel cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dialer import metrics
from dialer.ami.link import AmiError, AmiLinkLost, AmiNotConnected, LinkState
from dialer.db.models import CampaignState
from dialer.engine import store
from dialer.engine.agents import AgentPool, AgentSlot, share_agents
from dialer.engine.outcomes import LIVE, Outcome, classify
from dialer.engine.store import CampaignRuntime, Placed
from dialer.engine.tracker import CallTracker, Change, TrackedCall
from dialer.pacing import (
    Abandoned,
    AgentCallFinished,
    AgentView,
    CallEnded,
    CallView,
    Pacer,
    PacingView,
    make_pacer,
)
from dialer.phones import dial_digits, masked

if TYPE_CHECKING:
    from dialer.service import Service

log = logging.getLogger(__name__)

TICK = 0.5
RELOAD_EVERY = 1.0
RECONCILE_RETRY = 2.0
LOST_AFTER = 30.0  # seconds past the ring timeout with no word from Asterisk: the call is lost


@dataclass
class LiveCall:
    placed: Placed
    camp_id: int
    tracked: TrackedCall
    sent_at: float  # wall clock
    ring_timeout: int
    answered_loop: float | None = None  # loop clock, for the 2-second routing deadline
    inbound: bool = False
    agent: str | None = None
    observed_answer: bool = False


@dataclass
class CampaignLive:
    answered: int = 0
    abandoned: int = 0
    day: str = ""
    dial_level: float = 0.0
    reason: str = ""
    launched: int = 0
    last_window_open: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _ts(v: float | None) -> datetime | None:
    return datetime.fromtimestamp(v, UTC) if v else None


class Engine:
    def __init__(self, service: Service, clock: Callable[[], datetime] | None = None) -> None:
        self.svc = service
        self.settings = service.settings
        self.sessions = service.sessions
        self.ami = service.ami
        self.bus = service.bus
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tracker = CallTracker()
        self.pool = AgentPool()
        self.calls: dict[str, LiveCall] = {}
        self.campaigns: dict[int, CampaignRuntime] = {}
        self.pacers: dict[int, tuple[str, Pacer]] = {}
        self.live: dict[int, CampaignLive] = {}
        self.reconciled = False
        self.accepting = True
        self._task: asyncio.Task[None] | None = None
        self._bg: set[asyncio.Task[Any]] = set()
        self._last_reload = 0.0
        self._reconcile_lock = asyncio.Lock()
        self._last_reconcile_try = 0.0
        self.default_window = {
            "hours": dict(self.settings.calling_window.hours),
            "holidays": [d.isoformat() for d in self.settings.calling_window.holidays],
        }

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        self.ami.on_event("*", self._on_event)
        self.ami.on_state(self._on_link_state)
        if self.ami.is_up:
            self._spawn(self.reconcile())
        self._task = asyncio.create_task(self._run(), name="dialer-engine")
        self._spawn(self._bus_listener())

    async def stop(self, grace: float = 30.0) -> None:
        """Stop placing calls; let calls in flight finish (up to ``grace`` seconds)."""
        self.accepting = False
        deadline = time.monotonic() + grace
        while self.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for t in list(self._bg):
            t.cancel()
        await self._flush_agents()

    def _spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._bg.add(t)
        t.add_done_callback(self._bg_done)

    def _bg_done(self, t: asyncio.Task[Any]) -> None:
        self._bg.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("engine task failed", exc_info=t.exception())

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine tick failed; continuing")
            await asyncio.sleep(TICK)

    async def _bus_listener(self) -> None:
        async with self.bus.subscribe() as q:
            while True:
                ev = await q.get()
                if ev.get("type") == "disposition.saved" and ev.get("agent"):
                    self.pool.end_wrapup(str(ev["agent"]), time.time())

    # ---- the tick ----------------------------------------------------------------------------------
    async def tick(self) -> None:
        wall = time.time()
        for ch in self.tracker.expire(wall):
            await self._apply(ch)
        await self._watchdog(wall)
        if wall - self._last_reload >= RELOAD_EVERY:
            self._last_reload = wall
            await self._flush_agents()
            await self._reload(wall)
        self.pool.tick(wall)
        if (
            self.ami.is_up
            and not self.reconciled
            and not self._reconcile_lock.locked()
            and wall - self._last_reconcile_try > RECONCILE_RETRY
        ):
            self._spawn(self.reconcile())  # a failed reconciliation is retried while the link stays up
        if self.accepting and self.ami.is_up and self.reconciled:
            await self._dial(wall)
        if self.accepting and self.ami.is_up and self.reconciled and self._last_reload == wall:
            for name in await store.complete_finished_campaigns(self.sessions, self.clock()):
                log.info("campaign %s completed: no contact can be called again", name)
                self.bus.publish({"type": "campaign.completed", "campaign": name})
        self._publish_stats()

    async def _reload(self, wall: float) -> None:
        camps = await store.load_campaigns(self.sessions, self.default_window, self.settings.timezone)
        self.campaigns = {c.id: c for c in camps}
        now = self.clock()
        for c in camps:
            mode_key = f"{c.mode}:{sorted(c.params.items())}:{c.abandon_cap}"
            if c.id not in self.pacers or self.pacers[c.id][0] != mode_key:
                params = dict(c.params)
                if c.mode == "predictive":
                    params["abandon_cap"] = c.abandon_cap
                self.pacers[c.id] = (mode_key, make_pacer(c.mode, **params))
            live = self.live.setdefault(c.id, CampaignLive())
            day = now.astimezone(c.window.tz).date().isoformat()
            if live.day != day:
                live.day = day
                live.answered, live.abandoned = await store.today_counts(self.sessions, c, now)
        self.pool.sync(await store.load_agents(self.sessions), wall)

    async def _flush_agents(self) -> None:
        rows = []
        for a in self.pool.agents.values():
            if not a.dirty:
                continue
            a.dirty = False
            row: dict[str, Any] = {
                "extension": a.ext,
                "state": a.state,
                "state_since": datetime.fromtimestamp(a.since or time.time(), UTC),
                "device_state": a.device,
                "registered": a.device not in ("UNAVAILABLE", "INVALID"),
            }
            if a.presence_changed:  # presence belongs to the agent and admins; only a failure overrides it
                row.update(presence=a.presence, pause_reason=a.pause_reason)
                a.presence_changed = False
            rows.append(row)
            self.bus.publish(
                {
                    "type": "agent.state",
                    "agent": a.ext,
                    "state": a.state,
                    "pause_reason": a.pause_reason,
                    "since": datetime.fromtimestamp(a.since or time.time(), UTC).isoformat(),
                }
            )
        await store.flush_agents(self.sessions, rows)

    # ---- placing calls -------------------------------------------------------------------------------
    def _assign_free_agents(self, running: list[CampaignRuntime]) -> dict[int, list[AgentSlot]]:
        """Share the free agents between running campaigns by weight (inbound callers waiting come first)."""
        free = self.pool.free_agents(None)[self.pool.waiting_inbound :]
        busy: dict[int, int] = {}
        for a in self.pool.agents.values():
            if a.call_campaign is not None and a.state in ("ringing", "talking", "wrapup"):
                busy[a.call_campaign] = busy.get(a.call_campaign, 0) + 1
        return share_agents(free, [(c.id, c.weight) for c in running], busy)

    async def _dial(self, wall: float) -> None:
        now = self.clock()
        running = []
        for c in self.campaigns.values():
            if c.state != CampaignState.RUNNING:
                continue
            is_open = c.window.is_open(now)
            live = self.live.setdefault(c.id, CampaignLive())
            if live.last_window_open is not is_open:
                live.last_window_open = is_open
                log.info("campaign %s: calling window %s", c.name, "open" if is_open else "closed")
            if is_open:
                running.append(c)
        if not running:
            return
        shares = self._assign_free_agents(running)
        cap = self.settings.outbound.max_channels
        total_lines = len(self.calls) + sum(
            1 for a in self.pool.agents.values() if a.state in ("talking",) and a.call_key not in self.calls
        )
        for c in running:
            mine = shares[c.id]
            await self._dial_reserved(c, mine, now)
            mine = [a for a in mine if a.free]
            view = self._view(c, mine, wall, now, max(0, cap - total_lines + self._lines(c.id)))
            decision = self.pacers[c.id][1].decide(view)
            live = self.live[c.id]
            live.dial_level, live.reason = decision.dial_level, decision.reason
            metrics.DIAL_LEVEL.labels(c.name).set(decision.dial_level)
            n = min(decision.launch, cap - len(self.calls))
            if n <= 0:
                continue
            async with self.sessions() as s:
                due = await store.fetch_due(s, c, now, n, reserved=False)
            placed = 0
            for contact in due:
                if len(self.calls) >= cap:
                    break
                p = await store.place(self.sessions, c, contact, now, None)
                if p is not None:
                    placed += 1
                    self._spawn(self._originate(c, p))
            live.launched += placed
            metrics.PACING_LAUNCH.labels(c.name).inc(placed)

    def _lines(self, camp_id: int) -> int:
        return sum(1 for lc in self.calls.values() if lc.camp_id == camp_id)

    async def _dial_reserved(self, c: CampaignRuntime, free: list[AgentSlot], now: datetime) -> None:
        """Abandoned-call callbacks and agents' own callbacks are dialled only with an agent held for them."""
        if not free:
            return
        async with self.sessions() as s:
            due = await store.fetch_due(s, c, now, len(free), reserved=True)
        for contact in due:
            agent = None
            if contact.callback_agent_id is not None:
                agent = next((a for a in free if a.id == contact.callback_agent_id and a.free), None)
                if agent is None:
                    continue  # wait for that agent
            else:
                agent = next((a for a in free if a.free), None)
            if agent is None:
                return
            p = await store.place(self.sessions, c, contact, now, agent.ext)
            if p is None:
                continue
            self.pool.reserve(agent.ext, p.key)
            self._spawn(self._originate(c, p))

    def _view(
        self, c: CampaignRuntime, free: list[AgentSlot], wall: float, now: datetime, max_lines: int
    ) -> PacingView:
        agents = [AgentView(a.ext, "ready", a.since) for a in free]
        for a in self.pool.agents.values():
            if a.call_campaign == c.id and a.state in ("ringing", "talking", "wrapup"):
                agents.append(AgentView(a.ext, a.state, a.since))  # type: ignore[arg-type]
        calls = [
            CallView(k, lc.sent_at, lc.answered_loop is not None)
            for k, lc in self.calls.items()
            if lc.camp_id == c.id and not lc.tracked.facts.agent_connected
        ]
        live = self.live[c.id]
        return PacingView(
            now=wall,
            agents=agents,
            calls=calls,
            answered_today=live.answered,
            abandoned_today=live.abandoned,
            seconds_left_in_day=c.window.seconds_left(now),
            max_lines=max_lines,
        )

    async def _originate(self, c: CampaignRuntime, p: Placed) -> None:
        wall = time.time()
        tracked = self.tracker.expect(p.key, wall)
        self.calls[p.key] = LiveCall(p, c.id, tracked, wall, c.ring_timeout)
        metrics.CALLS_IN_FLIGHT.set(len(self.calls))
        action = {
            "Action": "Originate",
            "Channel": self.settings.outbound.dial_template.format(number=dial_digits(p.phone)),
            "Context": self.settings.outbound.answered_context,
            "Exten": "s",
            "Priority": "1",
            "CallerID": f'"{c.caller_id}" <{c.caller_id}>',
            "Timeout": str(c.ring_timeout * 1000),
            "ActionID": p.key,
            "ChannelId": p.key,
            "Async": "true",
            "Variable": [f"ATTEMPT_ID={p.attempt_id}", f"DIALER_AMD={1 if c.amd else 0}"],
        }
        extra = {"attempt_id": p.attempt_id, "campaign": c.name}
        log.info("dialling %s (attempt %s, try %d)", masked(p.phone), p.attempt_id, p.attempts, extra=extra)
        if not (self.reconciled and self.accepting):
            log.info("attempt %s not sent: link not reconciled", p.attempt_id, extra=extra)
            await self._end_unsent(p)
            return
        try:
            resp = await self.ami.send(action, timeout=10)
        except AmiNotConnected:
            # never left this process: give the attempt back untouched
            log.warning("attempt %s not sent: AMI link down", p.attempt_id, extra=extra)
            await self._end_unsent(p)
            return
        except (AmiLinkLost, TimeoutError):
            # it may or may not have reached Asterisk: never re-send; reconciliation will tell
            log.warning("attempt %s: link lost before Originate was acknowledged", p.attempt_id, extra=extra)
            return
        if resp.get("Response") != "Success":
            msg = str(resp.get("Message", ""))
            log.warning("attempt %s refused by Asterisk: %s", p.attempt_id, msg, extra=extra)
            if "shutting down" in msg.lower():
                await self._end_unsent(p)  # no call was placed: the attempt is given back
                return
            tracked.originate_done = True
            tracked.originate_at = time.time()
            return
        await store.mark_sent(self.sessions, p.attempt_id)

    async def _end_unsent(self, p: Placed) -> None:
        self.calls.pop(p.key, None)
        self.tracker.forget(p.key)
        self.pool.unreserve_key(p.key, time.time())
        await store.cancel_unsent(self.sessions, p.attempt_id)

    async def _watchdog(self, wall: float) -> None:
        """A call Asterisk never said anything about (ack lost, events lost) is finished as lost."""
        for key, lc in list(self.calls.items()):
            t = lc.tracked
            if lc.inbound or t.finished or t.facts.answered or t.hungup_at is not None:
                continue
            if wall - lc.sent_at > lc.ring_timeout + LOST_AFTER:
                t.finished = True
                await self._finish(key, wall)

    # ---- events --------------------------------------------------------------------------------------
    def _on_event(self, ev: Any) -> None:
        name = str(ev.get("Event", ""))
        wall = time.time()
        if name == "DeviceStateChange":
            dev = str(ev.get("Device", ""))
            if dev.startswith("PJSIP/"):
                self.pool.device_state(dev[6:], str(ev.get("State", "")), wall)
            return
        for ch in self.tracker.feed(ev, wall):
            self._spawn(self._apply(ch))

    async def _apply(self, ch: Change) -> None:
        lc = self.calls.get(ch.key)
        wall = time.time()
        if ch.kind == "agent_leg_ended":
            connected = lc is not None and lc.tracked.facts.agent_connected
            camp = self.campaigns.get(lc.camp_id) if lc else None
            wrap = float(camp.wrapup_seconds) if camp else 15.0
            if lc is None or connected:
                self.pool.leg_ended(ch.agent or "", wall, wrap if connected or lc is None else 0.0)
                if lc and lc.tracked.bridged_at and camp:
                    pacer = self.pacers.get(camp.id)
                    if pacer:
                        pacer[1].observe(AgentCallFinished(wall - lc.tracked.bridged_at, wrap))
            else:
                self.pool.leg_ended(ch.agent or "", wall, 0.0)
            return
        if lc is None:
            return
        if ch.kind == "answered":
            if lc.answered_loop is None:
                lc.answered_loop = asyncio.get_running_loop().time()
            self._observe_answer(lc, "live", ch.at)
        elif ch.kind == "agent_connected" and ch.agent:
            lc.agent = ch.agent
            self.pool.connected(ch.agent, ch.key, wall)
            self._publish_bridged(lc, ch.agent)
            if not lc.inbound:
                # the agent's page may record the disposition while the call is still on
                await store.mark_bridged(self.sessions, lc.placed.attempt_id, ch.agent, _ts(ch.at))
        elif ch.kind == "agent_failed" and ch.agent:
            if ch.detail in ("NOANSWER", "CHANUNAVAIL", "CONGESTION", "BUSY"):
                self.pool.failed(ch.agent, wall, f"softphone did not answer ({ch.detail})")
                log.warning("agent %s taken out of rotation: %s", ch.agent, ch.detail)
            else:
                self.pool.leg_ended(ch.agent, wall, 0.0)
        elif ch.kind == "finished":
            await self._finish(ch.key, wall)

    def _observe_answer(self, lc: LiveCall, outcome: str, at: float) -> None:
        if lc.observed_answer or lc.inbound:
            return
        lc.observed_answer = True
        pacer = self.pacers.get(lc.camp_id)
        if pacer:
            pacer[1].observe(CallEnded(max(0.0, at - lc.sent_at), outcome))  # type: ignore[arg-type]

    def _publish_bridged(self, lc: LiveCall, agent: str) -> None:
        camp = self.campaigns.get(lc.camp_id)
        self.bus.publish(
            {
                "type": "call.bridged",
                "agent": agent,
                "attempt_id": lc.placed.attempt_id if not lc.inbound else None,
                "campaign": camp.name if camp else None,
                "contact_id": lc.placed.contact_id if not lc.inbound else None,
                "phone": lc.placed.phone,
                "application": lc.placed.application,
                "inbound": lc.inbound,
            }
        )

    async def _finish(self, key: str, wall: float) -> None:
        lc = self.calls.pop(key, None)
        if lc is None:
            return
        t = lc.tracked
        self.tracker.forget(key)
        self.pool.unreserve_key(key, wall)
        metrics.CALLS_IN_FLIGHT.set(len(self.calls))
        if lc.inbound:
            return
        outcome = classify(t.facts)
        camp = self.campaigns.get(lc.camp_id)
        live = self.live.setdefault(lc.camp_id, CampaignLive())
        if outcome in LIVE:
            live.answered += 1
            live.abandoned += outcome is Outcome.ABANDONED
        pacer = self.pacers.get(lc.camp_id)
        if pacer:
            if outcome is Outcome.ABANDONED:
                pacer[1].observe(Abandoned())
            elif not lc.observed_answer:
                pacing_outcome = {
                    "machine": "machine",
                    "busy": "busy",
                    "noanswer": "noanswer",
                    "invalid": "invalid",
                }
                self._observe_answer(lc, pacing_outcome.get(outcome.value, "failed"), t.hungup_at or wall)
        if lc.agent is None and t.agent and not t.facts.agent_connected:
            self.pool.release(t.agent, wall)
        ring_end = t.answered_at or t.hungup_at or t.originate_at
        f = store.Finish(
            attempt_id=lc.placed.attempt_id,
            outcome=outcome,
            facts=t.facts,
            ended_at=_ts(t.hungup_at or wall) or datetime.now(UTC),
            answered_at=_ts(t.answered_at),
            bridged_at=_ts(t.bridged_at),
            agent_ext=lc.agent,
            ring_seconds=(ring_end - lc.sent_at) if ring_end else None,
            wait_seconds=((t.bridged_at or t.hungup_at or wall) - t.answered_at) if t.answered_at else None,
            talk_seconds=((t.hungup_at or wall) - t.bridged_at) if t.bridged_at else None,
            decided_at=self.clock(),
        )
        await store.finish(self.sessions, f, camp)
        name = camp.name if camp else "?"
        metrics.CALLS.labels(name, outcome.value).inc()
        if live.answered:
            metrics.ABANDON_RATE.labels(name).set(live.abandoned / live.answered)
        log.info(
            "attempt %s ended: %s",
            lc.placed.attempt_id,
            outcome.value,
            extra={"attempt_id": lc.placed.attempt_id, "campaign": name},
        )
        self.bus.publish(
            {
                "type": "call.ended",
                "agent": lc.agent,
                "attempt_id": lc.placed.attempt_id,
                "campaign": name,
                "outcome": outcome.value,
            }
        )

    # ---- the link and recovery ---------------------------------------------------------------------
    async def _on_link_state(self, state: LinkState) -> None:
        if state is LinkState.UP:
            self._spawn(self.reconcile())
        else:
            if self.reconciled:
                log.warning("AMI link %s: no new calls until it is back and reconciled", state.value)
            self.reconciled = False

    async def reconcile(self) -> None:
        """Match what we believe is in flight with what Asterisk has, after a (re)connect or a restart."""
        async with self._reconcile_lock:
            self._last_reconcile_try = time.time()
            try:
                chans = await self.ami.list_action({"Action": "CoreShowChannels"}, timeout=15)
            except (AmiError, TimeoutError) as e:
                log.warning("reconciliation failed (%s); retrying", e)
                return
            try:
                devices = await self.ami.list_action({"Action": "DeviceStateList"}, timeout=15)
            except (AmiError, TimeoutError) as e:
                # an Asterisk still booting may not have loaded it yet; device events will follow
                log.warning("device states not available yet (%s)", e)
                devices = []
            wall = time.time()
            for d in devices:
                dev = str(d.get("Device", ""))
                if dev.startswith("PJSIP/"):
                    self.pool.device_state(dev[6:], str(d.get("State", "")), wall)
            live = {str(c.get("Uniqueid")): c for c in chans}
            by_linked: dict[str, list[Any]] = {}
            for c in chans:
                by_linked.setdefault(str(c.get("Linkedid")), []).append(c)
            # calls we were following that ended while we could not see
            for key, lc in list(self.calls.items()):
                if lc.inbound or key in live:
                    continue
                if not lc.tracked.finished:
                    lc.tracked.finished = True
                    log.info("attempt %s ended while the link was down", lc.placed.attempt_id)
                    await self._finish(key, wall)
            # agents whose call vanished while we could not see (their leg's Hangup never reached us)
            for a in list(self.pool.agents.values()):
                if a.state in ("ringing", "talking") and a.call_key not in live:
                    self.pool.leg_ended(a.ext, wall, 0.0)
            # attempts left by a previous process
            await self._reload(wall)
            for attempt in await store.unfinished_attempts(self.sessions):
                key = attempt.uniqueid or attempt.action_id
                if key in self.calls:
                    continue
                camp = self.campaigns.get(attempt.campaign_id or -1)
                if key in live and camp is not None:
                    await self._adopt(attempt, camp, live[key], by_linked.get(key, []), wall)
                else:
                    await store.finish_lost(self.sessions, attempt.id, camp)
                    log.info(
                        "attempt %s was in flight when the service stopped; its call is gone", attempt.id
                    )
            self.reconciled = True
            log.info("reconciled with Asterisk: %d channels, %d calls followed", len(chans), len(self.calls))

    async def _adopt(
        self, attempt: Any, camp: CampaignRuntime, chan: Any, family: list[Any], wall: float
    ) -> None:
        key = attempt.uniqueid
        placed = Placed(
            attempt_id=attempt.id,
            key=key,
            campaign_id=camp.id,
            contact_id=attempt.contact_id or 0,
            phone=attempt.phone,
            attempts=0,
            reserved_agent=None,
            label=attempt.phone,
        )
        tracked = self.tracker.expect(key, wall)
        tracked.originate_done = True
        lc = LiveCall(placed, camp.id, tracked, wall, camp.ring_timeout)
        if str(chan.get("ChannelState")) == "6":
            tracked.facts.answered = True
            tracked.answered_at = wall
            lc.answered_loop = asyncio.get_running_loop().time()
            lc.observed_answer = True
        for other in family:
            ext = str(other.get("Channel", ""))
            if ext.startswith("PJSIP/") and other.get("Uniqueid") != key:
                agent = ext[6:].rsplit("-", 1)[0]
                if agent in self.pool.agents:
                    self.tracker.adopt_agent_leg(key, agent, str(other.get("Uniqueid")))
                    tracked.facts.agent_connected = True
                    tracked.bridged_at = wall
                    lc.agent = agent
                    self.pool.connected(agent, key, wall)
                    self.pool.agents[agent].call_campaign = camp.id
        self.calls[key] = lc
        log.info("attempt %s still on the line: following it again", attempt.id)

    # ---- figures -------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        camps = {}
        for cid, c in self.campaigns.items():
            live = self.live.get(cid, CampaignLive())
            mine = [lc for lc in self.calls.values() if lc.camp_id == cid]
            camps[c.name] = {
                "state": c.state,
                "window_open": bool(live.last_window_open),
                "in_flight": len(mine),
                "waiting_for_agent": sum(
                    1 for lc in mine if lc.answered_loop is not None and not lc.tracked.facts.agent_connected
                ),
                "connected_now": sum(1 for lc in mine if lc.tracked.facts.agent_connected),
                "answered_today": live.answered,
                "abandoned_today": live.abandoned,
                "abandon_rate": (live.abandoned / live.answered) if live.answered else 0.0,
                "abandon_cap": c.abandon_cap,
                "dial_level": round(live.dial_level, 3),
                "pacing_reason": live.reason,
                "launched": live.launched,
            }
        return {
            "ami": self.ami.state.value,
            "reconciled": self.reconciled,
            "calls_in_flight": len(self.calls),
            "campaigns": camps,
            "agents": self.pool.counts(),
            "waiting_inbound": self.pool.waiting_inbound,
        }

    def _publish_stats(self) -> None:
        snap = self.snapshot()
        for state in ("ready", "ringing", "talking", "wrapup", "paused", "logged_out"):
            metrics.AGENTS.labels(state).set(snap["agents"].get(state, 0))
        if self.bus.subscribers:
            self.bus.publish({"type": "stats", **snap})
