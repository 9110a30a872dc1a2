"""Seeded discrete-event simulator of an outbound call centre, for evaluating pacers.

Stdlib only.  :class:`Scenario` describes customers and agents (stationary or drifting),
:class:`DaySimulation` runs one day driving any :class:`dialer.pacing.Pacer` exactly like the live
engine, :func:`run_policy` aggregates days into :class:`RunMetrics`, and :mod:`.baselines` holds
the reference policies (VICIdial adaptive, drop-rate controller, Erlang open loop, hindsight
oracle ratio).
"""

from dialer.simulator.engine import BooksError, DaySimulation, PacerError
from dialer.simulator.metrics import DayStats, RunMetrics, summarize
from dialer.simulator.run import run_policy, simulate_days
from dialer.simulator.scenario import (
    DRIFT_SCENARIOS,
    Scenario,
    answer_rate_drift,
    lunch_break,
    stationary,
    talk_drift,
)

__all__ = [
    "DRIFT_SCENARIOS",
    "BooksError",
    "DaySimulation",
    "DayStats",
    "PacerError",
    "RunMetrics",
    "Scenario",
    "answer_rate_drift",
    "lunch_break",
    "run_policy",
    "simulate_days",
    "stationary",
    "summarize",
    "talk_drift",
]
