"""Run a pacing policy over several simulated days of a scenario."""

from __future__ import annotations

from collections.abc import Callable

from dialer.pacing.types import Pacer
from dialer.simulator.engine import DaySimulation
from dialer.simulator.metrics import DayStats, RunMetrics, summarize
from dialer.simulator.scenario import Scenario

DAY_CLOCK = 86400.0


def simulate_days(scenario: Scenario, pacer: Pacer, *, days: int, seed: int) -> list[DayStats]:
    """Simulate ``days`` consecutive days with one pacer object (it keeps what it learned overnight).

    The engine clock runs on across days (day d starts at ``d * 86400``), as it would in a service
    that stays up; customers and agent calls come from streams keyed by (seed, day, index).
    """
    return [
        DaySimulation(scenario, pacer, seed=seed, day=day, clock=day * DAY_CLOCK).run() for day in range(days)
    ]


def run_policy(
    scenario: Scenario, make: Callable[[], Pacer], *, days: int, seed: int, cap: float = 0.03
) -> RunMetrics:
    """Metrics of one fresh pacer from ``make`` over ``days`` days."""
    return summarize(simulate_days(scenario, make(), days=days, seed=seed), cap)
