"""The abandon cap as a hard limit on any pacer: never more calls at risk than the day can afford.

A call is *at risk* when it is in flight with no agent to take it if a person answers: calls in flight
(ringing, or answered and waiting) beyond the agents ready for them and the agents already ringing for
answered calls. If every call at risk were answered and abandoned, the day's rate would be
``(abandoned + k) / (answered + k)``; the guard keeps that at or under the cap. So a day whose first
answered calls have not yet earned a single abandon (with a 3% cap, the first 33) is dialled
progressively, and a day already at its cap is dialled progressively until connected calls bring the rate
down: the cap holds in every mode, from the first call of the day, whatever the pacer's model believes.

Pure: it looks only at the view, like the pacers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dialer.pacing.simple import dial_level
from dialer.pacing.types import Observation, Pacer, PacingDecision, PacingView, count_view


def affordable_abandons(answered: int, abandoned: int, cap: float) -> int:
    """The largest k with ``abandoned + k <= cap * (answered + k)``: abandons the day can still take if
    each of them were also a new answer (never negative)."""
    if cap >= 1.0:
        return 1 << 30
    if cap <= 0.0:
        return 0
    return max(0, math.floor((cap * answered - abandoned) / (1.0 - cap) + 1e-9))


def calls_at_risk(view: PacingView) -> int:
    """Calls in flight that no ready or already-ringing agent would take if a person answered now."""
    covering = sum(1 for a in view.agents if a.state in ("ready", "ringing"))
    return max(0, len(view.calls) - covering)


def guarded_launch(view: PacingView, wanted: int, cap: float) -> int:
    """Clip a pacer's launch so that the calls at risk never exceed what the day can afford."""
    covering = sum(1 for a in view.agents if a.state in ("ready", "ringing"))
    allowance = affordable_abandons(view.answered_today, view.abandoned_today, cap)
    most = covering + allowance - len(view.calls)
    return max(0, min(wanted, most))


@dataclass
class CapGuard:
    """Wraps a pacer (ratio, predictive, or any other) with :func:`guarded_launch`."""

    pacer: Pacer
    cap: float

    def decide(self, view: PacingView) -> PacingDecision:
        d = self.pacer.decide(view)
        launch = guarded_launch(view, d.launch, self.cap)
        if launch == d.launch:
            return d
        return PacingDecision(
            launch, dial_level(count_view(view), launch), f"{d.reason}; held to the abandon cap"
        )

    def observe(self, obs: Observation) -> None:
        self.pacer.observe(obs)
