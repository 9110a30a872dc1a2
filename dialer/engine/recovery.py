"""Recovery: match what the engine believes is in flight with what Asterisk has, after a (re)connect, an
Asterisk restart or a crash of the service.

- Calls still up in Asterisk (``CoreShowChannels``) are followed again (adopted).
- Calls that ended while the service could not see them are closed by Asterisk's own record of them (CDR,
  keyed by the ``dlr-<key>`` channel id: connected to which agent, abandoned, busy, no answer ...).
- With no record, nothing is ever downgraded: an attempt the database saw bridged is closed as connected
  and never retried; one Asterisk never acknowledged is given back; anything else counts as tried (failed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from dialer import metrics
from dialer.ami.link import AmiError
from dialer.callrecords.fate import CallFate, agent_of, fate
from dialer.callrecords.reader import CdrReader, RecordsUnavailable
from dialer.db.models import AgentState
from dialer.engine import attempts
from dialer.engine.callbook import LiveCall
from dialer.engine.outcomes import Outcome
from dialer.engine.runtime import CampaignRuntime
from dialer.engine.store import Placed

if TYPE_CHECKING:
    from dialer.engine.engine import Engine

log = logging.getLogger(__name__)

RECORD_LAG = 1.5  # Asterisk writes a call's record as the channel is destroyed: look again once after this
CAUSE_OF = {Outcome.BUSY: 17, Outcome.CONGESTION: 34, Outcome.NOANSWER: 19, Outcome.INVALID: 1}


class Recovery:
    def __init__(self, engine: Engine, records: CdrReader | None) -> None:
        self.eng = engine
        self.records = records
        self.lock = asyncio.Lock()
        self.last_try = 0.0
        self.heard: list[Any] | None = None  # events received while a reconciliation runs (the engine adds)

    async def fates(self, keys: list[str]) -> dict[str, CallFate] | None:
        """Asterisk's verdict on each call that has a record; None when the records can't be read."""
        if not keys:
            return {}
        if self.records is None:
            return None
        out: dict[str, CallFate] = {}
        try:
            for attempt in range(2):
                rows = await self.records.rows_for(k for k in keys if k not in out)
                for k in keys:
                    f = fate(k, rows.get(k, []))
                    if f is not None:
                        out[k] = f
                if len(out) == len(keys) or attempt:
                    break
                await asyncio.sleep(RECORD_LAG)
        except RecordsUnavailable as e:
            log.warning("%s: calls that ended unseen are closed by the conservative rule", e)
            return None
        return out

    async def reconcile(self) -> None:
        async with self.lock:
            self.last_try = time.time()
            self.heard = []  # from the channel list on: a call adopted below may end before it is adopted
            try:
                await self._reconcile()
            finally:
                self.heard = None

    async def _reconcile(self) -> None:
        eng = self.eng
        try:
            chans = await eng.ami.list_action({"Action": "CoreShowChannels"}, timeout=15)
        except (AmiError, TimeoutError) as e:
            log.warning("reconciliation failed (%s); retrying", e)
            return
        try:
            devices = await eng.ami.list_action({"Action": "DeviceStateList"}, timeout=15)
        except (AmiError, TimeoutError) as e:
            # an Asterisk still booting may not have loaded it yet; device events will follow
            log.warning("device states not available yet (%s)", e)
            devices = []
        wall = time.time()
        for d in devices:
            dev = str(d.get("Device", ""))
            if dev.startswith("PJSIP/"):
                eng.pool.device_state(dev[6:], str(d.get("State", "")), wall)
        live = {str(c.get("Uniqueid")): c for c in chans}
        by_linked: dict[str, list[Any]] = {}
        for c in chans:
            by_linked.setdefault(str(c.get("Linkedid")), []).append(c)
        self._learn_unseen_bridges(live, by_linked, wall)
        await self._close_vanished(live, wall)
        await eng.reload(wall)
        adopted = await self._adopt_or_close(live, by_linked, wall)
        self._replay_heard(adopted)
        eng.reconciled = True
        log.info("reconciled with Asterisk: %d channels, %d calls followed", len(chans), len(eng.book.calls))

    def _learn_unseen_bridges(
        self, live: dict[str, Any], by_linked: dict[str, list[Any]], wall: float
    ) -> None:
        """Calls still up that were bridged to an agent while the link was down: the agent is talking."""
        eng = self.eng
        for key, lc in list(eng.book.calls.items()):
            if key not in live or lc.tracked.facts.agent_connected:
                continue
            for other in by_linked.get(key, []):
                agent = agent_of(str(other.get("Channel", "")))
                up = str(other.get("ChannelState")) == "6"
                if agent and up and agent in eng.pool.agents and other.get("Uniqueid") != key:
                    log.info("call %s was bridged to agent %s while the link was down", key, agent)
                    eng.book.connected_unseen(lc, agent, str(other.get("Uniqueid")), wall)
                    break

    async def _close_vanished(self, live: dict[str, Any], wall: float) -> None:
        """Calls we were following (outbound and inbound) that ended while we could not see. One whose
        Originate was never acknowledged is left to the watchdog: it may still reach Asterisk (a frozen
        link delivers late), so its number stays in flight until Asterisk's record or the deadline says."""
        eng = self.eng
        gone = [k for k, lc in eng.book.calls.items() if lc.sent and lc.acked and k not in live]
        fates = await self.fates([k for k in gone if not eng.book.calls[k].inbound]) if gone else {}
        for key in gone:
            lc = eng.book.calls.get(key)
            if lc is None:
                continue
            f = (fates or {}).get(key)
            if f is not None:
                _merge(lc, f)
                lc.blind = False  # Asterisk's record is in: nothing left to verify
            log.info("call %s ended while the link was down", key)
            metrics.RECOVERED.labels("record" if f else "memory").inc()
            eng.book.finish(key, wall)
        # agents whose call vanished (their leg's Hangup never reached us): wrap-up as if it had, with the
        # end Asterisk recorded (the outage is not talk time)
        for a in list(eng.pool.agents.values()):
            if (
                a.state in (AgentState.RINGING, AgentState.TALKING)
                and a.call_key is not None
                and a.call_key not in live
            ):
                if a.state == AgentState.TALKING:
                    f = (fates or {}).get(a.call_key)
                    ended = f.ended_at.timestamp() if f is not None and f.ended_at is not None else wall
                    eng.book.apply_leg_vanished(a.ext, ended, wall)
                elif a.call_key not in eng.book.calls:
                    eng.pool.release(a.ext, wall, a.call_key)

    def _replay_heard(self, adopted: set[str]) -> None:
        """Give the calls just adopted the events that came while they were being adopted. Asterisk listed
        the channel, then (say) hung it up before the attempt was read back from the database: that Hangup
        reached a call book that did not know the call yet, and without it the call would stay followed
        for ever, its number in flight and its agent talking. Calls followed before get none twice."""
        heard, self.heard = self.heard or [], []
        for ev in heard:
            if {str(ev.get("Uniqueid")), str(ev.get("Linkedid"))} & adopted:
                self.eng.book.feed(ev, time.time())

    async def _adopt_or_close(
        self, live: dict[str, Any], by_linked: dict[str, list[Any]], wall: float
    ) -> set[str]:
        """Attempts left by a previous process (or whose Originate ack was lost); the keys adopted."""
        eng = self.eng
        adopted: set[str] = set()
        pending = eng.outbox.attempt_ids()
        orphans = [
            a
            for a in await attempts.unfinished_attempts(eng.sessions)
            if (a.uniqueid or a.action_id) not in eng.book.calls and a.id not in pending
        ]
        lost = [a for a in orphans if (a.uniqueid or a.action_id) not in live]
        fates = await self.fates([a.uniqueid or a.action_id for a in lost]) if lost else {}
        for attempt in orphans:
            key = attempt.uniqueid or attempt.action_id
            camp = eng.campaigns.get(attempt.campaign_id or -1)
            if key in live and camp is not None:
                self._adopt(attempt, camp, live[key], by_linked.get(key, []), wall)
                adopted.add(key)
                continue
            if key in live:
                continue  # its campaign is stopped: leave it to finish; the next reconciliation closes it
            f = None if fates is None else fates.get(key)
            outcome = await attempts.close_lost(eng.sessions, attempt, f, camp, eng.clock())
            metrics.RECOVERED.labels(
                "record" if f else ("none" if fates is not None else "unavailable")
            ).inc()
            source = (
                "Asterisk's record" if f else ("no record" if fates is not None else "records unavailable")
            )
            log.info(
                "attempt %s was in flight when the service stopped: %s (%s)",
                attempt.id,
                outcome.value if outcome else "never placed, given back",
                source,
            )
        return adopted

    def _adopt(self, attempt: Any, camp: CampaignRuntime, chan: Any, family: list[Any], wall: float) -> None:
        eng = self.eng
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
        tracked = eng.tracker.expect(key, wall)
        tracked.originate_done = True
        lc = LiveCall(placed, camp.id, tracked, wall, camp.ring_timeout, amd=camp.amd)
        if str(chan.get("ChannelState")) == "6":
            tracked.facts.answered = True
            tracked.answered_at = wall
            lc.answered_loop = asyncio.get_running_loop().time()
            lc.observed_answer = True
        for other in family:
            ext = str(other.get("Channel", ""))
            if ext.startswith("PJSIP/") and other.get("Uniqueid") != key:
                agent = ext[6:].rsplit("-", 1)[0]
                if agent in eng.pool.agents:
                    eng.tracker.adopt_agent_leg(key, agent, str(other.get("Uniqueid")))
                    tracked.facts.agent_connected = True
                    tracked.bridged_at = attempt.bridged_at.timestamp() if attempt.bridged_at else wall
                    lc.agent = agent
                    eng.pool.connected(agent, key, wall)
                    eng.pool.agents[agent].call_campaign = camp.id
                    eng.book.talks[agent] = (camp.id, attempt.id, tracked.bridged_at)
        eng.book.register(lc)
        log.info("attempt %s still on the line: following it again", attempt.id)


def _merge(lc: LiveCall, f: CallFate) -> None:
    """What Asterisk recorded completes what the engine saw (it never takes anything away)."""
    t = lc.tracked
    facts = t.facts
    if f.answered_at is not None:
        facts.answered = True
        t.answered_at = t.answered_at or f.answered_at.timestamp()
    if f.connected:
        facts.agent_connected = True
        lc.agent = lc.agent or f.agent
        if f.bridged_at is not None:
            t.bridged_at = t.bridged_at or f.bridged_at.timestamp()
    if f.outcome is Outcome.MACHINE:
        facts.amd_status = "MACHINE"
    if not facts.answered and facts.hangup_cause is None:
        facts.hangup_cause = CAUSE_OF.get(f.outcome)
    if f.ended_at is not None:
        t.hungup_at = t.hungup_at or f.ended_at.timestamp()
