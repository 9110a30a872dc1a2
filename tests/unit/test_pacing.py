"""Unit tests of the pure pacing module, with a fake clock (time is just a float we pass in)."""

from __future__ import annotations

import math

import pytest

from dialer.pacing import (
    Abandoned,
    AgentCallFinished,
    AgentView,
    CallEnded,
    CallView,
    PacingView,
    PredictivePacer,
    ProgressivePacer,
    RatioPacer,
    make_pacer,
)
from dialer.pacing.predictive import _exact_launch, _normal_launch
from dialer.pacing.types import AgentState

NOW = 1000.0


def agents(*specs: tuple[AgentState, float]) -> list[AgentView]:
    """Agents from (state, seconds in that state) pairs."""
    return [AgentView(f"a{i}", state, NOW - age) for i, (state, age) in enumerate(specs)]


def calls(ringing: int = 0, answered: int = 0, age: float = 3.0) -> list[CallView]:
    out = [CallView(f"c{i}", NOW - age, False) for i in range(ringing)]
    out += [CallView(f"w{i}", NOW - 1.0, True) for i in range(answered)]
    return out


def view(
    agent_list: list[AgentView],
    call_list: list[CallView] | None = None,
    *,
    answered: int = 500,
    abandoned: int = 0,
    left: float | None = 30000.0,
    max_lines: int = 1000,
    now: float = NOW,
) -> PacingView:
    return PacingView(now, agent_list, call_list or [], answered, abandoned, left, max_lines)


ALL_MODES = [("progressive", {}), ("ratio", {"ratio": 3.0}), ("predictive", {})]


def test_progressive_one_call_per_ready_agent_minus_calls_in_flight() -> None:
    pacer = ProgressivePacer()
    team = agents(("ready", 5), ("ready", 1), ("ready", 0), ("talking", 30), ("wrapup", 3))
    assert pacer.decide(view(team)).launch == 3
    assert pacer.decide(view(team, calls(ringing=1))).launch == 2
    assert pacer.decide(view(team, calls(ringing=2, answered=1))).launch == 0
    assert pacer.decide(view(team, calls(ringing=7))).launch == 0  # never negative


def test_ratio_calls_per_ready_agent_minus_calls_in_flight() -> None:
    pacer = RatioPacer(2.5)
    team = agents(("ready", 5), ("ready", 1), ("talking", 30))
    assert pacer.decide(view(team)).launch == 5
    assert pacer.decide(view(team, calls(ringing=3))).launch == 2
    assert pacer.decide(view(team, calls(ringing=9))).launch == 0
    with pytest.raises(ValueError):
        RatioPacer(0.0)


@pytest.mark.parametrize(("mode", "params"), ALL_MODES)
def test_max_lines_caps_calls_in_flight_plus_bridged(mode: str, params: dict[str, float]) -> None:
    pacer = make_pacer(mode, **params)
    team = agents(*[("ready", 10.0)] * 8, ("talking", 40), ("talking", 5))
    # 2 bridged + 3 ringing = 5 lines in use out of 6: at most one more call.
    decision = pacer.decide(view(team, calls(ringing=3), max_lines=6))
    assert 0 <= decision.launch <= 1
    assert pacer.decide(view(team, calls(ringing=4), max_lines=6)).launch == 0


@pytest.mark.parametrize(("mode", "params"), ALL_MODES)
def test_no_launch_without_active_agents(mode: str, params: dict[str, float]) -> None:
    pacer = make_pacer(mode, **params)
    assert pacer.decide(view([])).launch == 0
    assert pacer.decide(view(agents(("paused", 10), ("paused", 99)))).launch == 0


def test_make_pacer_rejects_unknown_modes_and_parameters() -> None:
    with pytest.raises(ValueError, match="unknown pacing mode"):
        make_pacer("turbo")
    with pytest.raises(TypeError):
        make_pacer("progressive", ratio=2.0)
    assert isinstance(make_pacer("ratio", ratio=1.5), RatioPacer)


def test_predictive_dials_ahead_for_agents_about_to_free_up() -> None:
    pacer = PredictivePacer()
    # Every agent is 14 s into a ~15 s wrap-up: progressive would not dial, predictive should.
    team = agents(*[("wrapup", 14.0)] * 10)
    decision = pacer.decide(view(team))
    assert ProgressivePacer().decide(view(team)).launch == 0
    assert decision.launch > 0
    assert decision.reason.startswith("predictive")
    # Agents who just started talking will not be free within a ring time: nothing to dial.
    busy = agents(*[("talking", 1.0)] * 10)
    assert pacer.decide(view(busy, now=NOW + 1)).launch == 0


def test_predictive_dials_progressively_at_the_start_of_a_day() -> None:
    pacer = PredictivePacer()
    team = agents(*[("ready", 1.0)] * 10)
    first = pacer.decide(view(team, answered=0))
    assert first.launch == 10
    assert first.reason.startswith("progressive")
    # Once today's first answers are in, it dials ahead of the ready agents.
    later = pacer.decide(view(team, answered=12, now=NOW + 60))
    assert later.launch > 10
    # Or after five minutes even if answers are scarce.
    slow = PredictivePacer()
    slow.decide(view(team, answered=0))
    assert slow.decide(view(team, answered=3, now=NOW + 301)).launch > 10


def test_hidden_abandons_from_answering_machine_detection_count_against_the_budget() -> None:
    team = agents(("ready", 4), ("ready", 2), *[("wrapup", 14.0)] * 8)
    state = view(team, calls(ringing=1), answered=2000, abandoned=20, left=1800.0)
    trusting, wary = PredictivePacer(), PredictivePacer(hidden_abandon_share=0.05)
    for pacer in (trusting, wary):
        pacer.decide(state)
        for _ in range(1000):
            pacer.observe(CallEnded(10.0, "machine"))
    # 1000 machine verdicts x 5% = 50 people hung up on: with 20 seen drops the day is over budget.
    assert trusting.decide(state).launch > 1
    assert wary.decide(state).reason.startswith("progressive")


def test_machines_let_through_to_agents_do_not_count_as_answers() -> None:
    team = agents(("ready", 4), ("ready", 2), *[("wrapup", 14.0)] * 8)
    state = view(team, calls(ringing=1), answered=1000, abandoned=15, left=600.0)
    fooled, told = PredictivePacer(), PredictivePacer()
    for pacer in (fooled, told):
        pacer.decide(state)
    for _ in range(300):
        told.observe(AgentCallFinished(120.0, 15.0, machine=True))
    # 15 drops over 1000 answers is within budget; over the 700 people really reached it is not.
    assert fooled.decide(state).launch > 1
    assert told.decide(state).reason.startswith("progressive")


def test_predictive_falls_back_to_progressive_when_the_abandon_rate_is_at_the_cap() -> None:
    pacer = PredictivePacer()
    team = agents(("ready", 4), ("ready", 2), *[("wrapup", 14.0)] * 8)
    at_cap = view(team, calls(ringing=1), answered=2000, abandoned=60, left=1800.0)
    decision = pacer.decide(at_cap)
    assert decision.launch == ProgressivePacer().decide(at_cap).launch == 1
    assert decision.reason.startswith("progressive")
    assert pacer.fallback
    # With the same state but a clean day, it dials ahead again.
    fresh = PredictivePacer()
    clean = fresh.decide(view(team, calls(ringing=1), answered=2000, abandoned=10, left=1800.0))
    assert clean.launch > 1


def test_predictive_never_launches_more_than_progressive_floor_allows_when_unsafe() -> None:
    pacer = PredictivePacer()
    team = agents(("ready", 1), *[("talking", 2.0)] * 4)
    # Two calls already answered and waiting with one ready agent: no room for more.
    decision = pacer.decide(view(team, calls(ringing=0, answered=2)))
    assert decision.launch == 0


def test_learning_converges_to_observed_rates_and_durations() -> None:
    pacer = PredictivePacer()
    for i in range(6000):
        live = i % 10 == 0  # answer rate 0.1 (prior 0.25)
        pacer.observe(CallEnded(5.0 if live else 20.0, "live" if live else "noanswer"))
    for _ in range(600):
        pacer.observe(AgentCallFinished(200.0, 30.0))  # priors 120 s / 15 s
    model = pacer.model
    model.refresh(NOW, force=True)
    assert model.p == pytest.approx(0.1, abs=0.01)
    assert model.talk.mean() == pytest.approx(200.0, rel=0.05)
    assert model.wrapup.mean() == pytest.approx(30.0, rel=0.05)
    assert model.live_ring.quantile(0.5) == pytest.approx(5.0)
    # Ring ages: every observed answer came at 5 s, so a call still ringing at 10 s will not answer.
    assert model.answer_prob_at(2.0) == pytest.approx(0.1, abs=0.01)
    assert model.answer_prob_at(10.0) < 0.01
    # Wrap-up always lasts 30 s: an agent 27 s into it frees up within a ring time, one 5 s in does not.
    assert model.free_prob_wrapup(27) > 0.9
    assert model.free_prob_wrapup(5) < 0.05


def test_busy_agents_free_up_according_to_the_remaining_talk_time() -> None:
    pacer = PredictivePacer()
    for i in range(800):
        pacer.observe(CallEnded(5.0, "live"))
        pacer.observe(AgentCallFinished(20.0 if i % 2 else 300.0, 1.0))
    model = pacer.model
    model.refresh(NOW, force=True)
    # Calls last 20 s or 300 s; a call is answered ~5 s after dialling, +2 s grace, -1 s wrap-up.
    assert model.free_prob_talking(16) == pytest.approx(0.5, abs=0.05)  # half end at 20 s
    assert model.free_prob_talking(25) < 0.02  # past 20 s: a 300 s call
    assert model.free_prob_talking(296) > 0.9  # about to end


def test_closed_loop_lowers_theta_on_abandons_and_raises_it_on_clean_answers() -> None:
    pacer = PredictivePacer()
    pacer.decide(view(agents(("ready", 1.0))))
    start = pacer.theta
    for _ in range(5):
        pacer.observe(Abandoned())
    assert pacer.theta < start
    low = pacer.theta
    for _ in range(500):
        pacer.observe(CallEnded(8.0, "live"))
    assert pacer.theta > low


def test_exact_and_normal_rules_agree_on_a_large_team() -> None:
    probs = [0.3] * 40 + [0.5] * 30
    exact = _exact_launch(60, list(probs), 0.3, 0.05, 1000)
    normal = _normal_launch(60, list(probs), 0.3, 0.05, 1000)
    assert exact > 0
    assert abs(exact - normal) <= max(2, math.ceil(0.1 * exact))
    assert _exact_launch(0, probs, 0.3, 0.05, 1000) == _normal_launch(0, probs, 0.3, 0.05, 1000) == 0
