"""Call-centre scenarios: the customers, the agents and their schedule for a simulated day.

A scenario is pure data plus the functions that sample from it through keyed streams (see
:mod:`dialer.simulator.rng`), so the engine never owns a random generator whose state could couple
one policy's choices to another's customers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from dialer.simulator.rng import (
    STREAM_AGENT_CALL,
    STREAM_CUSTOMER,
    STREAM_SCHEDULE,
    lognormal,
    stream_key,
    uniform,
)

Fate = Literal["live", "machine", "busy", "noanswer", "failed", "invalid"]


class CallFate(NamedTuple):
    """What happens to one dialled number.

    ``seen`` is what the engine observes when ringing ends (``live`` means "bridge to an agent"),
    ``human`` whether a person really answered (the regulated abandon rate counts those), and
    ``machine_talk`` the agent time a machine wrongly passed to an agent wastes.
    """

    ring: float
    seen: Fate
    human: bool
    machine_talk: float


class AgentShift(NamedTuple):
    """One agent's day: login/logout times (s from the day's start) and (start, duration) breaks."""

    login: float
    logout: float
    breaks: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Scenario:
    """Parameters of a simulated calling day; ``*_end`` values make a parameter drift linearly."""

    name: str = "stationary"
    agents: int = 10
    answer_rate: float = 0.3
    answer_rate_end: float | None = None
    talk_mean: float = 120.0
    talk_mean_end: float | None = None
    talk_cv: float = 1.0
    short_share: float = 0.1
    short_range: tuple[float, float] = (10.0, 30.0)
    wrapup_mean: float = 15.0
    wrapup_cv: float = 0.2
    ring_mean: float = 8.0
    ring_cv: float = 0.4
    ring_bimodal: bool = False
    ring_timeout: float = 20.0
    busy_share: float = 0.08
    invalid_share: float = 0.04
    failed_share: float = 0.01
    fast_fail_range: tuple[float, float] = (2.0, 6.0)
    machine_share: float = 0.0
    amd: bool = False
    amd_delay: float = 2.5
    amd_false_machine: float = 0.0
    amd_false_human: float = 0.0
    machine_talk_range: tuple[float, float] = (5.0, 20.0)
    abandon_after: float = 2.0
    day_seconds: float = 36000.0
    lunch: bool = False
    lunch_seconds: float = 3600.0
    breaks: bool = False
    max_lines: int | None = None

    def __post_init__(self) -> None:
        if self.ring_timeout < 15.0:
            raise ValueError("ring_timeout must be at least 15 s")
        if self.agents < 1:
            raise ValueError("need at least one agent")
        shares = self.answer_rate + self.machine_share + self.busy_share + self.invalid_share
        if (
            shares + self.failed_share > 1.0
            or (self.answer_rate_end or 0.0) + shares - self.answer_rate > 1.0
        ):
            raise ValueError("outcome shares exceed 1")

    def with_(self, **changes: object) -> Scenario:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def lines(self) -> int:
        """Trunk capacity: explicit, or 10 lines per agent (+10) which no sane policy reaches."""
        return self.max_lines if self.max_lines is not None else 10 * self.agents + 10

    def _drift(self, start: float, end: float | None, t: float) -> float:
        if end is None:
            return start
        frac = min(1.0, max(0.0, t / self.day_seconds))
        return start + (end - start) * frac

    def answer_rate_at(self, t: float) -> float:
        """Live-answer probability of a number dialled at ``t`` s into the day."""
        return self._drift(self.answer_rate, self.answer_rate_end, t)

    def talk_mean_at(self, t: float) -> float:
        """Mean of the long-call talk-time component for a call connected at ``t``."""
        return self._drift(self.talk_mean, self.talk_mean_end, t)

    def mean_answer_rate(self) -> float:
        """Day-average answer rate (for open-loop references)."""
        end = self.answer_rate_end if self.answer_rate_end is not None else self.answer_rate
        return (self.answer_rate + end) / 2.0

    def mean_talk(self) -> float:
        """Day-average mean talk time including the short-call mixture."""
        end = self.talk_mean_end if self.talk_mean_end is not None else self.talk_mean
        long_mean = (self.talk_mean + end) / 2.0
        return (1.0 - self.short_share) * long_mean + self.short_share * sum(self.short_range) / 2.0

    # -- sampling -------------------------------------------------------------------------------------
    def call_fate(self, seed: int, day: int, index: int, t: float) -> CallFate:
        """Fate of the ``index``-th number dialled on ``day``, dialled at ``t`` s into the day."""
        return self.fate_of(stream_key(seed, STREAM_CUSTOMER, day, index), t)

    def fate_of(self, key: int, t: float) -> CallFate:
        """Fate of the customer whose stream is ``key`` (see :func:`customer_keys`)."""
        u = uniform(key, 0)
        p = self.answer_rate if self.answer_rate_end is None else self.answer_rate_at(t)
        timeout = self.ring_timeout
        if u < p + self.machine_share:
            human = u < p
            ring = self._ring_time(key)
            if ring >= timeout:
                return CallFate(timeout, "noanswer", False, 0.0)
            if not self.amd:
                talk = 0.0 if human else self._machine_talk(key)
                return CallFate(ring, "live", human, talk)
            ring += self.amd_delay
            wrong = uniform(key, 5) < (self.amd_false_machine if human else self.amd_false_human)
            if human:
                return CallFate(ring, "machine" if wrong else "live", True, 0.0)
            if wrong:
                return CallFate(ring, "live", False, self._machine_talk(key))
            return CallFate(ring, "machine", False, 0.0)
        u -= p + self.machine_share
        fast_share = self.busy_share + self.invalid_share + self.failed_share
        if u >= fast_share:
            return CallFate(timeout, "noanswer", False, 0.0)
        lo, hi = self.fast_fail_range
        fast = lo + (hi - lo) * uniform(key, 1)
        if u < self.busy_share:
            return CallFate(fast, "busy", False, 0.0)
        if u < self.busy_share + self.invalid_share:
            return CallFate(fast, "invalid", False, 0.0)
        return CallFate(fast, "failed", False, 0.0)

    def _ring_time(self, key: int) -> float:
        if self.ring_bimodal:
            if uniform(key, 4) < 0.7:
                return lognormal(key, 1, 0.75 * self.ring_mean, 0.3)
            return lognormal(key, 1, 1.6 * self.ring_mean, 0.25)
        return lognormal(key, 1, self.ring_mean, self.ring_cv)

    def _machine_talk(self, key: int) -> float:
        lo, hi = self.machine_talk_range
        return lo + (hi - lo) * uniform(key, 6)

    def agent_call(self, seed: int, day: int, agent: int, nth: int, t: float) -> tuple[float, float]:
        """(talk, wrap-up) seconds of ``agent``'s ``nth`` call of the day, connected at ``t``."""
        return self.agent_call_of(stream_key(seed, STREAM_AGENT_CALL, day, agent * 1_000_003 + nth), t)

    def agent_call_of(self, key: int, t: float) -> tuple[float, float]:
        """(talk, wrap-up) of the agent call whose stream is ``key``."""
        if uniform(key, 0) < self.short_share:
            lo, hi = self.short_range
            talk = lo + (hi - lo) * uniform(key, 1)
        else:
            talk = lognormal(key, 1, self.talk_mean_at(t), self.talk_cv)
        return talk, lognormal(key, 3, self.wrapup_mean, self.wrapup_cv)

    def shift(self, seed: int, day: int, agent: int) -> AgentShift:
        """Login, logout and breaks of one agent (all agents present all day unless options say else)."""
        key = stream_key(seed, STREAM_SCHEDULE, day, agent)
        login, logout = 0.0, self.day_seconds
        breaks: list[tuple[float, float]] = []
        if self.breaks:
            login = 900.0 * uniform(key, 0)
            logout = self.day_seconds - 900.0 * uniform(key, 1)
            breaks.append((login + (logout - login) * (0.2 + 0.6 * uniform(key, 2)), 900.0))
        if self.lunch and agent % 2 == 0:
            breaks.append((self.day_seconds / 2.0 - self.lunch_seconds / 2.0, self.lunch_seconds))
        breaks.sort()
        return AgentShift(login, logout, tuple(breaks))


def stationary(agents: int, answer_rate: float, talk_mean: float = 120.0) -> Scenario:
    """Constant parameters all day."""
    return Scenario(
        name=f"N{agents}_p{answer_rate:g}", agents=agents, answer_rate=answer_rate, talk_mean=talk_mean
    )


def answer_rate_drift(agents: int = 50) -> Scenario:
    """The answer rate falls linearly from 0.30 to 0.15 over the day."""
    return Scenario(name=f"p_drift_N{agents}", agents=agents, answer_rate=0.3, answer_rate_end=0.15)


def talk_drift(agents: int = 50) -> Scenario:
    """Mean talk time drifts from 90 s to 150 s over the day."""
    return Scenario(
        name=f"talk_drift_N{agents}", agents=agents, answer_rate=0.2, talk_mean=90.0, talk_mean_end=150.0
    )


def lunch_break(agents: int = 50) -> Scenario:
    """Half the agents leave for a one-hour lunch mid-day."""
    return Scenario(name=f"lunch_N{agents}", agents=agents, answer_rate=0.2, lunch=True)


DRIFT_SCENARIOS = (answer_rate_drift, talk_drift, lunch_break)
