"""The call book: what the engine knows about calls in flight and what follows from each change.

Tracker changes (answered, an agent's phone ringing, connected, the agent's leg ended, finished) become
agent states (the pool), pacer observations, notifications, and database writes. The writes are not made
here: they go to ``outbox`` as effects that the engine commits (and retries until committed), so the book
is a plain state machine — no I/O, no awaits — that a test replays from a recording and checks effect by
effect.

Clocks: durations between two Asterisk events use Asterisk's own stamps (the events' ``Timestamp``);
deadlines use the service's clock. Skew between the two hosts can then neither shorten a call's measured
talk time nor close a call early.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dialer import metrics
from dialer.engine.agents import AgentPool
from dialer.engine.attempts import Finish
from dialer.engine.notifier import Notifier
from dialer.engine.outcomes import LIVE, Outcome, classify
from dialer.engine.runtime import CampaignRuntime
from dialer.engine.store import Placed
from dialer.engine.tracker import CallTracker, Change, TrackedCall
from dialer.pacing import Abandoned, CallEnded, Pacer

INBOUND_WRAPUP = 15.0  # seconds after an operator call (inbound calls belong to no campaign)
LOST_AFTER = 30.0  # seconds past the ring timeout with no word from Asterisk: the call is lost


@dataclass
class LiveCall:
    placed: Placed
    camp_id: int
    tracked: TrackedCall
    sent_at: float  # service clock: base of this call's deadlines
    ring_timeout: int
    answered_loop: float | None = None  # loop clock, for the 2-second routing deadline
    inbound: bool = False
    agent: str | None = None
    observed_answer: bool = False
    amd: bool = False
    abandon_observed: bool = False
    sent: bool = True  # False between the attempt's commit and its Originate leaving the process
    acked: bool = True  # False until Asterisk acknowledged the Originate
    blind: bool = False  # the AMI link was lost while the call was in flight: events may be missing


@dataclass
class CampaignLive:
    answered: int = 0
    abandoned: int = 0
    day: str = ""
    dial_level: float = 0.0
    reason: str = ""
    launched: int = 0
    last_window_open: bool | None = None


@dataclass(frozen=True)
class MarkBridged:
    """The attempt is connected to ``agent`` (the agent page may save a disposition during the call)."""

    attempt_id: int
    agent: str
    at: datetime | None


@dataclass(frozen=True)
class SaveFinish:
    """The attempt's outcome, to be committed before the call is forgotten for good. ``verify``: the engine
    may not have seen everything (the link was lost while the call was up, or Asterisk never acknowledged
    the Originate), so Asterisk's own record is consulted before writing (see outbox.py)."""

    finish: Finish
    camp_id: int
    key: str = ""
    verify: bool = False
    acked: bool = True


Effect = MarkBridged | SaveFinish


def _ts(v: float | None) -> datetime | None:
    return datetime.fromtimestamp(v, UTC) if v else None


@dataclass
class CallBook:
    pool: AgentPool
    tracker: CallTracker
    notifier: Notifier
    campaigns: dict[int, CampaignRuntime]
    pacer_for: Callable[[int], Pacer | None]
    clock: Callable[[], datetime]
    calls: dict[str, LiveCall] = field(default_factory=dict)
    live: dict[int, CampaignLive] = field(default_factory=dict)
    outbox: list[Effect] = field(default_factory=list)
    # agent -> (campaign, attempt, Asterisk stamp of the bridge): whose wrap-up and talk time apply when the
    # agent's leg ends, even if the customer hung up first and the call is gone from ``calls``
    talks: dict[str, tuple[int | None, int | None, float]] = field(default_factory=dict)

    # ---- calls in --------------------------------------------------------------------------------------
    def register(self, lc: LiveCall) -> None:
        """Before the Originate is sent (and before any await): reconciliation then sees it as ours."""
        self.calls[lc.placed.key] = lc
        metrics.CALLS_IN_FLIGHT.set(len(self.calls))

    def forget_unsent(self, key: str, wall: float) -> None:
        self.calls.pop(key, None)
        self.tracker.forget(key)
        self.pool.release_call(key, wall)
        metrics.CALLS_IN_FLIGHT.set(len(self.calls))

    def feed(self, ev: Mapping[str, Any], wall: float) -> None:
        """One AMI event."""
        if ev.get("Event") == "DeviceStateChange":
            dev = str(ev.get("Device", ""))
            if dev.startswith("PJSIP/"):
                self.pool.device_state(dev[6:], str(ev.get("State", "")), wall)
            return
        for ch in self.tracker.feed(ev, wall):
            self.apply(ch, wall)

    # ---- changes -------------------------------------------------------------------------------------
    def apply(self, ch: Change, wall: float) -> None:
        if ch.kind == "agent_leg_ended":
            self._agent_leg_ended(ch.agent or "", ch.at, wall)
            return
        lc = self.calls.get(ch.key)
        if lc is None:
            return
        if ch.kind == "answered":
            if not lc.amd:  # with AMD the verdict comes from the answered route
                self.observe_answer(lc, "live", ch.at)
        elif ch.kind == "agent_ringing" and ch.agent:
            self.pool.phone_ringing(ch.agent, ch.key, wall)
        elif ch.kind == "agent_connected" and ch.agent:
            self._connected(lc, ch.agent, ch.at, wall)
        elif ch.kind == "agent_failed" and ch.agent:
            if ch.detail in ("NOANSWER", "CHANUNAVAIL", "CONGESTION", "BUSY"):
                self.pool.failed(ch.agent, wall, f"softphone did not answer ({ch.detail})")
            else:
                self.pool.release(ch.agent, wall, ch.key)
        elif ch.kind == "finished":
            self.finish(ch.key, wall)

    def _connected(self, lc: LiveCall, agent: str, at: float, wall: float) -> None:
        lc.agent = agent
        self.pool.connected(agent, lc.placed.key, wall)
        camp_id = None if lc.inbound else lc.camp_id
        attempt = None if lc.inbound else lc.placed.attempt_id
        self.talks[agent] = (camp_id, attempt, at)
        camp = self.campaigns.get(lc.camp_id)
        self.notifier.call_bridged(
            agent=agent,
            attempt_id=attempt,
            campaign=camp.name if camp else None,
            contact_id=None if lc.inbound else lc.placed.contact_id,
            phone=lc.placed.phone,
            application=lc.placed.application,
            inbound=lc.inbound,
        )
        if attempt is not None:
            self.outbox.append(MarkBridged(attempt, agent, _ts(at)))

    def _agent_leg_ended(self, agent: str, at: float, wall: float) -> None:
        """The agent's leg hung up: wrap-up by the campaign's rule whoever hung up first."""
        talk = self.talks.pop(agent, None)
        if talk is None:  # rang but never talked (a failed or cancelled try): no wrap-up
            self.pool.leg_ended(agent, wall, 0.0)
            return
        camp_id, attempt, bridged = talk
        camp = self.campaigns.get(camp_id) if camp_id is not None else None
        wrap = float(camp.wrapup_seconds) if camp else INBOUND_WRAPUP
        self.pool.leg_ended(agent, wall, wrap, call=(camp_id, attempt, max(0.0, at - bridged)))

    def connected_unseen(self, lc: LiveCall, agent: str, agent_uid: str, wall: float) -> None:
        """Reconciliation found the call bridged to ``agent``: the bridge happened while the link was down."""
        self.tracker.adopt_agent_leg(lc.placed.key, agent, agent_uid)
        lc.tracked.facts.agent_connected = True
        lc.tracked.bridged_at = lc.tracked.bridged_at or wall
        self._connected(lc, agent, lc.tracked.bridged_at, wall)

    def apply_leg_vanished(self, agent: str, ended: float, wall: float) -> None:
        """The agent's leg ended (at ``ended``, Asterisk's record) while the service could not see it."""
        self._agent_leg_ended(agent, ended, wall)

    def observe_answer(self, lc: LiveCall, outcome: str, at: float | None) -> None:
        """The ringing phase ended: the pacer learns the answer (or not) and the ring time, once."""
        if lc.observed_answer or lc.inbound:
            return
        lc.observed_answer = True
        pacer = self.pacer_for(lc.camp_id)
        if pacer is None:
            return
        start = lc.tracked.ringing_at
        ring = (at - start) if (at is not None and start is not None) else None
        pacer.observe(CallEnded(max(0.0, ring if ring is not None else 0.0), outcome))  # type: ignore[arg-type]

    def routing_gave_up(self, lc: LiveCall) -> None:
        """No agent within the 2 seconds: the pacer learns of the abandon now, as the simulator tells it,
        not when the message has been played and the call ends."""
        if lc.abandon_observed or lc.inbound:
            return
        lc.abandon_observed = True
        pacer = self.pacer_for(lc.camp_id)
        if pacer is not None:
            pacer.observe(Abandoned())

    # ---- the end of a call -----------------------------------------------------------------------------
    def finish(self, key: str, wall: float) -> None:
        lc = self.calls.pop(key, None)
        if lc is None:
            return
        t = lc.tracked
        t.finished = True
        self.tracker.forget(key)
        self.pool.release_call(key, wall)  # an agent claimed for it but never connected is free again
        metrics.CALLS_IN_FLIGHT.set(len(self.calls))
        if lc.inbound:
            return
        outcome = classify(t.facts)
        camp = self.campaigns.get(lc.camp_id)
        live = self.live.setdefault(lc.camp_id, CampaignLive())
        if outcome in LIVE:
            live.answered += 1
            live.abandoned += outcome is Outcome.ABANDONED
        pacing_outcome = {"machine": "machine", "busy": "busy", "noanswer": "noanswer", "invalid": "invalid"}
        if outcome in LIVE:
            self.observe_answer(lc, "live", t.answered_at)
        else:
            self.observe_answer(lc, pacing_outcome.get(outcome.value, "failed"), t.hungup_at)
        if outcome is Outcome.ABANDONED:
            self.routing_gave_up(lc)  # once: usually already told when the 2 seconds ran out
        ring_end = t.answered_at or t.hungup_at
        f = Finish(
            attempt_id=lc.placed.attempt_id,
            outcome=outcome,
            facts=t.facts,
            ended_at=_ts(t.hungup_at) or self.clock(),
            answered_at=_ts(t.answered_at),
            bridged_at=_ts(t.bridged_at),
            agent_ext=lc.agent,
            ring_seconds=_span(t.ringing_at, ring_end),
            wait_seconds=_span(t.answered_at, t.bridged_at or t.hungup_at),
            talk_seconds=_span(t.bridged_at, t.hungup_at),
            decided_at=self.clock(),
        )
        self.outbox.append(SaveFinish(f, lc.camp_id, lc.placed.key, lc.blind or not lc.acked, lc.acked))
        name = camp.name if camp else "?"
        metrics.CALLS.labels(name, outcome.value).inc()
        if live.answered:
            metrics.ABANDON_RATE.labels(name).set(live.abandoned / live.answered)
        self.notifier.call_ended(
            agent=lc.agent, attempt_id=lc.placed.attempt_id, campaign=name, outcome=outcome.value
        )

    def expire(self, wall: float) -> None:
        """Calls whose other half never came, and calls Asterisk never said a word about (ack or events
        lost), are finished by the service's clock."""
        for ch in self.tracker.expire(wall):
            self.finish(ch.key, wall)
        for key, lc in list(self.calls.items()):
            t = lc.tracked
            if lc.inbound or t.finished or t.facts.answered or t.hungup_at is not None:
                continue
            deadline = lc.ring_timeout + LOST_AFTER
            if t.ringing_at is not None:
                deadline *= 2  # Asterisk has the call (its channel was seen): its own events should end it
            if wall - lc.sent_at > deadline:
                self.finish(key, wall)

    def take_effects(self) -> list[Effect]:
        out, self.outbox = self.outbox, []
        return out


def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end - start)
