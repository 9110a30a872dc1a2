"""The production engine in the loop: the real engine (placing, call book, FastAGI routes, pacer, hopper and
store on SQLite) against a simulated Asterisk in virtual time, on the scenario's customers and agents.

What a user of the pacing figures relies on: the pacer inside the engine learns what really happened to
each call (outcome, ring time, talk and wrap-up as the agents really spent them), and on a small centre
(10 agents, p = 0.3) the engine's predictive mode keeps the day's abandons under the 3% cap while keeping
its agents clearly busier than progressive dialling does."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from typing import Any

import pytest

from dialer.pacing import AgentCallFinished, CallEnded, Pacer, PacingDecision, PacingView
from dialer.pacing.types import Observation
from dialer.simulator.asterisk import EngineRun, run_engine
from dialer.simulator.scenario import stationary


class Recorder:
    """Stands between the engine and its campaign's pacer and keeps every observation it passes on."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.seen: list[Observation] = []

    def decide(self, view: PacingView) -> PacingDecision:
        return self.pacer.decide(view)

    def observe(self, obs: Observation) -> None:
        self.seen.append(obs)
        self.pacer.observe(obs)


def test_the_pacer_in_the_engine_learns_what_really_happened_to_each_call() -> None:
    recorders: list[Recorder] = []

    def wrap(p: Pacer) -> Pacer:
        recorders.append(Recorder(p))
        return recorders[-1]

    scenario = stationary(4, 0.3).with_(day_seconds=900.0)
    run = run_engine(scenario, "progressive", days=1, seed=5, wrap_pacer=wrap)
    seen = recorders[0].seen
    ended = [o for o in seen if isinstance(o, CallEnded)]
    finished = [o for o in seen if isinstance(o, AgentCallFinished)]
    assert len(run.fates) > 20
    # every dialled number once, with the outcome the customer really had (congestion is "failed")
    assert Counter(o.outcome for o in ended) == Counter(f.seen for f in run.fates)
    assert sorted(round(o.ring_seconds, 3) for o in ended) == sorted(round(f.ring, 3) for f in run.fates)
    # every connected call's talk and wrap-up as the agent spent them, measured from Asterisk's events
    assert len(finished) == len(run.handled) > 5
    assert sorted(round(o.talk_seconds, 3) for o in finished) == sorted(round(t, 3) for t, _ in run.handled)
    for got, want in zip(
        sorted(o.wrapup_seconds for o in finished), sorted(w for _, w in run.handled), strict=True
    ):
        assert got == pytest.approx(want, abs=0.5)  # the disposition reaches the engine on its next turn
    assert run.agent_conflicts == 0
    assert run.engine_modules_on_virtual_time  # the engine really ran on the loop's clock


def test_a_simulated_day_is_the_same_for_the_same_seed() -> None:
    """Virtual time and an in-thread database leave nothing to chance but the seed."""
    scenario = stationary(4, 0.3).with_(day_seconds=600.0)
    first = run_engine(scenario, "predictive", days=1, seed=3)
    again = run_engine(scenario, "predictive", days=1, seed=3)
    other = run_engine(scenario, "predictive", days=1, seed=4)
    assert first.metrics == again.metrics and first.fates == again.fates
    assert other.fates != first.fates


def _run(policy: str) -> EngineRun:
    scenario = stationary(10, 0.3).with_(day_seconds=2700.0)
    return run_engine(scenario, policy, days=2, seed=11)


@pytest.fixture(scope="module")
def small_centre() -> dict[str, Any]:
    """Predictive and progressive on the same two 45-minute days, one process each."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        runs = pool.map(_run, ["predictive", "progressive"])
    return dict(zip(["predictive", "progressive"], runs, strict=True))


@pytest.mark.timeout(900)
def test_engine_predictive_stays_under_the_cap_and_keeps_agents_busier_than_progressive(
    small_centre: dict[str, EngineRun],
) -> None:
    pred, prog = small_centre["predictive"].metrics, small_centre["progressive"].metrics
    assert prog.abandoned == 0 and prog.live_answered > 300
    assert pred.live_answered > 300
    assert pred.abandon_rate <= 0.03
    assert pred.occupancy >= prog.occupancy + 0.03
    assert small_centre["predictive"].agent_conflicts == 0


def test_the_engine_benchmark_places_and_follows_every_call_directly_and_through_pacing() -> None:
    """``bench.engine --dry``: the sandbox benchmark's levels against the simulated Asterisk. Each level's
    N calls are placed (directly, then by the engine's own pacing with N agents ready) and the engine's
    handler sees each call's three ringing events (Newchannel, DialBegin, Newstate) within the level."""
    from bench.engine_dry import run_dry

    rows = run_dry([3, 7])
    assert [r["calls"] for r in rows] == [3, 7]
    for r in rows:
        n = r["calls"]
        assert r["engine_in_flight"] == n and r["paced_in_flight"] == n
        assert r["engine_events"] == 3 * n and r["paced_events"] == 3 * n
    assert rows[-1]["originated_total"] == 2 * (3 + 7)  # nothing dialled twice, nothing left out


@pytest.mark.parametrize(
    ("talk", "wrapup"),
    [(300.0, 60.0), (45.0, 5.0)],
    ids=["long talks, long wrap-up", "short talks, short wrap-up"],
)
def test_within_the_first_hour_the_pacer_has_learnt_the_centres_real_talk_and_wrapup(
    talk: float, wrapup: float
) -> None:
    """A centre whose calls are far from the pacer's priors (120 s talk, 15 s wrap-up): after one hour of
    predictive dialling through the engine, the pacer's estimates have moved most of the way from its priors
    to what the simulated agents really spent (measured by the simulator, not by the engine)."""
    pacers: list[Any] = []

    def keep(p: Pacer) -> Pacer:
        pacers.append(p)
        return p

    scenario = stationary(10, 0.3, talk_mean=talk).with_(wrapup_mean=wrapup, day_seconds=3600.0)
    run = run_engine(scenario, "predictive", days=1, seed=3, wrap_pacer=keep)
    model = pacers[0].pacer.model  # the cap guard's inner predictive pacer
    real_talk = sum(t for t, _ in run.handled) / len(run.handled)
    real_wrap = sum(w for _, w in run.handled) / len(run.handled)

    def learnt(estimate: float, prior: float, real: float) -> float:
        return (estimate - prior) / (real - prior)  # 0: still the prior, 1: the real value

    assert learnt(model.talk.mean(), 120.0, real_talk) >= 0.7, (model.talk.mean(), real_talk)
    assert learnt(model.wrapup.mean(), 15.0, real_wrap) >= 0.8, (model.wrapup.mean(), real_wrap)
