"""Online statistics a pacer learns from engine observations.

Every estimate starts from a prior (so the pacer is usable on the first call of a campaign) and is
blended with a sliding window of recent observations (so it follows a drifting answer rate or talk
time within a day).  Everything is O(log n) per update and per query: the live engine and the
simulator call into this once a second for every agent and call.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from itertools import accumulate


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the normal in log space for a lognormal with this mean and coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def lognormal_cdf(mean: float, cv: float) -> Callable[[float], float]:
    """CDF of a lognormal given by mean and CV; the usual shape for ring, talk and wrap-up times."""
    mu, sigma = lognormal_params(mean, cv)
    scale = 1.0 / (sigma * math.sqrt(2.0))

    def cdf(x: float) -> float:
        if x <= 0.0:
            return 0.0
        return 0.5 * (1.0 + math.erf((math.log(x) - mu) * scale))

    return cdf


class WindowedDistribution:
    """Distribution of a duration: a prior CDF blended with the empirical CDF of the last ``window`` values.

    ``cdf(x) = (w * prior(x) + #{obs <= x}) / (w + n)``: with few observations the prior dominates,
    after a few hundred the data does, and the prior's weight keeps conditional tails (remaining
    talk time of an agent already on a very long call) defined beyond the largest value seen.
    """

    def __init__(
        self, prior_cdf: Callable[[float], float], prior_mean: float, prior_weight: float, window: int
    ) -> None:
        self._prior_cdf = prior_cdf
        self._prior_mean = prior_mean
        self._prior_weight = prior_weight
        self._window = window
        self._fifo: deque[float] = deque()
        self._sorted: list[float] = []
        self._total = 0.0
        self._prior_grid: dict[int, list[float]] = {}
        self.version = 0

    def add(self, value: float) -> None:
        """Record one observation, evicting the oldest once the window is full."""
        value = max(0.0, value)
        self._fifo.append(value)
        bisect.insort(self._sorted, value)
        self._total += value
        if len(self._fifo) > self._window:
            old = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
            self._total -= old
        self.version += 1

    @property
    def count(self) -> int:
        """Observations currently in the window."""
        return len(self._fifo)

    def cdf(self, x: float) -> float:
        """P(X <= x) under the blended distribution."""
        n = len(self._sorted)
        below = bisect.bisect_right(self._sorted, x) if n else 0
        return (self._prior_weight * self._prior_cdf(x) + below) / (self._prior_weight + n)

    def sf(self, x: float) -> float:
        """P(X > x)."""
        return 1.0 - self.cdf(x)

    def cdf_grid(self, upto: int) -> list[float]:
        """``cdf`` at 0, 1, ..., ``upto`` seconds in one O(n + upto) pass (for tabulating)."""
        data, n, w = self._sorted, len(self._sorted), self._prior_weight
        prior = self._prior_grid.get(upto)
        if prior is None:
            prior = [w * self._prior_cdf(float(x)) for x in range(upto + 1)]
            self._prior_grid[upto] = prior
        scale = 1.0 / (w + n)
        counts = [0] * (upto + 2)
        for value in data:
            counts[min(int(value), upto + 1)] += 1
        return [(pr + below) * scale for pr, below in zip(prior, accumulate(counts), strict=False)]

    def mean(self) -> float:
        """Blended mean."""
        n = len(self._fifo)
        return (self._prior_weight * self._prior_mean + self._total) / (self._prior_weight + n)

    def quantile(self, q: float) -> float:
        """Approximate quantile: the empirical one once data dominates, else a bisection on the CDF."""
        n = len(self._sorted)
        if n >= 4 * self._prior_weight and n > 0:
            return self._sorted[min(n - 1, int(q * n))]
        lo, hi = 0.0, max(10.0 * self._prior_mean, self._sorted[-1] if n else 0.0)
        for _ in range(40):
            mid = (lo + hi) / 2.0
            if self.cdf(mid) < q:
                lo = mid
            else:
                hi = mid
        return hi


class DecayingRate:
    """Probability of a binary event with exponential forgetting (effective memory ``memory`` events).

    Starts at ``prior`` with the weight of ``prior_weight`` events; used for the live-answer rate.
    """

    def __init__(self, prior: float, prior_weight: float, memory: float) -> None:
        self._decay = 1.0 - 1.0 / memory
        self._hits = prior * prior_weight
        self._total = prior_weight
        self.count = 0

    def add(self, hit: bool) -> None:
        """Record one trial."""
        self._hits = self._hits * self._decay + (1.0 if hit else 0.0)
        self._total = self._total * self._decay + 1.0
        self.count += 1

    @property
    def value(self) -> float:
        """Current estimate."""
        return self._hits / self._total

    @property
    def weight(self) -> float:
        """Effective number of trials behind the estimate (prior included, decayed)."""
        return self._total

    def soften(self, weight: float) -> None:
        """Keep the estimate but cap its weight, so that new trials move it quickly."""
        if self._total > weight:
            self._hits *= weight / self._total
            self._total = weight


def ring_timeout_prior(timeout: float) -> Callable[[float], float]:
    """Prior CDF for calls that do not reach a live person: a quarter fail fast (2-6 s), the rest time out."""

    def cdf(x: float) -> float:
        fast = min(1.0, max(0.0, (x - 2.0) / 4.0))
        slow = 1.0 if x >= timeout else 0.0
        return 0.25 * fast + 0.75 * slow

    return cdf
