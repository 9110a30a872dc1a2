"""Placing calls: share free agents between campaigns, ask each campaign's pacer how many calls to place,
write each attempt (the promise made a database fact) and send its Originate.

An attempt is registered in the call book before any await after its commit, so a reconciliation running
meanwhile sees it as ours and never closes it as lost while it is still about to be sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialer import metrics
from dialer.ami.link import AmiLinkLost, AmiNotConnected
from dialer.db.models import AgentState, CampaignState
from dialer.engine import attempts, store
from dialer.engine.agents import AgentSlot
from dialer.engine.callbook import CampaignLive, LiveCall
from dialer.engine.runtime import CampaignRuntime
from dialer.engine.store import Placed
from dialer.pacing import AgentView, CallView, PacingView
from dialer.phones import dial_digits, masked

if TYPE_CHECKING:
    from dialer.engine.engine import Engine

log = logging.getLogger(__name__)

REFUSED_RETRY = 15.0  # seconds a contact waits after Asterisk refused its Originate (e.g. still booting)
BUSY_STATES = (AgentState.RINGING, AgentState.TALKING, AgentState.WRAPUP)


class Placer:
    def __init__(self, engine: Engine, spawn: Callable[[Any], None]) -> None:
        self.eng = engine
        self.spawn = spawn

    # ---- which campaigns, which agents --------------------------------------------------------------
    def _running(self, now: datetime) -> list[CampaignRuntime]:
        eng = self.eng
        out = []
        for c in eng.campaigns.values():
            if c.state != CampaignState.RUNNING:
                continue
            is_open = c.window.is_open(now)
            live = eng.book.live.setdefault(c.id, CampaignLive())
            if live.last_window_open is not is_open:
                live.last_window_open = is_open
                log.info("campaign %s: calling window %s", c.name, "open" if is_open else "closed")
            if is_open:
                out.append(c)
        return out

    def _assign_free_agents(self, running: list[CampaignRuntime]) -> dict[int, list[AgentSlot]]:
        """Share the free agents between running campaigns by weight (inbound callers waiting come first)."""
        pool = self.eng.pool
        free = pool.free_agents(None)[pool.waiting_inbound :]
        busy: dict[int, int] = {}
        for a in pool.agents.values():
            if a.call_campaign is not None and a.state in BUSY_STATES:
                busy[a.call_campaign] = busy.get(a.call_campaign, 0) + 1
        return share_agents(free, [(c.id, c.weight) for c in running], busy)

    # ---- the tick's placing step --------------------------------------------------------------------
    async def dial(self, wall: float, *, callbacks: bool = True) -> None:
        """Place this tick's calls. ``callbacks`` says whether to look for reserved contacts (abandoned
        calls' and agents' callbacks) too: the engine asks once a second, not every tick, because that look-up
        walks every pending contact of the campaign (no index covers the flags) and a callback due at a
        given minute loses nothing by waiting half a second more."""
        eng = self.eng
        now = eng.clock()
        running = self._running(now)
        if not running:
            return
        shares = self._assign_free_agents(running)
        for c in running:
            try:
                await self._dial_campaign(c, shares[c.id], wall, now, callbacks)
            except Exception as e:
                # one campaign's fault (a bad setting, a database error) stops only that campaign's tick
                if not self.eng.db_outage.failed(e, f"placing calls for campaign {c.name}"):
                    log.exception("campaign %s: placing calls failed; the others go on", c.name)

    async def _dial_campaign(
        self, c: CampaignRuntime, mine: list[AgentSlot], wall: float, now: datetime, callbacks: bool = True
    ) -> None:
        eng = self.eng
        cap = eng.settings.outbound.max_channels
        if callbacks:
            await self._dial_reserved(c, mine, now)
        mine = [a for a in mine if a.free]
        total_lines = len(eng.book.calls) + sum(
            1
            for a in eng.pool.agents.values()
            if a.state == AgentState.TALKING and a.call_key not in eng.book.calls
        )
        view = self.view(c, mine, wall, now, max(0, cap - total_lines + self._lines(c.id)))
        pacer = eng.pacer_for(c.id)
        if pacer is None:
            return
        decision = pacer.decide(view)
        live = eng.book.live.setdefault(c.id, CampaignLive())
        live.dial_level, live.reason = decision.dial_level, decision.reason
        metrics.DIAL_LEVEL.labels(c.name).set(decision.dial_level)
        n = min(decision.launch, cap - len(eng.book.calls))
        if n <= 0:
            return
        async with eng.sessions() as s:
            due = await store.fetch_due(s, c, now, n, reserved=False)
        placed = 0
        for contact in due:
            if len(eng.book.calls) >= cap or not eng.accepting:
                break
            p = await store.place(eng.sessions, c, contact, now, None)
            if p is not None:
                placed += 1
                self._launch(c, p)
        live.launched += placed
        metrics.PACING_LAUNCH.labels(c.name).inc(placed)

    def _lines(self, camp_id: int) -> int:
        return sum(1 for lc in self.eng.book.calls.values() if lc.camp_id == camp_id)

    async def _dial_reserved(self, c: CampaignRuntime, free: list[AgentSlot], now: datetime) -> None:
        """Abandoned-call callbacks and agents' own callbacks are dialled only with an agent held for them.
        The agent is held before the database is asked to write the attempt, so no answered call can take
        it in between."""
        if not free:
            return
        eng = self.eng
        async with eng.sessions() as s:
            due = await store.fetch_due(s, c, now, len(free), reserved=True)
        for contact in due:
            if contact.callback_agent_id is not None:
                agent = next((a for a in free if a.id == contact.callback_agent_id and a.free), None)
                if agent is None:
                    continue  # wait for that agent
            else:
                agent = next((a for a in free if a.free), None)
            if agent is None:
                return
            hold = f"hold-{contact.id}"
            eng.pool.reserve(agent.ext, hold)
            try:
                p = await store.place(eng.sessions, c, contact, now, agent.ext)
            except BaseException:
                eng.pool.unreserve_key(hold, time.time())
                raise
            if p is None:
                eng.pool.unreserve_key(hold, time.time())
                continue
            eng.pool.rekey(hold, p.key)
            self._launch(c, p)

    def view(
        self, c: CampaignRuntime, free: list[AgentSlot], wall: float, now: datetime, max_lines: int
    ) -> PacingView:
        eng = self.eng
        agents = [AgentView(a.ext, "ready", a.since) for a in free]
        for a in eng.pool.agents.values():
            if a.call_campaign == c.id and a.state in BUSY_STATES:
                agents.append(AgentView(a.ext, a.state, a.since))  # type: ignore[arg-type]
        calls = [
            CallView(k, lc.sent_at, lc.answered_loop is not None)
            for k, lc in eng.book.calls.items()
            if lc.camp_id == c.id and not lc.tracked.facts.agent_connected
        ]
        live = eng.book.live.setdefault(c.id, CampaignLive())
        return PacingView(
            now=wall,
            agents=agents,
            calls=calls,
            answered_today=live.answered,
            abandoned_today=live.abandoned,
            seconds_left_in_day=c.window.seconds_left(now),
            max_lines=max_lines,
        )

    # ---- one call ------------------------------------------------------------------------------------
    def _launch(self, c: CampaignRuntime, p: Placed) -> None:
        """Register the call (synchronously, right after its commit), then send it in the background."""
        self.register(c, p)
        self.spawn(self.originate(c, p))

    def register(self, c: CampaignRuntime, p: Placed) -> None:
        """The call book knows the call before its Originate can leave (and before any await)."""
        wall = time.time()
        tracked = self.eng.tracker.expect(p.key, wall)
        self.eng.book.register(
            LiveCall(p, c.id, tracked, wall, c.ring_timeout, amd=c.amd, sent=False, acked=False)
        )

    async def originate(self, c: CampaignRuntime, p: Placed) -> None:
        eng = self.eng
        action = {
            "Action": "Originate",
            "Channel": eng.settings.outbound.dial_template.format(number=dial_digits(p.phone)),
            "Context": eng.settings.outbound.answered_context,
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
        if not (eng.reconciled and eng.accepting and eng.ami.is_up):
            log.info("attempt %s not sent: link not reconciled", p.attempt_id, extra=extra)
            await self._end_unsent(p)
            return
        lc = eng.book.calls.get(p.key)
        if lc is None:
            return  # closed meanwhile (the service is stopping): never sent
        lc.sent = True
        try:
            resp = await eng.ami.send(action, timeout=10)
        except AmiNotConnected:
            # never left this process: give the attempt back untouched
            log.warning("attempt %s not sent: AMI link down", p.attempt_id, extra=extra)
            await self._end_unsent(p)
            return
        except (AmiLinkLost, TimeoutError):
            # it may or may not have reached Asterisk: never re-send; reconciliation (and Asterisk's own
            # call records) will tell
            log.warning("attempt %s: link lost before Originate was acknowledged", p.attempt_id, extra=extra)
            return
        if resp.get("Response") != "Success":
            # Asterisk placed no call (shutting down, still booting, a dialplan not loaded yet): the attempt
            # is given back, not counted, and the contact waits a little so a refusing PBX is not hammered
            msg = str(resp.get("Message", ""))
            log.warning("attempt %s refused by Asterisk: %s", p.attempt_id, msg, extra=extra)
            # shutting down: the link drops next and nothing dials until Asterisk is back and reconciled
            delay = None if "shutting down" in msg.lower() else REFUSED_RETRY
            await self._end_unsent(p, retry_in=delay)
            return
        lc.acked = True
        await attempts.mark_sent(eng.sessions, p.attempt_id)

    async def _end_unsent(self, p: Placed, retry_in: float | None = None) -> None:
        self.eng.book.forget_unsent(p.key, time.time())
        retry_at = self.eng.clock() + timedelta(seconds=retry_in) if retry_in else None
        await store.cancel_unsent(self.eng.sessions, p.attempt_id, retry_at)


def share_agents(
    free: list[AgentSlot], campaigns: list[tuple[int, int]], busy: dict[int, int]
) -> dict[int, list[AgentSlot]]:
    """Share free agents (longest idle first) between running campaigns ``(id, weight)`` so that each
    campaign's agents (busy + assigned) stay proportional to its weight; an agent goes only to campaigns
    it serves."""
    out: dict[int, list[AgentSlot]] = {cid: [] for cid, _ in campaigns}
    for a in free:
        choices = [(cid, w) for cid, w in campaigns if a.serves(cid)]
        if not choices:
            continue
        cid, _ = min(choices, key=lambda c: ((busy.get(c[0], 0) + len(out[c[0]]) + 1) / c[1], c[0]))
        out[cid].append(a)
    return out
