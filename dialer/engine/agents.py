"""Who can take a call now: agents' live state, from their presence (database), their softphone (AMI
device state) and the engine's own bookkeeping (ringing, talking, wrap-up).

An answered customer gets the agent idle longest among those ready for that campaign. Callers waiting for
an agent are served in priority order: answered outbound calls first (their 2-second abandon clock is
running), then inbound callers asking for an operator.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from dialer.db.models import AgentPresence, AgentState

OUTBOUND_PRIORITY = 0
INBOUND_PRIORITY = 1
AVAILABLE_DEVICE_STATES = {"NOT_INUSE", "UNKNOWN"}
# A claimed agent whose phone never starts ringing (the caller hung up before the dialplan's Dial, the FastAGI
# peer went away) is given back after this long; once it rings, after the dialplan's ring time (AGENT_RING in
# extensions.conf) plus the same margin.
CLAIM_MARGIN = 5.0
AGENT_RING = 10.0


@dataclass(frozen=True)
class WrapupDone:
    """An agent finished a call and its after-call work: what the pacer learns handle times from."""

    ext: str
    campaign_id: int | None
    attempt_id: int | None
    talk_seconds: float
    wrapup_seconds: float


@dataclass
class AgentSlot:
    id: int
    ext: str
    name: str = ""
    presence: str = AgentPresence.LOGGED_OUT
    pause_reason: str | None = None
    campaigns: frozenset[int] = frozenset()  # empty: every campaign
    state: str = AgentState.LOGGED_OUT
    since: float = 0.0
    device: str = "UNKNOWN"
    call_key: str | None = None
    call_campaign: int | None = None
    inbound: bool = False
    wrapup_until: float = 0.0
    wrap_started: float = 0.0
    wrap_call: tuple[int | None, int | None, float] | None = None  # (campaign, attempt, talk seconds)
    ring_deadline: float = 0.0  # a claim not confirmed by a ringing phone by then is released
    reserved_for: str | None = None
    dirty: bool = True
    presence_changed: bool = False  # the engine itself changed presence (a softphone that stopped answering)

    def serves(self, campaign_id: int | None) -> bool:
        return campaign_id is None or not self.campaigns or campaign_id in self.campaigns

    @property
    def free(self) -> bool:
        return (
            self.state == AgentState.READY
            and self.presence == AgentPresence.READY
            and self.reserved_for is None
            and self.device in AVAILABLE_DEVICE_STATES
        )


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    campaign_id: int | None = field(compare=False)
    key: str = field(compare=False)
    prefer: str | None = field(compare=False)
    future: asyncio.Future[AgentSlot] = field(compare=False)


class AgentPool:
    def __init__(self) -> None:
        self.agents: dict[str, AgentSlot] = {}
        self.finished: list[WrapupDone] = []  # drained by the engine into the pacers
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()

    # ---- inputs ----------------------------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[int, str, str, str, str | None, frozenset[int]]], now: float) -> None:
        """Apply presence as stored in the database: (id, ext, name, presence, pause_reason, campaigns)."""
        seen = set()
        for agent_id, ext, name, presence, reason, campaigns in rows:
            seen.add(ext)
            a = self.agents.get(ext)
            if a is None:
                a = self.agents[ext] = AgentSlot(agent_id, ext, since=now)
            a.name, a.campaigns = name, campaigns
            if a.presence_changed:
                continue  # ours is newer: it reaches the database at the next flush
            if a.presence != presence or a.pause_reason != reason:
                a.presence, a.pause_reason = presence, reason
                a.dirty = True
            self._settle(a, now)
        for ext in set(self.agents) - seen:
            del self.agents[ext]
        self._wake(now)

    def device_state(self, ext: str, state: str, now: float) -> None:
        a = self.agents.get(ext)
        if a is None or a.device == state:
            return
        a.device = state
        a.dirty = True
        self._wake(now)

    # ---- state changes driven by calls -------------------------------------------------------------
    def _set(self, a: AgentSlot, state: str, now: float) -> None:
        if a.state != state:
            if a.state == AgentState.WRAPUP and a.wrap_call is not None:
                camp, attempt, talk = a.wrap_call
                self.finished.append(WrapupDone(a.ext, camp, attempt, talk, max(0.0, now - a.wrap_started)))
                a.wrap_call = None
            a.state, a.since, a.dirty = state, now, True

    def _settle(self, a: AgentSlot, now: float) -> None:
        """Between calls, the live state follows presence."""
        if a.call_key is not None or a.state in (AgentState.RINGING, AgentState.TALKING):
            return
        if a.state == AgentState.WRAPUP and now < a.wrapup_until:
            return
        self._set(a, _presence_state(a), now)

    def _unclaim(self, a: AgentSlot, now: float) -> None:
        """A claim (ringing) that never became a call: back to what presence says, at once."""
        a.call_key, a.ring_deadline, a.inbound = None, 0.0, False
        self._set(a, _presence_state(a), now)

    def ringing(self, ext: str, key: str, campaign_id: int | None, now: float, inbound: bool = False) -> None:
        """The agent is handed to the dialplan for this call; its phone should ring within CLAIM_MARGIN."""
        a = self.agents[ext]
        a.call_key, a.call_campaign, a.inbound, a.reserved_for = key, campaign_id, inbound, None
        a.ring_deadline = now + CLAIM_MARGIN
        self._set(a, AgentState.RINGING, now)

    def phone_ringing(self, ext: str, key: str, now: float) -> None:
        """Asterisk started ringing the agent's phone (DialBegin): the claim is confirmed for the ring time."""
        a = self.agents.get(ext)
        if a is not None and a.state == AgentState.RINGING and a.call_key in (key, None):
            a.call_key = key
            a.ring_deadline = now + AGENT_RING + CLAIM_MARGIN

    def connected(self, ext: str, key: str, now: float) -> None:
        a = self.agents.get(ext)
        if a is not None:
            a.call_key = key
            a.ring_deadline = 0.0
            self._set(a, AgentState.TALKING, now)

    def failed(self, ext: str, now: float, reason: str) -> None:
        """The softphone did not answer: out of rotation until the agent makes themself ready again."""
        a = self.agents.get(ext)
        if a is None:
            return
        a.call_key = None
        a.presence, a.pause_reason = AgentPresence.PAUSED, reason
        a.presence_changed = True
        self._set(a, AgentState.PAUSED, now)
        a.dirty = True

    def leg_ended(
        self,
        ext: str,
        now: float,
        wrapup_seconds: float,
        call: tuple[int | None, int | None, float] | None = None,
    ) -> None:
        """The agent's leg hung up. ``call`` = (campaign, attempt, talk seconds) of a call the agent really
        talked on: its wrap-up is measured and reported when it ends."""
        a = self.agents.get(ext)
        if a is None:
            return
        a.call_key, a.inbound = None, False
        a.wrapup_until = now + wrapup_seconds
        self._set(a, AgentState.WRAPUP, now)
        a.wrap_started, a.wrap_call = now, call
        if wrapup_seconds <= 0:
            self._settle(a, now)
            self._wake(now)

    def wrapping(self) -> dict[int, str]:
        """Attempt id -> agent for agents in wrap-up after an outbound call (a saved disposition ends it)."""
        return {
            a.wrap_call[1]: a.ext
            for a in self.agents.values()
            if a.state == AgentState.WRAPUP and a.wrap_call is not None and a.wrap_call[1] is not None
        }

    def end_wrapup(self, ext: str, now: float) -> None:
        """The agent saved the call's disposition: wrap-up may end early."""
        a = self.agents.get(ext)
        if a is not None and a.state == AgentState.WRAPUP:
            a.wrapup_until = now
            self._settle(a, now)
            self._wake(now)

    def release(self, ext: str, now: float, key: str | None = None) -> None:
        """A claim that never turned into a talking agent (the call vanished first). With ``key``, only if
        the agent is still held for that call."""
        a = self.agents.get(ext)
        if a is None:
            return
        if a.state == AgentState.RINGING and (key is None or a.call_key in (key, None)):
            self._unclaim(a, now)
        if key is None or a.reserved_for == key:
            a.reserved_for = None
        self._wake(now)

    def release_call(self, key: str, now: float) -> None:
        """The call ``key`` is over: any agent still only ringing for it, or held for it, is free again."""
        for a in self.agents.values():
            if (a.state == AgentState.RINGING and a.call_key == key) or a.reserved_for == key:
                a.reserved_for = None
                if a.state == AgentState.RINGING:
                    self._unclaim(a, now)
        self._wake(now)

    def tick(self, now: float) -> None:
        for a in self.agents.values():
            if a.state == AgentState.WRAPUP and now >= a.wrapup_until:
                self._settle(a, now)
            elif a.state == AgentState.RINGING and a.ring_deadline and now >= a.ring_deadline:
                # nobody ever rang this agent's phone for the claim (or it rang out unseen): give it back
                self._unclaim(a, now)
        self._wake(now)

    # ---- claiming ------------------------------------------------------------------------------------
    def free_agents(self, campaign_id: int | None = None) -> list[AgentSlot]:
        return sorted(
            (a for a in self.agents.values() if a.free and a.serves(campaign_id)),
            key=lambda a: a.since,
        )

    def try_claim(
        self, campaign_id: int | None, key: str, now: float, prefer: str | None = None
    ) -> AgentSlot | None:
        if prefer:
            a = self.agents.get(prefer)
            if a is not None and (a.free or a.reserved_for == key):
                self._take(a, key, campaign_id, now)
                return a
        for a in self.free_agents(campaign_id):
            self._take(a, key, campaign_id, now)
            return a
        return None

    def _take(self, a: AgentSlot, key: str, campaign_id: int | None, now: float) -> None:
        a.reserved_for = None
        a.call_key = key
        a.call_campaign = campaign_id
        a.ring_deadline = now + CLAIM_MARGIN
        self._set(a, AgentState.RINGING, now)

    def reserve(self, ext: str, key: str) -> None:
        """Hold a free agent for a call being placed (abandoned-call callbacks, agent callbacks). Done before
        any await, so no answered call can claim the agent in between."""
        self.agents[ext].reserved_for = key

    def rekey(self, old: str, new: str) -> None:
        for a in self.agents.values():
            if a.reserved_for == old:
                a.reserved_for = new

    def unreserve_key(self, key: str, now: float) -> None:
        for a in self.agents.values():
            if a.reserved_for == key:
                a.reserved_for = None
        self._wake(now)

    async def claim(
        self,
        campaign_id: int | None,
        key: str,
        deadline: float,
        now: float,
        *,
        priority: int = OUTBOUND_PRIORITY,
        prefer: str | None = None,
    ) -> AgentSlot | None:
        """The longest-idle free agent for this campaign, waiting until ``deadline`` (loop time) for one."""
        got = self.try_claim(campaign_id, key, now, prefer)
        if got is not None:
            return got
        loop = asyncio.get_running_loop()
        w = _Waiter(priority, next(self._seq), campaign_id, key, prefer, loop.create_future())
        self._waiters.append(w)
        self._waiters.sort()
        try:
            return await asyncio.wait_for(asyncio.shield(w.future), max(0.0, deadline - loop.time()))
        except TimeoutError:
            if w.future.done() and not w.future.cancelled():
                return w.future.result()  # assigned at the last instant
            return None
        finally:
            if w in self._waiters:
                self._waiters.remove(w)

    def _wake(self, now: float) -> None:
        for w in list(self._waiters):
            if w.future.done():
                self._waiters.remove(w)
                continue
            got = self.try_claim(w.campaign_id, w.key, now, w.prefer)
            if got is None:
                continue
            self._waiters.remove(w)
            w.future.set_result(got)

    @property
    def waiting_inbound(self) -> int:
        return sum(1 for w in self._waiters if w.priority == INBOUND_PRIORITY and not w.future.done())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.agents.values():
            out[a.state] = out.get(a.state, 0) + 1
        return out


def _presence_state(a: AgentSlot) -> str:
    """Between calls, the live state is what presence asks for."""
    if a.presence == AgentPresence.READY:
        return AgentState.READY
    if a.presence == AgentPresence.PAUSED:
        return AgentState.PAUSED
    return AgentState.LOGGED_OUT
