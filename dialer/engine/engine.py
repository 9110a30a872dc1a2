"""The dialer engine: its lifecycle and the tick that drives the rooms.

- ``placing.py``: which campaigns dial, how many calls (pacing), writing attempts, Originate;
- ``callbook.py``: calls in flight and agents, fed by AMI events through the tracker (pure);
- ``outbox.py``: the call book's database writes, retried until committed;
- ``recovery.py``: reconciliation with Asterisk after a (re)connect, a restart or a crash;
- ``notifier.py``: the typed events the web layer shows.

Calls start only when the AMI link is up AND has been reconciled with Asterisk, inside the campaign's
calling window, for running campaigns, within the channel cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from dialer import metrics
from dialer.ami.link import LinkState
from dialer.callrecords.reader import CdrReader
from dialer.db.models import AgentState, CampaignState, Disposition
from dialer.db.outage import Outage
from dialer.engine import runtime
from dialer.engine.agents import AgentPool
from dialer.engine.callbook import CallBook, CampaignLive, LiveCall
from dialer.engine.notifier import Notifier
from dialer.engine.outbox import Outbox
from dialer.engine.placing import Placer
from dialer.engine.recovery import Recovery
from dialer.engine.runtime import CampaignRuntime
from dialer.engine.snapshot import CampaignFigures, EngineSnapshot
from dialer.engine.tracker import CallTracker
from dialer.pacing import AgentCallFinished, Pacer, make_campaign_pacer

if TYPE_CHECKING:
    from dialer.service import Service

log = logging.getLogger(__name__)

TICK = 0.5
RELOAD_EVERY = 1.0
RECONCILE_RETRY = 2.0
DRAIN_SECONDS = 30.0  # on stop, calls in flight get this long to finish (docker's stop grace is longer)
AGENT_STATES = (
    AgentState.READY,
    AgentState.RINGING,
    AgentState.TALKING,
    AgentState.WRAPUP,
    AgentState.PAUSED,
    AgentState.LOGGED_OUT,
)


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
        self.campaigns: dict[int, CampaignRuntime] = {}
        self.pacers: dict[int, tuple[str, Pacer]] = {}
        self.notifier = Notifier(service.bus)
        self.book = CallBook(
            self.pool, self.tracker, self.notifier, self.campaigns, self.pacer_for, lambda: self.clock()
        )
        self.outbox = Outbox(self.sessions, self.campaigns.get)
        self.placer = Placer(self, self._spawn)
        self.recovery = Recovery(self, CdrReader.from_settings(self.settings.call_records))
        self.db_outage = Outage(log)  # one warning per database outage, not a traceback per tick
        self.outbox.verify_with = self.recovery.fates
        self.reconciled = False
        self.accepting = True
        self._task: asyncio.Task[None] | None = None
        self._bg: set[asyncio.Task[Any]] = set()
        self._last_reload = 0.0
        self.default_window = {
            "hours": dict(self.settings.calling_window.hours),
            "holidays": [d.isoformat() for d in self.settings.calling_window.holidays],
        }

    @property
    def calls(self) -> dict[str, LiveCall]:
        return self.book.calls

    @property
    def live(self) -> dict[int, CampaignLive]:
        return self.book.live

    def pacer_for(self, camp_id: int) -> Pacer | None:
        p = self.pacers.get(camp_id)
        return p[1] if p else None

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        self.ami.on_event("*", self._on_event)
        self.ami.on_state(self._on_link_state)
        if self.ami.is_up:
            self._spawn(self.reconcile())
        self._task = asyncio.create_task(self._run(), name="dialer-engine")
        self._spawn(self._bus_listener())

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        """Stop placing calls; let outbound calls in flight finish (up to ``grace`` seconds) and commit
        their outcomes."""
        self.accepting = False
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(
            lc.sent and not lc.inbound for lc in self.book.calls.values()
        ):
            await asyncio.sleep(0.2)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for t in list(self._bg):
            t.cancel()
        with contextlib.suppress(Exception):
            await self.outbox.flush(time.time())
            await self._flush_agents()
        if self.recovery.records is not None:
            await self.recovery.records.close()

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
            failures = self.db_outage.failures
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not self.db_outage.failed(e, "running the engine's tick"):
                    log.exception("engine tick failed; continuing")
            else:
                if self.db_outage.failures == failures:  # a tick with no database failure anywhere in it
                    self.db_outage.ok()
            await asyncio.sleep(TICK)

    async def _bus_listener(self) -> None:
        """Fast path for a disposition saved in this process; the database check in ``reload`` catches
        those saved anywhere else (CLI, another process)."""
        async with self.bus.subscribe() as q:
            while True:
                ev = await q.get()
                if ev.get("type") == "disposition.saved" and ev.get("agent"):
                    self.pool.end_wrapup(str(ev["agent"]), time.time())

    # ---- the tick ----------------------------------------------------------------------------------
    async def tick(self) -> None:
        wall = time.time()
        self.book.expire(wall)
        await self._commit(wall)
        if wall - self._last_reload >= RELOAD_EVERY:
            self._last_reload = wall
            await self._flush_agents()
            await self.reload(wall)
        self.pool.tick(wall)
        self._learn_handle_times()
        if (
            self.ami.is_up
            and not self.reconciled
            and not self.recovery.lock.locked()
            and wall - self.recovery.last_try > RECONCILE_RETRY
        ):
            self._spawn(self.reconcile())  # a failed reconciliation is retried while the link stays up
        ready = self.accepting and self.ami.is_up and self.reconciled
        reloaded = self._last_reload == wall
        if ready:
            await self.placer.dial(wall, callbacks=reloaded)
        if ready and reloaded and self._may_complete():
            try:
                for name in await runtime.complete_finished_campaigns(self.sessions, self.clock()):
                    log.info("campaign %s completed: no contact can be called again", name)
                    self.notifier.campaign_completed(name)
            except Exception as e:
                if not self.db_outage.failed(e, "checking for completed campaigns"):
                    log.exception("completion check failed; retried next second")
        await self._commit(wall)
        self._publish_stats()

    def _may_complete(self) -> bool:
        """Some running campaign has no call in flight: only such a campaign can be complete (a call in the
        book is an attempt still open), so while every one has a call up the completion check's queries
        are skipped."""
        busy = {lc.camp_id for lc in self.book.calls.values() if not lc.inbound}
        return any(c.state == CampaignState.RUNNING and c.id not in busy for c in self.campaigns.values())

    async def _commit(self, wall: float) -> None:
        self.outbox.add(self.book.take_effects())
        await self.outbox.flush(wall)

    def _learn_handle_times(self) -> None:
        """Every connected call's measured talk and wrap-up reach its campaign's pacer when wrap-up ends."""
        done, self.pool.finished = self.pool.finished, []
        for w in done:
            pacer = self.pacer_for(w.campaign_id) if w.campaign_id is not None else None
            if pacer is not None:
                pacer.observe(AgentCallFinished(w.talk_seconds, w.wrapup_seconds))

    async def reload(self, wall: float) -> None:
        camps = await runtime.load_campaigns(self.sessions, self.default_window, self.settings.timezone)
        now = self.clock()
        for c in camps:
            mode_key = f"{c.mode}:{sorted(c.params.items())}:{c.abandon_cap}"
            if c.id not in self.pacers or self.pacers[c.id][0] != mode_key:
                self.pacers[c.id] = (mode_key, make_campaign_pacer(c.mode, c.params, c.abandon_cap))
            live = self.book.live.setdefault(c.id, CampaignLive())
            day = now.astimezone(c.window.tz).date().isoformat()
            if live.day != day:
                answered, abandoned = await runtime.today_counts(self.sessions, c, now)
                live.day, live.answered, live.abandoned = day, answered, abandoned  # only once counted
        self.campaigns.clear()
        self.campaigns.update({c.id: c for c in camps})
        self.pool.sync(await runtime.load_agents(self.sessions), wall)
        await self._end_disposed_wrapups(wall)

    async def _end_disposed_wrapups(self, wall: float) -> None:
        wrapping = self.pool.wrapping()
        if not wrapping:
            return
        async with self.sessions() as s:
            done = (
                await s.execute(select(Disposition.attempt_id).where(Disposition.attempt_id.in_(wrapping)))
            ).scalars()
            for attempt_id in done:
                if attempt_id is not None:
                    self.pool.end_wrapup(wrapping[attempt_id], wall)

    async def _flush_agents(self) -> None:
        """Agents' live states to the database; a state is marked clean only once committed."""
        rows = []
        flushed = []
        presence = []
        for a in self.pool.agents.values():
            if not a.dirty:
                continue
            a.dirty = False
            flushed.append(a)
            row: dict[str, Any] = {
                "extension": a.ext,
                "state": a.state,
                "state_since": datetime.fromtimestamp(a.since or time.time(), UTC),
                "device_state": a.device,
                "registered": a.device not in ("UNAVAILABLE", "INVALID"),
            }
            if a.presence_changed:  # presence belongs to the agent and admins; only a failure overrides it
                row.update(presence=a.presence, pause_reason=a.pause_reason)
                presence.append(a)
            rows.append(row)
            self.notifier.agent_state(
                agent=a.ext,
                state=a.state,
                since=a.since or time.time(),
                pause_reason=a.pause_reason,
                wrapup_until=a.wrapup_until if a.state == AgentState.WRAPUP else None,
            )
        try:
            await runtime.flush_agents(self.sessions, rows)
        except Exception:
            for a in flushed:
                a.dirty = True  # written next time
            raise
        for a in presence:
            a.presence_changed = False

    # ---- events and the link -------------------------------------------------------------------------
    def _on_event(self, ev: Any) -> None:
        if self.recovery.heard is not None:
            self.recovery.heard.append(ev)  # a reconciliation is running: replayed to the calls it adopts
        self.book.feed(ev, time.time())
        done = time.time()
        if self.book.outbox:
            self._spawn(self._commit(done))
        stamp = ev.get("Timestamp")
        if stamp:  # how far behind Asterisk the engine runs: the figure a load test watches
            with contextlib.suppress(ValueError):
                metrics.EVENT_LAG.observe(max(0.0, done - float(stamp)))

    async def _on_link_state(self, state: LinkState) -> None:
        if state is LinkState.UP:
            self._spawn(self.reconcile())
        else:
            if self.reconciled:
                log.warning("AMI link %s: no new calls until it is back and reconciled", state.value)
            self.reconciled = False
            for lc in self.book.calls.values():
                lc.blind = lc.blind or lc.sent  # events may be lost: Asterisk's record will be consulted

    async def reconcile(self) -> None:
        await self.recovery.reconcile()
        await self._commit(time.time())

    # ---- figures -------------------------------------------------------------------------------------
    def snapshot(self) -> EngineSnapshot:
        camps: dict[str, CampaignFigures] = {}
        for cid, c in self.campaigns.items():
            live = self.book.live.get(cid, CampaignLive())
            mine = [lc for lc in self.book.calls.values() if lc.camp_id == cid]
            rate = (live.abandoned / live.answered) if live.answered else 0.0
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
                "abandon_rate": rate,
                "abandon_cap": c.abandon_cap,
                # at or over the cap, or the guard held the last decision back (calls go one per free agent)
                "cap_reached": (live.answered > 0 and rate >= c.abandon_cap) or "abandon cap" in live.reason,
                "dial_level": round(live.dial_level, 3),
                "pacing_reason": live.reason,
                "launched": live.launched,
            }
        return {
            "ami": self.ami.state.value,
            "reconciled": self.reconciled,
            "calls_in_flight": len(self.book.calls),
            "pending_writes": len(self.outbox.pending),
            "campaigns": camps,
            "agents": self.pool.counts(),
            "waiting_inbound": self.pool.waiting_inbound,
        }

    def _publish_stats(self) -> None:
        snap = self.snapshot()
        for state in AGENT_STATES:
            metrics.AGENTS.labels(state).set(snap["agents"].get(state, 0))
        self.notifier.stats(dict(snap))
