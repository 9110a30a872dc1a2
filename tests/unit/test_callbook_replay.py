"""The call book replayed from recordings of the real sandbox, one scenario each (tests/recordings/*.jsonl,
made by tests/recordings/record.py; replayed by tests/unit/replay.py).

Every expectation here is written by hand from the sandbox's numbering table (README, and the carrier's
dialplan in asterisk_conf/sandbox/carrier/extensions.conf): the last digit of the number called decides —
1 answers after 2 s and talks 8 s (a 0.6 s "hello?" then 8 s), 2 answers after 2 s and talks 30 s, 7
answers after 6 s and hangs up 1 s later, 8 is an answering machine answering after 2 s — and from what the
recorder did (who was logged in, each campaign's wrap-up, when it hung up an agent or cut the AMI link). The
replay may lose a few tenths of a second to the engine's half-second tick, hence the tolerances.
"""

from __future__ import annotations

from typing import Any

import pytest

from dialer.engine.callbook import INBOUND_WRAPUP, MarkBridged, SaveFinish
from dialer.pacing import Abandoned, AgentCallFinished, CallEnded
from tests.unit.replay import Replay, replay

TIMING = 1.0  # seconds: ring and talk times as measured from the recorded Asterisk stamps
TICK = 0.6  # seconds: a wrap-up ends at the engine's first tick after it is due


def saved(r: Replay) -> dict[str, Any]:
    """Last digit of the number -> the outcome the book asked to write."""
    out = {}
    for e in r.effects:
        if isinstance(e, SaveFinish):
            out[r.phone_of(e.finish.attempt_id)[-1]] = e.finish
    return out


def kinds(r: Replay) -> list[str]:
    return [type(e).__name__ for e in r.effects]


def events(r: Replay) -> list[tuple[Any, ...]]:
    """The notifications as (type, agent, outcome or inbound)."""
    out: list[tuple[Any, ...]] = []
    for n in r.notifications:
        if n["type"] == "call.bridged":
            out.append(("call.bridged", n["agent"], "inbound" if n["inbound"] else n["campaign"]))
        elif n["type"] == "call.ended":
            out.append(("call.ended", n["agent"], n["outcome"]))
        else:
            out.append((n["type"],))
    return out


def routes_agree(r: Replay) -> None:
    """Each replayed route decided what the live one decided (same agent, same action)."""
    for route, replayed, live in r.routes:
        assert replayed == live, (route, replayed, live)


def live(ring: float) -> CallEnded:
    return CallEnded(pytest.approx(ring, abs=TIMING), "live")  # type: ignore[arg-type]


def finished(talk: float, wrap: float) -> AgentCallFinished:
    return AgentCallFinished(
        pytest.approx(talk, abs=TIMING),  # type: ignore[arg-type]
        pytest.approx(wrap, abs=TICK),  # type: ignore[arg-type]
    )


def test_customer_hangs_up_first_and_the_agent_gets_the_campaigns_wrapup() -> None:
    r = replay("customer_hangs_up_first")  # 101 alone; the number ends in 1; campaign wrap-up 7 s
    routes_agree(r)
    assert kinds(r) == ["MarkBridged", "SaveFinish"]
    bridged = r.effects[0]
    assert isinstance(bridged, MarkBridged) and bridged.agent == "101"
    f = saved(r)["1"]
    assert f.outcome.value == "connected" and f.agent_ext == "101"
    assert f.ring_seconds == pytest.approx(2, abs=TIMING)
    assert f.talk_seconds == pytest.approx(8.6, abs=TIMING)
    assert events(r) == [("call.bridged", "101", "rec-cust"), ("call.ended", "101", "connected")]
    assert r.state_names("101") == ["ready", "ringing", "talking", "wrapup", "ready"]
    # the customer hung up first: the campaign's 7 s, not the inbound 15 s
    assert r.seconds_in("101", "wrapup") == [pytest.approx(7, abs=TICK)]
    assert r.observed["rec-cust"] == [live(2), finished(8.6, 7)]


def test_agent_hangs_up_first_after_four_seconds() -> None:
    r = replay("agent_hangs_up_first")  # the number ends in 2 (30 s), the agent hangs up ~4 s in; wrap-up 6 s
    routes_agree(r)
    assert kinds(r) == ["MarkBridged", "SaveFinish"]
    f = saved(r)["2"]
    assert f.outcome.value == "connected" and f.agent_ext == "101"
    assert f.talk_seconds is not None and 3.0 < f.talk_seconds < 6.0  # far from the customer's 30 s
    assert events(r) == [("call.bridged", "101", "rec-agent"), ("call.ended", "101", "connected")]
    assert r.state_names("101") == ["ready", "ringing", "talking", "wrapup", "ready"]
    assert r.seconds_in("101", "wrapup") == [pytest.approx(6, abs=TICK)]
    obs = r.observed["rec-agent"]
    assert obs[0] == live(2) and len(obs) == 2
    assert isinstance(obs[1], AgentCallFinished)
    assert obs[1].talk_seconds == pytest.approx(f.talk_seconds, abs=0.01)
    assert obs[1].wrapup_seconds == pytest.approx(6, abs=TICK)


def test_a_customer_who_hangs_up_while_the_agent_is_rung_is_abandoned_and_the_agent_is_free() -> None:
    r = replay("hangup_during_routing")  # 104 rings, never answers; the 7 hangs up 1.6 s after answering
    routes_agree(r)
    assert [live for _, _, live in r.routes] == [[["AGENT_EXTEN", "104"], ["DIALER_ACTION", "connect"]]]
    assert kinds(r) == ["SaveFinish"]
    f = saved(r)["7"]
    assert f.outcome.value == "abandoned" and f.agent_ext is None and f.bridged_at is None
    assert f.ring_seconds == pytest.approx(6, abs=TIMING)
    assert events(r) == [("call.ended", None, "abandoned")]
    # rung, then free again at once: the softphone did not fail, the caller left
    assert r.state_names("104") == ["ready", "ringing", "ready"]
    assert r.pool.agents["104"].presence == "ready"
    assert r.observed["rec-routing"] == [live(6), Abandoned()]


def test_a_softphone_that_does_not_answer_is_paused_and_the_call_abandoned() -> None:
    r = replay("softphone_no_answer")  # 104 alone, rings 10 s unanswered; the number ends in 2
    routes_agree(r)
    live_routes = [live for _, _, live in r.routes]
    assert live_routes == [
        [["AGENT_EXTEN", "104"], ["DIALER_ACTION", "connect"]],
        # routed again after the phone rang out: nobody else, and this was the contact's only attempt
        [["DIALER_CALLBACK", "0"], ["DIALER_ACTION", "abandon"]],
    ]
    assert kinds(r) == ["SaveFinish"]
    f = saved(r)["2"]
    assert f.outcome.value == "abandoned" and f.agent_ext is None
    assert events(r) == [("call.ended", None, "abandoned")]
    assert r.state_names("104") == ["ready", "ringing", "paused"]
    a = r.pool.agents["104"]
    assert a.presence == "paused" and a.pause_reason == "softphone did not answer (NOANSWER)"
    assert r.observed["rec-deaf"] == [live(2), Abandoned()]


def test_an_answering_machine_gets_the_message_and_never_an_agent() -> None:
    r = replay("amd_machine")  # campaign with AMD; the number ends in 8; 101 ready
    routes_agree(r)
    assert [live for _, _, live in r.routes] == [[["DIALER_ACTION", "machine"]]]
    assert kinds(r) == ["SaveFinish"]
    f = saved(r)["8"]
    assert f.outcome.value == "machine" and f.agent_ext is None
    assert f.facts.amd_status == "MACHINE"
    assert events(r) == [("call.ended", None, "machine")]
    assert r.state_names("101") == ["ready"]
    # the pacer hears of the machine once AMD has decided, never of a live answer; for it the ringing phase
    # ends at the verdict: after the answer (2 s), while the 4 s greeting plays
    (obs,) = r.observed["rec-amd"]
    assert isinstance(obs, CallEnded) and obs.outcome == "machine"
    assert 2.0 < obs.ring_seconds < 6.0 + TIMING


def test_with_the_only_agent_talking_the_second_answer_is_abandoned() -> None:
    # ratio 2 with 101 alone: the 1 answers at 2 s and gets 101; the 7 answers at 6 s while 101 talks
    r = replay("no_agent_abandon")
    routes_agree(r)
    decisions = sorted(str(live) for _, _, live in r.routes)
    assert decisions == sorted(
        [
            str([["AGENT_EXTEN", "101"], ["DIALER_ACTION", "connect"]]),
            str([["DIALER_CALLBACK", "0"], ["DIALER_ACTION", "abandon"]]),
        ]
    )
    # the 7 hangs up during the message (1.6 s after answering), before the 1's conversation ends
    assert kinds(r) == ["MarkBridged", "SaveFinish", "SaveFinish"]
    s = saved(r)
    assert s["1"].outcome.value == "connected" and s["1"].agent_ext == "101"
    assert s["7"].outcome.value == "abandoned" and s["7"].agent_ext is None
    assert events(r) == [
        ("call.bridged", "101", "rec-noagent"),
        ("call.ended", None, "abandoned"),
        ("call.ended", "101", "connected"),
    ]
    assert r.state_names("101") == ["ready", "ringing", "talking", "wrapup", "ready"]
    assert r.observed["rec-noagent"] == [live(2), live(6), Abandoned(), finished(8.6, 5)]


def test_a_call_that_ends_while_the_link_is_down_is_closed_as_connected_from_asterisks_record() -> None:
    # the link is cut while 101 talks to the 1, and is back only after the call is over
    r = replay("link_drop_mid_call")
    routes_agree(r)
    assert kinds(r) == ["MarkBridged", "SaveFinish"]
    f = saved(r)["1"]
    assert f.outcome.value == "connected" and f.agent_ext == "101"
    assert events(r) == [("call.bridged", "101", "rec-link"), ("call.ended", "101", "connected")]
    # the agent's leg vanished with the link: wrap-up as if its hang-up had been seen at reconciliation
    assert r.state_names("101") == ["ready", "ringing", "talking", "wrapup", "ready"]
    assert r.seconds_in("101", "wrapup") == [pytest.approx(5, abs=TICK)]
    obs = r.observed["rec-link"]
    assert obs[0] == live(2) and len(obs) == 2 and isinstance(obs[1], AgentCallFinished)
    assert obs[1].wrapup_seconds == pytest.approx(5, abs=TICK)


def test_a_call_that_ends_while_the_link_is_down_keeps_its_real_talk_time() -> None:
    r = replay("link_drop_mid_call")
    f = saved(r)["1"]
    assert f.talk_seconds == pytest.approx(8.6, abs=TIMING)  # Asterisk's record, not the outage
    obs = r.observed["rec-link"]
    assert obs[1].talk_seconds == pytest.approx(8.6, abs=TIMING)  # type: ignore[union-attr]


APPLICATION = {"number": "5050000001", "applicant_name": "Петров Пётр Петрович", "status": "issued"}


def test_a_505_caller_passed_to_an_operator_reaches_the_agent_with_a_screen_pop() -> None:
    r = replay("inbound_operator", {"5050000001": APPLICATION})
    routes_agree(r)
    assert [(route, live) for route, _, live in r.routes] == [("inbound", [["AGENT_EXTEN", "101"]])]
    # an inbound call belongs to no campaign: nothing to write, nothing for any pacer
    assert r.effects == []
    assert r.observed == {}
    assert events(r) == [("call.bridged", "101", "inbound")]
    pop = r.notifications[0]
    assert pop["attempt_id"] is None and pop["application"] == APPLICATION
    assert pop["phone"].endswith("79161230001")
    assert r.state_names("101") == ["ready", "ringing", "talking", "wrapup", "ready"]
    assert r.seconds_in("101", "wrapup") == [pytest.approx(INBOUND_WRAPUP, abs=TICK)]


def test_a_callback_goes_to_the_agent_it_was_promised_to() -> None:
    # 101 and 102 ready, 101 idle longer; the contact asked to be called back by 102
    r = replay("callback_reserved_agent")
    routes_agree(r)
    (placed,) = r.placed.values()
    assert placed.reserved_agent == "102"
    assert kinds(r) == ["MarkBridged", "SaveFinish"]
    f = saved(r)["1"]
    assert f.outcome.value == "connected" and f.agent_ext == "102"
    assert events(r) == [("call.bridged", "102", "rec-callback"), ("call.ended", "102", "connected")]
    assert r.state_names("102") == ["ready", "ringing", "talking", "wrapup", "ready"]
    assert r.state_names("101") == ["ready"]
    assert r.observed["rec-callback"] == [live(2), finished(8.6, 5)]
