"""Reference pacing policies, each written from its published description (same Pacer protocol).

* :class:`VicidialAdaptive` - VICIdial's adaptive predictive dial level (``ADAPT_AVERAGE`` and
  ``ADAPT_TAPERED``), as its adapt script describes it: the dial level is lines per non-paused
  agent; every second it samples ready agents (ready or in after-call work) and answered calls
  waiting; every 15 s the level is multiplied by ``1 + (avg ready - avg waiting) / avg agents``,
  capped at the maximum level (3.0) and floored at 1.0.  Drop statistics are refreshed every
  minute; if the last minute dropped more than half of over 20 calls the level is halved; if
  today's drops exceed the limit as a share of answers (once over 50 calls were placed) AVERAGE
  halves the level, TAPERED multiplies it by the share of the last 10 calling hours still left
  (unchanged early in the day, tapering to 1.0 at the end).  Lines wanted = level x non-paused
  agents; lines in use count calls ringing, waiting and bridged.
* :class:`DropRateController` - a fixed-ratio dialler whose ratio steps up or down every minute on
  the drop rate of the last 30 minutes.
* :class:`ErlangOpenLoop` - open-loop reference: from the known answer rate and handle time, the
  largest offered load whose Erlang-B loss is under the cap, dialled at the matching steady rate.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

from dialer.pacing.simple import RatioPacer, dial_level
from dialer.pacing.types import (
    Abandoned,
    CallEnded,
    Observation,
    PacingDecision,
    PacingView,
    cap_launch,
    count_view,
)
from dialer.simulator.metrics import RunMetrics
from dialer.simulator.run import run_policy
from dialer.simulator.scenario import Scenario


class _DayClock:
    """Detects the start of a new calling day from the view (counters reset / time left jumps up)."""

    def __init__(self) -> None:
        self._last_left: float | None = None
        self._last_answered = 0

    def new_day(self, view: PacingView) -> bool:
        left = view.seconds_left_in_day
        fresh = self._last_left is None or view.answered_today < self._last_answered
        if left is not None and self._last_left is not None and left > self._last_left + 60.0:
            fresh = True
        self._last_left = left if left is not None else 0.0
        self._last_answered = view.answered_today
        return fresh


class VicidialAdaptive:
    """VICIdial-style adaptive dial level (see module docstring)."""

    def __init__(
        self,
        method: Literal["average", "tapered"] = "average",
        *,
        drop_limit: float = 0.03,
        max_level: float = 3.0,
        start_level: float = 1.0,
        calling_hours: float = 10.0,
    ) -> None:
        self.method = method
        self.drop_limit = drop_limit
        self.max_level = max_level
        self.level = start_level
        self.calling_seconds = calling_hours * 3600.0
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=15)
        self._clock = _DayClock()
        self._now = 0.0
        self._since_level = 0
        self._since_drops = 60
        self._dials_today = 0
        self._recent_dials: deque[tuple[float, int]] = deque()
        self._recent_drops: deque[float] = deque()
        self._drops_today_pct = 0.0
        self._drops_minute_pct = 0.0
        self._calls_minute = 0

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, Abandoned):
            self._recent_drops.append(self._now)

    def decide(self, view: PacingView) -> PacingDecision:
        self._now = view.now
        if self._clock.new_day(view):
            self._dials_today = 0
            self._drops_today_pct = 0.0
        counts = count_view(view)
        wrapup = counts.busy - counts.talking
        self._samples.append((counts.ready + wrapup, counts.waiting_calls, len(view.agents)))
        self._since_drops += 1
        if self._since_drops >= 60:
            self._since_drops = 0
            self._update_drops(view)
        self._since_level += 1
        if self._since_level >= 15:
            self._since_level = 0
            self._update_level(view)
        goal = math.floor(self.level * counts.active + 0.5)
        launch = cap_launch(goal - counts.lines_in_use, view, counts)
        self._dials_today += launch
        if launch:
            self._recent_dials.append((view.now, launch))
        return PacingDecision(launch, dial_level(counts, launch), f"vicidial {self.method} {self.level:.2f}")

    def _update_drops(self, view: PacingView) -> None:
        cutoff = view.now - 60.0
        while self._recent_dials and self._recent_dials[0][0] < cutoff:
            self._recent_dials.popleft()
        while self._recent_drops and self._recent_drops[0] < cutoff:
            self._recent_drops.popleft()
        self._calls_minute = sum(n for _, n in self._recent_dials)
        drops = len(self._recent_drops)
        self._drops_minute_pct = drops / self._calls_minute if self._calls_minute else 0.0
        answered = max(1, view.answered_today)
        self._drops_today_pct = view.abandoned_today / answered if view.abandoned_today else 0.0

    def _update_level(self, view: PacingView) -> None:
        n = len(self._samples)
        ready = sum(s[0] for s in self._samples) / n
        waiting = sum(s[1] for s in self._samples) / n
        agents = sum(s[2] for s in self._samples) / n
        level = self.level
        if agents > 0:
            level *= 1.0 + (ready - waiting) / agents
        level = max(1.0, min(self.max_level, level))
        if self._calls_minute > 20 and self._drops_minute_pct > 0.5:
            level /= 2.0
        if self._dials_today > 50 and self._drops_today_pct > self.drop_limit:
            if self.method == "average":
                level /= 2.0
            else:
                left = view.seconds_left_in_day
                if left is None or left < 0.0:
                    level = 1.0
                else:
                    level *= min(1.0, left / self.calling_seconds)
        self.level = max(1.0, level)


class DropRateController:
    """Ratio dialler (calls per ready agent) stepped every minute on the last 30 minutes' drop rate."""

    def __init__(
        self,
        *,
        target: float = 0.025,
        window_seconds: float = 1800.0,
        step: float = 0.1,
        start_ratio: float = 1.0,
        max_ratio: float = 20.0,
        min_answers: int = 20,
    ) -> None:
        self.target = target
        self.window = window_seconds
        self.step = step
        self.ratio = start_ratio
        self.max_ratio = max_ratio
        self.min_answers = min_answers
        self._answers: deque[float] = deque()
        self._drops: deque[float] = deque()
        self._now = 0.0
        self._next_step = float("-inf")

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, CallEnded) and obs.outcome == "live":
            self._answers.append(self._now)
        elif isinstance(obs, Abandoned):
            self._drops.append(self._now)

    def decide(self, view: PacingView) -> PacingDecision:
        self._now = view.now
        if view.now >= self._next_step:
            self._next_step = view.now + 60.0
            self._adjust(view.now)
        counts = count_view(view)
        wanted = math.floor(self.ratio * counts.ready + 1e-9) - counts.ringing_calls - counts.waiting_calls
        launch = cap_launch(wanted, view, counts)
        return PacingDecision(launch, dial_level(counts, launch), f"drop controller {self.ratio:.2f}")

    def _adjust(self, now: float) -> None:
        cutoff = now - self.window
        while self._answers and self._answers[0] < cutoff:
            self._answers.popleft()
        while self._drops and self._drops[0] < cutoff:
            self._drops.popleft()
        if len(self._answers) < self.min_answers:
            return
        rate = len(self._drops) / len(self._answers)
        if rate > self.target:
            self.ratio = max(1.0, self.ratio * (1.0 - self.step))
        elif rate < 0.8 * self.target:
            self.ratio = min(self.max_ratio, self.ratio * (1.0 + self.step))


def erlang_b(servers: int, load: float) -> float:
    """Erlang-B blocking probability (stable recursion)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_b_load(servers: int, blocking: float) -> float:
    """Largest offered load (Erlangs) on ``servers`` whose Erlang-B blocking is at most ``blocking``."""
    if servers <= 0:
        return 0.0
    lo, hi = 0.0, float(servers) * 2.0 + 10.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if erlang_b(servers, mid) <= blocking:
            lo = mid
        else:
            hi = mid
    return lo


def erlang_b_figure(
    agents: int, answer_rate: float, handle_seconds: float, cap: float = 0.03
) -> dict[str, float]:
    """Open-loop Erlang-B figures: offered load, predicted occupancy and dials per agent-hour at the cap."""
    load = erlang_b_load(agents, cap)
    carried = load * (1.0 - erlang_b(agents, load))
    answers_per_hour = load / handle_seconds * 3600.0
    return {
        "offered_erlangs": load,
        "predicted_occupancy": carried / agents,
        "dials_per_agent_hour": answers_per_hour / answer_rate / agents,
        "lines_per_agent": load / agents / answer_rate,
    }


class ErlangOpenLoop:
    """Dials at the steady rate that offers the Erlang-B load at the cap for the agents now active."""

    def __init__(self, *, answer_rate: float, handle_seconds: float, cap: float = 0.03) -> None:
        self.answer_rate = answer_rate
        self.handle = handle_seconds
        self.cap = cap
        self._loads: dict[int, float] = {}
        self._credit = 0.0
        self._last: float | None = None

    def observe(self, obs: Observation) -> None:
        del obs

    def decide(self, view: PacingView) -> PacingDecision:
        counts = count_view(view)
        dt = 0.0 if self._last is None else min(5.0, max(0.0, view.now - self._last))
        self._last = view.now
        active = counts.active
        load = self._loads.get(active)
        if load is None:
            load = self._loads[active] = erlang_b_load(active, self.cap)
        self._credit += load / self.handle / self.answer_rate * dt
        wanted = int(self._credit)
        launch = cap_launch(wanted, view, counts)
        self._credit -= launch
        self._credit = min(self._credit, 5.0)
        return PacingDecision(launch, dial_level(counts, launch), "erlang open loop")


@dataclass(frozen=True, slots=True)
class FixedRatioResult:
    """The best fixed ratio found, its metrics over all days, and every (ratio, days, metrics) probe."""

    ratio: float
    metrics: RunMetrics
    probes: tuple[tuple[float, int, RunMetrics], ...]


def best_fixed_ratio(
    scenario: Scenario,
    *,
    days: int,
    seed: int,
    cap: float = 0.03,
    max_share_over: float = 0.05,
    resolution: float = 0.01,
) -> FixedRatioResult:
    """Best fixed ratio (hindsight): the largest ratio of :class:`RatioPacer`, to ``resolution``, whose run
    over the very days every other policy meets is compliant (pooled rate under the cap, at most
    ``max_share_over`` of days over it). No dialler can know it in advance: it is a yardstick.

    Abandons grow with the ratio but not strictly (days are finite), so the bisection on all days is
    followed by a walk: upwards while the next ``resolution`` step is still compliant, and the final answer is
    always a ratio whose own run was compliant (1.0, which never abandons, at worst)."""
    probes: list[tuple[float, int, RunMetrics]] = []
    seen: dict[float, RunMetrics] = {}

    def run(ratio: float) -> RunMetrics:
        ratio = round(ratio, 2)
        if ratio not in seen:
            seen[ratio] = run_policy(scenario, lambda: RatioPacer(ratio), days=days, seed=seed, cap=cap)
            probes.append((ratio, days, seen[ratio]))
        return seen[ratio]

    def ok(ratio: float) -> bool:
        m = run(ratio)
        return m.abandon_rate <= cap and m.share_days_over_cap <= max_share_over

    lo, hi = 1.0, max(1.5, 3.0 / max(0.01, scenario.mean_answer_rate()))
    while ok(hi) and hi < 50.0:  # even the top is compliant: look higher
        lo, hi = hi, hi * 2.0
    while hi - lo > resolution + 1e-9:
        mid = round((lo + hi) / 2.0, 2)
        if mid in (lo, hi):
            break
        if ok(mid):
            lo = mid
        else:
            hi = mid
    best = lo
    while ok(round(best + resolution, 2)) and best + resolution < hi + 1.0:
        best = round(best + resolution, 2)
    return FixedRatioResult(best, run(best), tuple(probes))
