"""Outcome classification and retry rules: pure, no Asterisk needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.campaigns.schemas import DEFAULT_RETRY_DELAYS
from dialer.engine.outcomes import CallFacts, Outcome, classify, next_step


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CallFacts(originate_reason=4, answered=True, agent_connected=True), Outcome.CONNECTED),
        (CallFacts(originate_reason=4, answered=True), Outcome.ABANDONED),
        (CallFacts(originate_reason=4, answered=True), Outcome.ABANDONED),  # hung up before an agent came
        (CallFacts(originate_reason=4, answered=True, amd_status="MACHINE"), Outcome.MACHINE),
        # PJSIP: Originate says Reason 0 for all of these; the Hangup cause and SIP code decide
        (CallFacts(originate_reason=0, hangup_cause=17, tech_cause=486), Outcome.BUSY),
        (CallFacts(originate_reason=0, hangup_cause=21, tech_cause=603), Outcome.BUSY),
        (CallFacts(originate_reason=0, hangup_cause=34, tech_cause=503), Outcome.CONGESTION),
        (CallFacts(originate_reason=0, hangup_cause=1, tech_cause=404), Outcome.INVALID),
        (CallFacts(originate_reason=0, hangup_cause=28), Outcome.INVALID),
        (CallFacts(originate_reason=3), Outcome.NOANSWER),
        (CallFacts(originate_reason=0, hangup_cause=19, tech_cause=480), Outcome.NOANSWER),
        (CallFacts(originate_reason=5), Outcome.BUSY),
        (CallFacts(originate_reason=8), Outcome.CONGESTION),
        (CallFacts(originate_reason=0), Outcome.FAILED),
        (CallFacts(), Outcome.FAILED),  # lost track of it entirely
    ],
)
def test_classify(facts: CallFacts, expected: Outcome) -> None:
    assert classify(facts) is expected


NOW = datetime(2027, 3, 3, 12, tzinfo=UTC)


def test_retry_rules() -> None:
    d = dict(DEFAULT_RETRY_DELAYS)
    assert next_step(Outcome.CONNECTED, 1, 3, d, NOW).state == "done"
    assert next_step(Outcome.INVALID, 1, 3, d, NOW).state == "invalid"  # never retried, even with tries left
    busy = next_step(Outcome.BUSY, 1, 3, d, NOW)
    assert busy.state == "pending" and busy.next_attempt_at == NOW + timedelta(seconds=d["busy"])
    aband = next_step(Outcome.ABANDONED, 1, 3, d, NOW)
    assert aband.needs_reserved_agent and aband.priority < busy.priority
    assert next_step(Outcome.NOANSWER, 3, 3, d, NOW).state == "exhausted"


@given(
    outcome=st.sampled_from(list(Outcome)),
    attempts=st.integers(1, 20),
    max_attempts=st.integers(1, 20),
    delays=st.fixed_dictionaries({k: st.integers(60, 10**6) for k in DEFAULT_RETRY_DELAYS}),
)
def test_never_scheduled_over_the_limit_or_in_the_past(
    outcome: Outcome, attempts: int, max_attempts: int, delays: dict[str, int]
) -> None:
    step = next_step(outcome, attempts, max_attempts, delays, NOW)
    if step.state == "pending":
        assert attempts < max_attempts
        assert step.next_attempt_at is not None and step.next_attempt_at >= NOW + timedelta(seconds=60)
        assert outcome not in (Outcome.CONNECTED, Outcome.INVALID)
    if outcome is Outcome.INVALID:
        assert step.state == "invalid"
