"""Non-predictive pacers: progressive (one call per ready agent) and fixed ratio.

They never look at the past, so ``observe`` is a no-op; they exist both as engine modes in their own
right and as the safe fallback of the predictive pacer.
"""

from __future__ import annotations

import math

from dialer.pacing.types import Observation, PacingDecision, PacingView, ViewCounts, cap_launch, count_view


def progressive_launch(counts: ViewCounts) -> int:
    """Calls needed so that every ready agent has exactly one call in flight (never negative).

    With no more calls in flight than ready agents every live answer finds an agent: zero abandons.
    """
    return max(0, counts.ready - counts.ringing_calls - counts.waiting_calls)


def dial_level(counts: ViewCounts, launch: int) -> float:
    """Lines (calls in flight, bridged calls and the new ones) per active agent."""
    return (counts.lines_in_use + launch) / counts.active if counts.active else 0.0


class ProgressivePacer:
    """Progressive (1:1) dialling."""

    def decide(self, view: PacingView) -> PacingDecision:
        counts = count_view(view)
        launch = cap_launch(progressive_launch(counts), view, counts)
        return PacingDecision(launch, dial_level(counts, launch), "progressive")

    def observe(self, obs: Observation) -> None:
        del obs


class RatioPacer:
    """Fixed-ratio ("power") dialling: ``ratio`` calls in flight per ready agent."""

    def __init__(self, ratio: float = 2.0) -> None:
        if ratio <= 0.0:
            raise ValueError("ratio must be positive")
        self.ratio = ratio

    def decide(self, view: PacingView) -> PacingDecision:
        counts = count_view(view)
        wanted = math.floor(self.ratio * counts.ready + 1e-9) - counts.ringing_calls - counts.waiting_calls
        launch = cap_launch(wanted, view, counts)
        return PacingDecision(launch, dial_level(counts, launch), f"ratio {self.ratio:g}")

    def observe(self, obs: Observation) -> None:
        del obs
