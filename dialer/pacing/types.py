"""Value types exchanged between the dialer engine (or the simulator) and a pacer.

The engine builds a :class:`PacingView` about once a second and asks the pacer how many new calls to
place.  Views are plain immutable tuples so that the simulator can keep one per agent/call and reuse
it until the state changes: building thousands of objects per simulated second would dominate the
run time of a simulated day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeAlias

AgentState: TypeAlias = Literal["ready", "ringing", "talking", "wrapup", "paused"]
Outcome: TypeAlias = Literal["live", "machine", "busy", "noanswer", "failed", "invalid"]


class AgentView(NamedTuple):
    """One logged-in agent: its state and the time (seconds, engine clock) that state began.

    ``ringing`` means the agent's phone is being rung to bridge a call to it; ``paused`` agents
    are logged in but take no calls and are ignored by the pacers.
    """

    agent_id: str
    state: AgentState
    since: float


class CallView(NamedTuple):
    """An outbound call in flight that is not (yet) bridged to an agent.

    ``answered`` is True once a live person answered and the call waits for a free agent; the
    engine drops it (an abandon) after a short grace period if none frees up.
    """

    call_id: str
    started: float
    answered: bool


class PacingView(NamedTuple):
    """Everything the pacer may look at: the state *now*, never a sampled future.

    ``answered_today``/``abandoned_today`` are the engine's daily counters of live answers and of
    live answers dropped for want of an agent (the regulated abandon rate is their quotient).
    ``seconds_left_in_day`` is the time until dialling stops today, or None when unknown.
    ``max_lines`` bounds calls in flight plus calls bridged to agents (trunk capacity).
    """

    now: float
    agents: Sequence[AgentView]
    calls: Sequence[CallView]
    answered_today: int
    abandoned_today: int
    seconds_left_in_day: float | None
    max_lines: int


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many NEW calls to place now; ``dial_level`` is lines per active agent, for metrics."""

    launch: int
    dial_level: float
    reason: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The ringing phase of a call ended: answered (``live``/``machine``) or failed to connect.

    ``ring_seconds`` is the time from dialling to that outcome.  For ``live`` the call then goes on
    to an agent (or is abandoned); the pacer learns the answer rate and ring-time shapes from these.
    """

    ring_seconds: float
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class AgentCallFinished:
    """An agent finished a call and its after-call work; durations feed the handle-time model.

    ``machine`` is the agent's disposition "that was an answering machine" (AMD let it through):
    the call was counted as a live answer but was not a person, so it must not dilute the abandon rate.
    """

    talk_seconds: float
    wrapup_seconds: float
    machine: bool = False


@dataclass(frozen=True, slots=True)
class Abandoned:
    """A live-answered call was dropped because no agent freed up in time."""


Observation: TypeAlias = CallEnded | AgentCallFinished | Abandoned


class Pacer(Protocol):
    """What the engine calls: ``decide`` about once a second, ``observe`` for every event."""

    def decide(self, view: PacingView) -> PacingDecision: ...

    def observe(self, obs: Observation) -> None: ...


class ViewCounts(NamedTuple):
    """Counts every pacer needs, computed once per view."""

    ready: int
    busy: int
    talking: int
    ringing_calls: int
    waiting_calls: int

    @property
    def active(self) -> int:
        """Agents that are logged in and not paused."""
        return self.ready + self.busy

    @property
    def lines_in_use(self) -> int:
        """Calls in flight plus calls bridged to agents (agents talking or being rung)."""
        return self.ringing_calls + self.waiting_calls + self.talking


def count_view(view: PacingView) -> ViewCounts:
    """Tally agents and calls by state (a single pass over each list)."""
    ready = busy = talking = 0
    for agent in view.agents:
        state = agent.state
        if state == "ready":
            ready += 1
        elif state == "paused":
            continue
        else:
            busy += 1
            if state != "wrapup":
                talking += 1
    waiting = sum([answered for _, _, answered in view.calls])
    return ViewCounts(ready, busy, talking, len(view.calls) - waiting, waiting)


def cap_launch(wanted: int, view: PacingView, counts: ViewCounts) -> int:
    """Clip a launch count to [0, free lines]; no agent logged in means no dialling at all."""
    if counts.active == 0:
        return 0
    free_lines = view.max_lines - counts.lines_in_use
    return max(0, min(wanted, free_lines))
