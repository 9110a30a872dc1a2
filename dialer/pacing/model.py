"""The learned call-centre model behind the predictive pacer.

It turns observations into the two probabilities the pacing rule needs:

* ``answer_prob_at(age)`` - probability that a call still ringing after ``age`` seconds will yet be
  answered by a person (a Bayes update of the answer rate by the ring-time survival curves of
  live answers and of the other outcomes: calls ringing a long time are mostly no-answers);
* ``free_prob(state, age)`` - probability that a busy agent is free by the time a call dialled now
  would be answered (+ grace), from the remaining-life distribution of talk time given how long the
  agent has been talking, plus wrap-up.

Both are tabulated per whole second of age and refreshed every ``refresh_seconds`` of engine time,
which keeps a decision for 100 agents and a few hundred calls at a few tens of microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.pacing.stats import (
    DecayingRate,
    WindowedDistribution,
    lognormal_cdf,
    ring_timeout_prior,
)
from dialer.pacing.types import AgentCallFinished, CallEnded, Observation

_ANSWER_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
_MAX_RING_AGE = 1000
_RING_TABLE_AGE = 120
_MAX_TALK_AGE = 3600
_MAX_WRAP_AGE = 600


@dataclass(frozen=True, slots=True)
class ModelPriors:
    """Starting beliefs, used until observations outweigh them."""

    answer_rate: float = 0.25
    ring_mean: float = 8.0
    ring_cv: float = 0.4
    talk_mean: float = 120.0
    talk_cv: float = 1.0
    wrapup_mean: float = 15.0
    wrapup_cv: float = 0.3
    ring_timeout: float = 20.0


class PacingModel:
    """Answer-rate, ring-time, talk-time and wrap-up distributions with tabulated pacing probabilities."""

    def __init__(
        self,
        priors: ModelPriors | None = None,
        *,
        grace_seconds: float = 2.0,
        refresh_seconds: float = 60.0,
        grid_refresh_seconds: float = 300.0,
        answer_memory: float = 1500.0,
        talk_window: int = 400,
    ) -> None:
        pr = priors or ModelPriors()
        self.priors = pr
        self.grace = grace_seconds
        self.refresh_seconds = refresh_seconds
        self.answer = DecayingRate(pr.answer_rate, prior_weight=40.0, memory=answer_memory)
        self.live_ring = WindowedDistribution(
            lognormal_cdf(pr.ring_mean, pr.ring_cv), pr.ring_mean, prior_weight=20.0, window=300
        )
        self.other_ring = WindowedDistribution(
            ring_timeout_prior(pr.ring_timeout), 0.75 * pr.ring_timeout + 1.0, prior_weight=20.0, window=1000
        )
        self.talk = WindowedDistribution(
            lognormal_cdf(pr.talk_mean, pr.talk_cv), pr.talk_mean, prior_weight=30.0, window=talk_window
        )
        self.wrapup = WindowedDistribution(
            lognormal_cdf(pr.wrapup_mean, pr.wrapup_cv), pr.wrapup_mean, prior_weight=10.0, window=200
        )
        self._refreshed_at = float("-inf")
        self._grids_at = float("-inf")
        self.grid_refresh_seconds = grid_refresh_seconds
        self._ring_table: list[float] = []
        self._talk_cache = _ConditionalTable([0.0], 0, ())
        self._wrap_cache = _ConditionalTable([0.0], 0, ())
        self._offsets: tuple[float, ...] = ()
        self._talk_shift: tuple[int, ...] = ()
        self._wrap_shift: tuple[int, ...] = ()
        self._talk_grid: list[float] = []
        self._wrap_grid: list[float] = []
        self.p = pr.answer_rate

    # -- learning -------------------------------------------------------------------------------------
    def observe(self, obs: Observation) -> None:
        """Fold one engine observation into the distributions."""
        if isinstance(obs, CallEnded):
            live = obs.outcome == "live"
            self.answer.add(live)
            if live:
                self.live_ring.add(obs.ring_seconds)
            else:
                self.other_ring.add(obs.ring_seconds)
        elif isinstance(obs, AgentCallFinished):
            self.talk.add(obs.talk_seconds)
            self.wrapup.add(obs.wrapup_seconds)

    # -- tables ---------------------------------------------------------------------------------------
    def refresh(self, now: float, force: bool = False) -> None:
        """Recompute the tables if ``refresh_seconds`` have passed (engine clock) or when forced."""
        if not force and now - self._refreshed_at < self.refresh_seconds:
            return
        self._refreshed_at = now
        p = min(0.95, max(0.002, self.answer.value))
        self.p = p
        table = []
        for age in range(_RING_TABLE_AGE + 1):
            live = p * self.live_ring.sf(float(age))
            other = (1.0 - p) * self.other_ring.sf(float(age))
            table.append(live / (live + other) if live + other > 1e-12 else 0.0)
        # Calls ringing longer than any timeout are stuck, not about to be answered.
        self._ring_table = table + [0.0] * (_MAX_RING_AGE - _RING_TABLE_AGE)
        # When would a call dialled now be answered?  Spread over quantiles of the live ring time.
        self._offsets = tuple(self.live_ring.quantile(q) + self.grace for q in _ANSWER_QUANTILES)
        if not force and now - self._grids_at < self.grid_refresh_seconds:
            return
        self._grids_at = now
        wrap_mean = self.wrapup.mean()
        self._talk_shift = tuple(round(off - wrap_mean) for off in self._offsets)
        self._wrap_shift = tuple(round(off) for off in self._offsets)
        self._talk_grid = self.talk.cdf_grid(_MAX_TALK_AGE + max(0, *self._talk_shift) + 1)
        self._wrap_grid = self.wrapup.cdf_grid(_MAX_WRAP_AGE + max(self._wrap_shift) + 1)
        self._talk_cache = _ConditionalTable(self._talk_grid, _MAX_TALK_AGE, self._talk_shift)
        self._wrap_cache = _ConditionalTable(self._wrap_grid, _MAX_WRAP_AGE, self._wrap_shift)

    @property
    def ring_table(self) -> list[float]:
        """answer_prob_at for whole-second ages 0.._MAX_RING_AGE (refresh() first)."""
        return self._ring_table

    def answer_prob_at(self, age: float) -> float:
        """Probability that a call still ringing at ``age`` seconds ends in a live answer."""
        i = int(age)
        return self._ring_table[i] if 0 <= i <= _MAX_RING_AGE else 0.0

    @property
    def talk_free(self) -> dict[int, float]:
        """Mapping whole-second talk age -> P(agent free by the answer time of a call dialled now).

        Remaining life of the talk-time distribution given the age, plus the mean wrap-up, averaged
        over the answer-time quantiles of a new call.  Filled lazily (a dict with ``__missing__``,
        so hits cost one C-level lookup).
        """
        return self._talk_cache

    @property
    def wrap_free(self) -> dict[int, float]:
        """Mapping whole-second wrap-up age -> P(agent free by the answer time of a call dialled now)."""
        return self._wrap_cache

    def free_prob_talking(self, age: int) -> float:
        """P(agent talking for ``age`` s is free by the answer time of a call dialled now)."""
        return self._talk_cache[age]

    def free_prob_wrapup(self, age: int) -> float:
        """P(agent in wrap-up for ``age`` s is free by the answer time of a call dialled now)."""
        return self._wrap_cache[age]

    def handle_mean(self) -> float:
        """Mean talk + wrap-up time: the agent-side cycle used to project the day's answer volume."""
        return self.talk.mean() + self.wrapup.mean()


def _conditional_within(grid: list[float], age: int, shifts: tuple[int, ...]) -> float:
    """Mean over ``shifts`` of P(X <= age + shift | X > age), from a whole-second CDF grid."""
    base = grid[age]
    alive = 1.0 - base
    if alive <= 1e-9:
        return 1.0
    acc = 0.0
    for shift in shifts:
        x = age + shift
        if x > age:
            acc += grid[x] - base
    return min(1.0, acc / (len(shifts) * alive))


class _ConditionalTable(dict[int, float]):
    """Lazily filled ``age -> _conditional_within(grid, age, shifts)`` (ages clipped to ``max_age``)."""

    def __init__(self, grid: list[float], max_age: int, shifts: tuple[int, ...]) -> None:
        super().__init__()
        self._grid = grid
        self._max_age = max_age
        self._shifts = shifts

    def __missing__(self, age: int) -> float:
        value = _conditional_within(self._grid, min(max(age, 0), self._max_age), self._shifts)
        self[age] = value
        return value
