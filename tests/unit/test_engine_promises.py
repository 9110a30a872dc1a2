"""The engine's promises at the level of its pure parts (the sandbox tests show them end to end):
the abandon cap holds in every mode from the first call of the day, no agent stays claimed for a call that
never reaches it, clock skew can't close a call early, a campaign keeps the service's holidays, and what
Asterisk recorded decides the fate of a call that ended while the service was away."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.callrecords.fate import CdrRow, fate
from dialer.engine.agents import AGENT_RING, CLAIM_MARGIN, AgentPool
from dialer.engine.outcomes import Outcome
from dialer.engine.runtime import campaign_holidays
from dialer.engine.tracker import CallTracker
from dialer.pacing import (
    AgentView,
    CallView,
    PacingView,
    affordable_abandons,
    make_campaign_pacer,
)


def _view(ready: int, calls: int, answered: int, abandoned: int) -> PacingView:
    return PacingView(
        now=1000.0,
        agents=[AgentView(f"a{i}", "ready", 0.0) for i in range(ready)],
        calls=[CallView(f"c{i}", 990.0, False) for i in range(calls)],
        answered_today=answered,
        abandoned_today=abandoned,
        seconds_left_in_day=3600.0,
        max_lines=100,
    )


@pytest.mark.parametrize("mode,params", [("ratio", {"ratio": 5.0}), ("predictive", {})])
def test_the_first_calls_of_the_day_are_progressive_in_every_mode(
    mode: str, params: dict[str, float]
) -> None:
    """Ratio 5 with one agent placed 40 calls and abandoned 32 of them; now a day with no answered call
    yet can't afford one abandon, so no mode places more calls than agents ready."""
    pacer = make_campaign_pacer(mode, params, 0.03)
    assert pacer.decide(_view(ready=1, calls=0, answered=0, abandoned=0)).launch <= 1
    assert pacer.decide(_view(ready=1, calls=1, answered=0, abandoned=0)).launch == 0
    assert pacer.decide(_view(ready=3, calls=0, answered=32, abandoned=0)).launch <= 3


def test_a_day_at_its_cap_gets_no_call_at_risk() -> None:
    pacer = make_campaign_pacer("ratio", {"ratio": 3.0}, 0.03)
    # 100 answered, 3 abandoned: exactly 3%, nothing more to spend
    assert pacer.decide(_view(ready=2, calls=0, answered=100, abandoned=3)).launch == 2
    # 4.9% already: still only one call per ready agent
    assert pacer.decide(_view(ready=2, calls=1, answered=100, abandoned=5)).launch == 1
    # a good day affords a few calls at risk, and the ratio pacer may use them
    d = pacer.decide(_view(ready=2, calls=0, answered=300, abandoned=0))
    assert d.launch == 6 and "ratio" in d.reason


@given(
    answered=st.integers(0, 5000),
    abandoned_share=st.floats(0, 0.1),
    cap=st.sampled_from([0.01, 0.03, 0.05]),
)
def test_affordable_abandons_never_take_the_day_over_its_cap(
    answered: int, abandoned_share: float, cap: float
) -> None:
    abandoned = min(answered, int(answered * abandoned_share))
    k = affordable_abandons(answered, abandoned, cap)
    if k:
        assert (abandoned + k) <= cap * (answered + k) + 1e-9
    # and it is the largest such number
    assert (abandoned + k + 1) > cap * (answered + k + 1) - 1e-9


def _pool() -> AgentPool:
    p = AgentPool()
    p.sync([(1, "101", "A", "ready", None, frozenset())], 100.0)
    p.device_state("101", "NOT_INUSE", 100.0)
    return p


def test_a_claim_that_never_rings_the_agent_is_given_back() -> None:
    """The caller hangs up (or the FastAGI peer goes away) between the claim and the dialplan's Dial."""
    p = _pool()
    a = p.try_claim(None, "k", 101.0)
    assert a is not None and a.state == "ringing"
    p.ringing("101", "k", None, 101.0, inbound=True)
    p.tick(101.0 + CLAIM_MARGIN - 0.1)
    assert p.agents["101"].state == "ringing"
    p.tick(101.0 + CLAIM_MARGIN + 0.1)
    assert p.agents["101"].state == "ready" and p.agents["101"].free


def test_a_ringing_phone_keeps_the_claim_for_the_ring_time_then_it_is_released() -> None:
    p = _pool()
    p.ringing("101", "k", 1, 101.0)
    p.phone_ringing("101", "k", 102.0)
    p.tick(102.0 + AGENT_RING)
    assert p.agents["101"].state == "ringing"
    p.tick(102.0 + AGENT_RING + CLAIM_MARGIN + 0.1)
    assert p.agents["101"].state == "ready"


def test_the_end_of_a_call_frees_an_agent_only_claimed_for_it() -> None:
    p = _pool()
    p.ringing("101", "k", 1, 101.0)
    p.release_call("other", 102.0)
    assert p.agents["101"].state == "ringing"
    p.release_call("k", 102.0)
    assert p.agents["101"].state == "ready"


def test_an_agent_held_for_a_callback_cannot_be_claimed_by_an_answered_call() -> None:
    p = _pool()
    p.reserve("101", "hold-7")
    assert p.try_claim(1, "answered-call", 101.0) is None
    p.rekey("hold-7", "dlr-x")
    assert p.try_claim(1, "dlr-x", 101.0, prefer="101") is not None


def test_wrapup_is_measured_and_reported_for_the_pacer() -> None:
    p = _pool()
    p.ringing("101", "k", 5, 100.0)
    p.connected("101", "k", 101.0)
    p.leg_ended("101", 131.0, 20.0, call=(5, 42, 30.0))
    p.end_wrapup("101", 139.0)
    assert [(w.campaign_id, w.attempt_id, w.talk_seconds, w.wrapup_seconds) for w in p.finished] == [
        (5, 42, 30.0, 8.0)
    ]


def test_an_asterisk_clock_behind_ours_does_not_close_a_busy_call_early() -> None:
    """The Hangup carries Asterisk's stamp (100 s behind us); the OriginateResponse with the busy Reason
    comes a moment later. The call must wait for it, by our own clock."""
    t = CallTracker()
    t.expect("dlr-1", 1000.0)
    t.feed({"Event": "Hangup", "Uniqueid": "dlr-1", "Cause": "17", "Timestamp": "900.0"}, 1000.0)
    assert t.expire(1001.0) == []
    changes = t.feed(
        {"Event": "OriginateResponse", "ActionID": "dlr-1", "Reason": "5", "Timestamp": "901.0"}, 1001.5
    )
    assert [c.kind for c in changes] == ["finished"]


def test_a_campaign_with_its_own_hours_keeps_the_service_holidays_unless_it_says_otherwise() -> None:
    service = {"hours": {}, "holidays": ["2027-01-01", "2027-01-07"]}
    own = {"hours": {"mon": "10:00-18:00"}, "holidays": ["2027-03-08"]}
    assert campaign_holidays(own, service) == ["2027-01-01", "2027-01-07", "2027-03-08"]
    assert campaign_holidays({**own, "service_holidays": False}, service) == ["2027-03-08"]


def _row(**kw: object) -> CdrRow:
    base: dict[str, object] = {
        "uniqueid": "dlr-a",
        "linkedid": "dlr-a",
        "channel": "PJSIP/carrier-00000001",
        "dstchannel": "",
        "lastapp": "AppDial2",
        "disposition": "NO ANSWER",
        "start": datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC),
        "answer": None,
        "end": datetime(2026, 11, 30, 10, 0, 30, tzinfo=UTC),
        "billsec": 0,
        "userfield": "",
    }
    base.update(kw)
    return CdrRow(**base)  # type: ignore[arg-type]


def test_asterisks_record_tells_what_happened_to_a_call() -> None:
    """Rows as the sandbox's Asterisk 22 writes them (cdr_sqlite3_custom)."""
    answered = datetime(2026, 11, 30, 10, 0, 2, tzinfo=UTC)
    # an agent's phone that did not answer, then another agent took the call
    talked = fate(
        "dlr-a",
        [
            _row(dstchannel="PJSIP/101-0000000a", lastapp="Dial", disposition="NO ANSWER", answer=answered),
            _row(
                dstchannel="PJSIP/102-0000000b",
                lastapp="Dial",
                disposition="ANSWERED",
                answer=answered,
                billsec=25,
            ),
        ],
    )
    assert talked is not None and talked.outcome is Outcome.CONNECTED and talked.agent == "102"
    assert talked.talk_seconds == 25.0
    abandoned = fate(
        "dlr-a", [_row(lastapp="Hangup", disposition="ANSWERED", answer=answered, userfield="abandon")]
    )
    assert abandoned is not None and abandoned.outcome is Outcome.ABANDONED
    machine = fate(
        "dlr-a", [_row(lastapp="Hangup", disposition="ANSWERED", answer=answered, userfield="machine")]
    )
    assert machine is not None and machine.outcome is Outcome.MACHINE
    for disposition, outcome in [
        ("BUSY", Outcome.BUSY),
        ("CONGESTION", Outcome.CONGESTION),
        ("NO ANSWER", Outcome.NOANSWER),
        ("FAILED", Outcome.FAILED),
    ]:
        f = fate("dlr-a", [_row(disposition=disposition)])
        assert f is not None and f.outcome is outcome
    assert fate("dlr-a", [_row(uniqueid="dlr-b", linkedid="dlr-b")]) is None


def test_cdr_times_are_read_in_the_pbxs_zone() -> None:
    """cdr_sqlite3_custom writes ``YYYY-MM-DD HH:MM:SS`` in the PBX's local time; an unanswered call's answer
    is empty."""
    from zoneinfo import ZoneInfo

    from dialer.callrecords.fate import parse_stamp

    moscow = ZoneInfo("Europe/Moscow")
    assert parse_stamp("2026-11-30 12:00:05", moscow) == datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)
    assert parse_stamp("2026-11-30 12:00:05") == datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)
    assert parse_stamp("") is None and parse_stamp(None) is None
