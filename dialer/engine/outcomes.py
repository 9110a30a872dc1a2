"""What happened to a call, and what to do with the contact next. Pure: facts in, decisions out.

Over PJSIP, busy, congestion and unallocated numbers all come back from Originate as Reason 0; only the
Hangup cause (and since Asterisk 22.7 its SIP TechCause) tells them apart, so both are weighed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    CONNECTED = "connected"  # a person answered and an agent took the call
    ABANDONED = "abandoned"  # a person answered and no agent was connected in time
    MACHINE = "machine"  # answering machine (AMD)
    BUSY = "busy"
    NOANSWER = "noanswer"
    CONGESTION = "congestion"
    INVALID = "invalid"  # the number does not exist: never retried
    FAILED = "failed"  # anything else, including a call the dialer lost track of


LIVE = frozenset({Outcome.CONNECTED, Outcome.ABANDONED})

# Q.850 causes
BUSY_CAUSES = {17, 21}  # user busy, call rejected
NOANSWER_CAUSES = {18, 19, 20}  # no user responding, no answer, subscriber absent
INVALID_CAUSES = {1, 2, 3, 22, 28}  # unallocated, no route, number changed, invalid format
CONGESTION_CAUSES = {34, 38, 41, 42, 44, 47, 27}
BUSY_SIP = {486, 600, 603}
INVALID_SIP = {404, 410, 484, 604}
NOANSWER_SIP = {408, 480}
CONGESTION_SIP = {500, 502, 503, 504}

REASON_NOANSWER = 3
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8


@dataclass
class CallFacts:
    """What call tracking learnt about one attempt."""

    originate_reason: int | None = None
    hangup_cause: int | None = None
    tech_cause: int | None = None
    answered: bool = False
    agent_connected: bool = False
    amd_status: str | None = None


def classify(f: CallFacts) -> Outcome:
    if f.agent_connected:
        return Outcome.CONNECTED
    if f.answered or f.originate_reason == REASON_ANSWERED:
        if (f.amd_status or "").upper() == "MACHINE":
            return Outcome.MACHINE
        return Outcome.ABANDONED
    cause, sip = f.hangup_cause, f.tech_cause
    if sip in INVALID_SIP or cause in INVALID_CAUSES:
        return Outcome.INVALID
    if sip in BUSY_SIP or cause in BUSY_CAUSES or f.originate_reason == REASON_BUSY:
        return Outcome.BUSY
    if sip in CONGESTION_SIP or cause in CONGESTION_CAUSES or f.originate_reason == REASON_CONGESTION:
        return Outcome.CONGESTION
    if sip in NOANSWER_SIP or cause in NOANSWER_CAUSES or f.originate_reason == REASON_NOANSWER:
        return Outcome.NOANSWER
    return Outcome.FAILED


@dataclass(frozen=True)
class NextStep:
    state: str  # contact state: pending, done, exhausted, invalid
    next_attempt_at: datetime | None = None
    priority: int = 5
    needs_reserved_agent: bool = False


def next_step(
    outcome: Outcome, attempts: int, max_attempts: int, delays: dict[str, int], now: datetime
) -> NextStep:
    """Retry rules: each outcome has its own delay; an abandoned number is called back first and only
    with an agent reserved for it; an invalid number is never retried; nothing beyond the attempt limit."""
    if outcome is Outcome.CONNECTED:
        return NextStep("done")
    if outcome is Outcome.INVALID:
        return NextStep("invalid")
    if attempts >= max_attempts:
        return NextStep("exhausted")
    delay = int(delays.get(outcome.value, delays.get("failed", 900)))
    at = now + timedelta(seconds=delay)
    if outcome is Outcome.ABANDONED:
        return NextStep("pending", at, priority=1, needs_reserved_agent=True)
    return NextStep("pending", at)
