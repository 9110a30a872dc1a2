"""Per-day tallies and the run-level metrics the benchmark reports."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

ABANDON_CAP = 0.03


@dataclass(slots=True)
class DayStats:
    """Everything counted during one simulated day (times in agent-seconds)."""

    logged: float = 0.0
    ready: float = 0.0
    ringing: float = 0.0
    talk: float = 0.0
    wrapup: float = 0.0
    paused: float = 0.0
    dials: int = 0
    human_answered: int = 0
    human_abandoned: int = 0
    connected_humans: int = 0
    engine_answered: int = 0
    engine_abandoned: int = 0
    peak_lines: int = 0
    wait_sum: float = 0.0
    wait_count: int = 0

    @property
    def abandon_rate(self) -> float:
        """Abandoned / live-answered (people, not machines) for the day."""
        return self.human_abandoned / self.human_answered if self.human_answered else 0.0


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Metrics over a run of days; rates are fractions, ``*_per_agent_hour`` per logged-in agent-hour."""

    days: int
    occupancy: float
    talk_share: float
    abandon_rate: float
    abandon_rate_mean_day: float
    abandon_rate_p95_day: float
    share_days_over_cap: float
    contacts_per_agent_hour: float
    dials_per_agent_hour: float
    mean_wait_seconds: float
    peak_lines: int
    live_answered: int
    abandoned: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready mapping."""
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (``q`` in [0, 1]); the single value for one day."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    index = round(q * 100) - 1
    return cuts[min(max(index, 0), len(cuts) - 1)]


def summarize(days: Sequence[DayStats], cap: float = ABANDON_CAP) -> RunMetrics:
    """Aggregate day tallies: pooled ratios, plus the distribution of the daily abandon rate."""
    logged = sum(d.logged for d in days)
    hours = logged / 3600.0
    answered = sum(d.human_answered for d in days)
    abandoned = sum(d.human_abandoned for d in days)
    rates = [d.abandon_rate for d in days]
    waits = sum(d.wait_count for d in days)
    return RunMetrics(
        days=len(days),
        occupancy=sum(d.talk + d.wrapup for d in days) / logged if logged else 0.0,
        talk_share=sum(d.talk for d in days) / logged if logged else 0.0,
        abandon_rate=abandoned / answered if answered else 0.0,
        abandon_rate_mean_day=statistics.fmean(rates) if rates else 0.0,
        abandon_rate_p95_day=percentile(rates, 0.95),
        share_days_over_cap=sum(1 for r in rates if r > cap) / len(rates) if rates else 0.0,
        contacts_per_agent_hour=sum(d.connected_humans for d in days) / hours if hours else 0.0,
        dials_per_agent_hour=sum(d.dials for d in days) / hours if hours else 0.0,
        mean_wait_seconds=sum(d.wait_sum for d in days) / waits if waits else 0.0,
        peak_lines=max((d.peak_lines for d in days), default=0),
        live_answered=answered,
        abandoned=abandoned,
    )
