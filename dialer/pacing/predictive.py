"""Predictive pacer: dial for the agents free now and those about to free up, within an abandon budget.

Rule.  For the k-th new call, estimate the probability that it would be abandoned if a person
answers it: that the live answers still to come from calls already in flight, plus those of the
k-1 new calls before it, use up every agent that is free by the time it is answered (+ grace).
Each agent is free with a probability from its state and age (remaining-life of talk time, then
wrap-up); each ringing call answers with a probability from its ring age.  Launch while that
marginal probability is at most ``theta`` - the Lagrangian optimum of "most connected calls for a
given abandon rate" - and never fewer calls than progressive dialling would place.

Closed loop.  ``theta`` is adapted by stochastic approximation on the observed events: every live
answer raises ``log theta`` by ``gain * target``, every abandon lowers it by ``gain``, so the
realised abandon fraction settles at ``target`` whatever the model's bias.  ``target`` is the
abandon budget left for the rest of the day: the cap lowered by a margin that shrinks with the
day's projected answer volume (so at least ~95% of days end at or under the cap), minus what has
already been spent, spread over the answers still expected.  When that budget is nearly spent the
pacer falls back to progressive dialling, which cannot abandon, until it recovers.

Start of day.  Yesterday's answer rate is kept as a prior of little weight, and the pacer dials
progressively until today's first ``warmup_answers`` live answers (or ``warmup_seconds``): a list
that answers far better than yesterday's cannot flood the agents in the first minute.  While the
answer rate is uncertain the new calls are counted at its upper estimate (+2 standard errors).

Answering-machine detection.  People hung up on as machines are abandons the engine cannot see;
``hidden_abandon_share`` (the detector's measured share of "machine" verdicts that were people)
charges them to the budget.  Machines let through to agents (``AgentCallFinished.machine``) are
taken out of the day's answers.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from dialer.pacing.model import ModelPriors, PacingModel
from dialer.pacing.simple import dial_level, progressive_launch
from dialer.pacing.types import (
    Abandoned,
    AgentCallFinished,
    CallEnded,
    Observation,
    PacingDecision,
    PacingView,
    ViewCounts,
    count_view,
)

_NORMAL = NormalDist()


class PredictivePacer:
    """Model-based predictive pacer with a daily abandon-rate budget (see module docstring)."""

    def __init__(
        self,
        *,
        abandon_cap: float = 0.03,
        day_quantile: float = 0.95,
        overdispersion: float = 1.0,
        theta0: float = 0.05,
        gain: float = 0.05,
        theta_bounds: tuple[float, float] = (0.002, 0.5),
        exact_max_agents: int = 12,
        min_budget_share: float = 0.2,
        priors: ModelPriors | None = None,
        grace_seconds: float = 2.0,
        warmup_answers: int = 10,
        warmup_seconds: float = 300.0,
        day_start_weight: float = 30.0,
        hidden_abandon_share: float = 0.0,
    ) -> None:
        self.cap = abandon_cap
        self.z_day = _NORMAL.inv_cdf(day_quantile)
        self.overdispersion = overdispersion
        self.log_theta = math.log(theta0)
        self.gain = gain
        self.log_bounds = (math.log(theta_bounds[0]), math.log(theta_bounds[1]))
        self.exact_max_agents = exact_max_agents
        self.min_budget_share = min_budget_share
        self.model = PacingModel(priors, grace_seconds=grace_seconds)
        self.target = abandon_cap / 2.0
        self.fallback = False
        self.warmup_answers = warmup_answers
        self.warmup_seconds = warmup_seconds
        self.day_start_weight = day_start_weight
        self.hidden_abandon_share = hidden_abandon_share
        self._machines_today = 0
        self._machines_bridged_today = 0
        self._day_start: float | None = None
        self._last_answered = 0
        self._last_left: float | None = None

    @property
    def theta(self) -> float:
        """Current marginal abandon-probability threshold."""
        return math.exp(self.log_theta)

    # -- learning -------------------------------------------------------------------------------------
    def observe(self, obs: Observation) -> None:
        self.model.observe(obs)
        if isinstance(obs, CallEnded):
            if obs.outcome == "machine":
                self._machines_today += 1
            elif obs.outcome == "live" and not self.fallback:
                self.log_theta = min(self.log_bounds[1], self.log_theta + self.gain * self.target)
        elif isinstance(obs, AgentCallFinished) and obs.machine:
            self._machines_bridged_today += 1
        elif isinstance(obs, Abandoned):
            self.log_theta = max(self.log_bounds[0], self.log_theta - self.gain)

    # -- deciding -------------------------------------------------------------------------------------
    def decide(self, view: PacingView) -> PacingDecision:
        counts = count_view(view)
        if counts.active == 0:
            return PacingDecision(0, 0.0, "no agents")
        self._track_day(view)
        free_lines = view.max_lines - counts.lines_in_use
        if free_lines <= 0:
            return PacingDecision(0, dial_level(counts, 0), "max lines")
        self.model.refresh(view.now)
        progressive = min(progressive_launch(counts), free_lines)
        at_risk = self._update_budget(view, counts)
        self.fallback = at_risk
        if at_risk:
            return PacingDecision(progressive, dial_level(counts, progressive), "progressive: budget")
        wanted = self._predictive_launch(view, counts, free_lines)
        launch = max(progressive, min(wanted, free_lines))
        return PacingDecision(launch, dial_level(counts, launch), f"predictive theta={self.theta:.3f}")

    def _track_day(self, view: PacingView) -> None:
        """Notice the start of a new calling day (counters reset or time left jumps up)."""
        left = view.seconds_left_in_day
        new_day = self._day_start is None or view.answered_today < self._last_answered
        if left is not None and self._last_left is not None and left > self._last_left + 60.0:
            new_day = True
        if new_day:
            self._day_start = view.now
            self._machines_today = 0
            self._machines_bridged_today = 0
            # Yesterday's answer rate is only a prior for today's lists: let today's calls speak soon.
            self.model.answer.soften(self.day_start_weight)
            self.model.refresh(view.now, force=True)
        self._last_answered = view.answered_today
        self._last_left = left

    def _update_budget(self, view: PacingView, counts: ViewCounts) -> bool:
        """Set ``target`` (abandon rate allowed from now on today); True when the cap is at risk."""
        # People an answering-machine detector hung up on count as abandoned though unseen: estimate them.
        # Machines AMD let through to agents were counted as answers but were no people.
        hidden = self.hidden_abandon_share * self._machines_today
        answered = max(0.0, view.answered_today - self._machines_bridged_today) + hidden
        abandoned = view.abandoned_today + hidden
        start = self._day_start if self._day_start is not None else view.now
        elapsed = view.now - start
        per_agent = counts.active / (self.model.handle_mean() + 10.0)
        weight = min(1.0, answered / 200.0)
        observed = answered / elapsed if elapsed > 60.0 else per_agent
        rate = weight * observed + (1.0 - weight) * per_agent
        left = view.seconds_left_in_day
        # Unknown day length: assume the day is still young rather than nearly over.
        remaining = max(1000.0, float(answered)) if left is None else max(0.0, 0.9 * rate * left)
        day_total = answered + remaining
        margin = self.z_day * math.sqrt(self.cap * self.overdispersion / max(day_total, 1.0))
        cap_eff = max(0.25 * self.cap, self.cap - margin)
        budget = cap_eff * day_total - abandoned
        self.target = min(2.0 * cap_eff, max(0.0, budget / max(remaining, 1.0)))
        if view.answered_today < self.warmup_answers and elapsed < self.warmup_seconds:
            return True  # too few answers today to trust the answer rate: dial progressively
        return budget < 1.0 or self.target < self.min_budget_share * cap_eff

    def _predictive_launch(self, view: PacingView, counts: ViewCounts, free_lines: int) -> int:
        """Largest k whose k-th call would be abandoned (if answered) with probability <= theta."""
        model = self.model
        table = model.ring_table
        now = view.now
        calls = view.calls
        try:
            probs = [table[int(now - started)] for _, started, answered in calls if not answered]
        except IndexError:  # a call stuck far beyond any ring timeout: it will not be answered
            probs = [model.answer_prob_at(now - started) for _, started, answered in calls if not answered]
        certain = len(calls) - len(probs)
        talking = model.talk_free
        wrapup = model.wrap_free
        for _, state, since in view.agents:
            if state == "talking":
                probs.append(1.0 - talking[int(now - since)])
            elif state == "wrapup":
                probs.append(1.0 - wrapup[int(now - since)])
            elif state == "ringing":
                probs.append(1.0 - talking[0])
        p = self._p_upper()
        if counts.active <= self.exact_max_agents:
            return _exact_launch(counts.active - certain, probs, p, self.theta, free_lines)
        return _normal_launch(counts.active - certain, probs, p, self.theta, free_lines)

    def _p_upper(self) -> float:
        """Answer rate plus two standard errors of its estimate: cautious while little is known."""
        p = self.model.p
        n = self.model.answer.weight
        return min(0.95, p + 2.0 * math.sqrt(p * (1.0 - p) / n))


def _exact_launch(agents: int, probs: list[float], p: float, theta: float, cap: int) -> int:
    """Exact Poisson-binomial version of the rule, for small teams where the normal law is poor."""
    if agents <= 0:
        return 0
    uncertain = []
    for q in probs:
        if q >= 0.999:
            agents -= 1
        elif q > 1e-3:
            uncertain.append(q)
    if agents <= 0:
        return 0
    dist = [1.0] + [0.0] * agents
    for q in uncertain:
        _add_bernoulli(dist, q)
    launch = 0
    while launch < cap and dist[agents] <= theta:
        launch += 1
        _add_bernoulli(dist, p)
    return launch


def _add_bernoulli(dist: list[float], q: float) -> None:
    """Convolve in place with Bernoulli(q); the last cell of ``dist`` means "that many or more"."""
    top = len(dist) - 1
    dist[top] += dist[top - 1] * q
    for i in range(top - 1, 0, -1):
        dist[i] = dist[i] * (1.0 - q) + dist[i - 1] * q
    dist[0] *= 1.0 - q


def _normal_launch(agents: int, probs: list[float], p: float, theta: float, cap: int) -> int:
    """Normal approximation of the rule, solved in closed form for k (large teams)."""
    if agents <= 0:
        return 0
    mean = sum(probs)
    var = mean - sum([q * q for q in probs])
    z = _NORMAL.inv_cdf(1.0 - theta)
    limit = agents - 0.5
    c = p * (1.0 - p)
    # k-th call: mean + (k-1) p + z sqrt(var + (k-1) c) <= limit; solve for s = sqrt(var + (k-1) c).
    a = p / c
    const = mean - a * var - limit
    s0 = math.sqrt(var)
    if a * s0 * s0 + z * s0 + const > 0.0:
        return 0
    # f(s) = a s^2 + z s + const is convex and f(s0) <= 0, so k is feasible up to the larger root.
    root = (-z + math.sqrt(z * z - 4.0 * a * const)) / (2.0 * a)
    m = math.floor((root * root - var) / c + 1e-9)
    return max(0, min(cap, m + 1))
