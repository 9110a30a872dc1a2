"""Hindsight reference: the best fixed dialling ratio for a scenario, found by simulation.

Abandons and occupancy both grow with the ratio, so the best compliant ratio is the largest one
whose run meets the compliance target (at most ``max_share_over`` of days above the cap and the
pooled rate under it).  It is found by bisection on the first ``search_days`` of the seeded days
the other policies see, then confirmed on all of them (stepping down to the next compliant probe
if the confirmation fails).  No live dialler can know it in advance - that makes it a yardstick.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.pacing.simple import RatioPacer
from dialer.simulator.metrics import RunMetrics
from dialer.simulator.run import run_policy
from dialer.simulator.scenario import Scenario


@dataclass(frozen=True, slots=True)
class OracleResult:
    """The chosen ratio, its metrics over all days, and every (ratio, days, metrics) probe."""

    ratio: float
    metrics: RunMetrics
    probes: tuple[tuple[float, int, RunMetrics], ...]


def compliant(metrics: RunMetrics, cap: float = 0.03, max_share_over: float = 0.05) -> bool:
    """The compliance target: pooled rate under the cap and at most 5% of days over it."""
    return metrics.abandon_rate <= cap and metrics.share_days_over_cap <= max_share_over


def oracle_ratio(
    scenario: Scenario,
    *,
    days: int,
    seed: int,
    cap: float = 0.03,
    max_share_over: float = 0.05,
    iterations: int = 7,
    search_days: int = 5,
) -> OracleResult:
    """Bisect the ratio of :class:`RatioPacer` in [1, 3/p] for the best compliant one."""
    probes: list[tuple[float, int, RunMetrics]] = []

    def probe(ratio: float, n_days: int) -> RunMetrics:
        metrics = run_policy(scenario, lambda: RatioPacer(ratio), days=n_days, seed=seed, cap=cap)
        probes.append((ratio, n_days, metrics))
        return metrics

    short = min(days, search_days)
    lo, hi = 1.0, max(1.5, 3.0 / max(0.01, scenario.mean_answer_rate()))
    candidates = [1.0]  # progressive-like 1:1 never abandons: the fallback
    for _ in range(iterations):
        mid = (lo + hi) / 2.0
        if compliant(probe(mid, short), cap, max_share_over):
            lo = mid
            candidates.append(mid)
        else:
            hi = mid
    for ratio in sorted(candidates, reverse=True):
        metrics = probe(ratio, days) if short < days or ratio == 1.0 else _find(probes, ratio)
        if compliant(metrics, cap, max_share_over) or ratio == 1.0:
            return OracleResult(ratio, metrics, tuple(probes))
    raise AssertionError("unreachable: ratio 1.0 is always returned")


def _find(probes: list[tuple[float, int, RunMetrics]], ratio: float) -> RunMetrics:
    return next(m for r, _, m in probes if r == ratio)
