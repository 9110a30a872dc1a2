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

OUTBOUND_PRIORITY = 0
INBOUND_PRIORITY = 1
AVAILABLE_DEVICE_STATES = {"NOT_INUSE", "UNKNOWN"}


@dataclass
class AgentSlot:
    id: int
    ext: str
    name: str = ""
    presence: str = "logged_out"
    pause_reason: str | None = None
    campaigns: frozenset[int] = frozenset()  # empty: every campaign
    state: str = "logged_out"
    since: float = 0.0
    device: str = "UNKNOWN"
    call_key: str | None = None
    call_campaign: int | None = None
    inbound: bool = False
    wrapup_until: float = 0.0
    reserved_for: str | None = None
    dirty: bool = True
    presence_changed: bool = False  # the engine itself changed presence (a softphone that stopped answering)

    def serves(self, campaign_id: int | None) -> bool:
        return campaign_id is None or not self.campaigns or campaign_id in self.campaigns

    @property
    def free(self) -> bool:
        return (
            self.state == "ready"
            and self.presence == "ready"
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
            a.state, a.since, a.dirty = state, now, True

    def _settle(self, a: AgentSlot, now: float) -> None:
        """Between calls, the live state follows presence."""
        if a.call_key is not None or a.state in ("ringing", "talking"):
            return
        if a.state == "wrapup" and now < a.wrapup_until:
            return
        target = {"ready": "ready", "paused": "paused"}.get(a.presence, "logged_out")
        self._set(a, target, now)

    def ringing(self, ext: str, key: str, campaign_id: int | None, now: float, inbound: bool = False) -> None:
        a = self.agents[ext]
        a.call_key, a.call_campaign, a.inbound, a.reserved_for = key, campaign_id, inbound, None
        self._set(a, "ringing", now)

    def connected(self, ext: str, key: str, now: float) -> None:
        a = self.agents.get(ext)
        if a is not None:
            a.call_key = key
            self._set(a, "talking", now)

    def failed(self, ext: str, now: float, reason: str) -> None:
        """The softphone did not answer: out of rotation until the agent makes themself ready again."""
        a = self.agents.get(ext)
        if a is None:
            return
        a.call_key = None
        a.presence, a.pause_reason = "paused", reason
        a.presence_changed = True
        self._set(a, "paused", now)
        a.dirty = True

    def leg_ended(self, ext: str, now: float, wrapup_seconds: float) -> None:
        a = self.agents.get(ext)
        if a is None:
            return
        a.call_key, a.inbound = None, False
        a.wrapup_until = now + wrapup_seconds
        self._set(a, "wrapup", now)
        if wrapup_seconds <= 0:
            self._settle(a, now)
            self._wake(now)

    def end_wrapup(self, ext: str, now: float) -> None:
        """The agent saved the call's disposition: wrap-up may end early."""
        a = self.agents.get(ext)
        if a is not None and a.state == "wrapup":
            a.wrapup_until = now
            self._settle(a, now)
            self._wake(now)

    def release(self, ext: str, now: float) -> None:
        """A claim that never turned into a ringing phone (the call vanished first)."""
        a = self.agents.get(ext)
        if a is not None and a.state == "ringing" and a.call_key is None:
            self._settle(a, now)
        if a is not None:
            a.reserved_for = None
        self._wake(now)

    def tick(self, now: float) -> None:
        for a in self.agents.values():
            if a.state == "wrapup" and now >= a.wrapup_until:
                self._settle(a, now)
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
        a.call_key = None
        a.call_campaign = campaign_id
        self._set(a, "ringing", now)

    def reserve(self, ext: str, key: str) -> None:
        """Hold a free agent for a call being placed (abandoned-call callbacks, agent callbacks)."""
        self.agents[ext].reserved_for = key

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
