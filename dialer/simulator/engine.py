"""Discrete-event simulation of one calling day, driving a pacer exactly as the live engine does.

The pacer is asked ``decide`` at every whole simulated second while dialling is open and is fed the
same observations the engine emits (:mod:`dialer.pacing.types`).  It only ever sees the present
(who is ready, which calls ring and for how long, today's counters) - the customers' fates are
sampled when dialled but stay hidden in the simulator until they happen.

Bridging a call to an agent is instantaneous here, so the agents' ``ringing`` state stays empty;
dialling closes ``ring_timeout + abandon_after + 1`` s before the day ends so that the last calls
meet agents who are still logged in.

Bookkeeping is checked at the end of every day (:class:`BooksError`): each dial ends exactly once,
and per agent the time in ready/ringing/talking/wrap-up/paused adds up to the time logged in.
"""

from __future__ import annotations

import heapq
from collections import deque
from itertools import count

from dialer.pacing.types import (
    Abandoned,
    AgentCallFinished,
    AgentState,
    AgentView,
    CallEnded,
    CallView,
    Pacer,
    PacingView,
)
from dialer.simulator.metrics import DayStats
from dialer.simulator.rng import STREAM_AGENT_CALL, STREAM_CUSTOMER, day_key, item_key
from dialer.simulator.scenario import CallFate, Scenario

_RING_END, _ABANDON, _TALK_END, _WRAP_END, _BREAK, _BREAK_END, _LOGIN, _LOGOUT = range(8)
_MACHINE_WRAPUP = 5.0
_STATES: tuple[AgentState, ...] = ("ready", "ringing", "talking", "wrapup", "paused")


class BooksError(AssertionError):
    """The simulator's accounting does not balance: a bug in the simulator, never in a pacer."""


class PacerError(ValueError):
    """The pacer returned an impossible decision (negative launch, or more calls than free lines)."""


class DaySimulation:
    """One day.  ``clock`` offsets the engine clock so that time runs on across days for the pacer."""

    def __init__(self, scenario: Scenario, pacer: Pacer, *, seed: int, day: int, clock: float = 0.0) -> None:
        self.sc = scenario
        self.pacer = pacer
        self.seed = seed
        self.day = day
        self.t0 = clock
        self.stats = DayStats()
        n = scenario.agents
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = count()
        self._state: list[AgentState] = ["paused"] * n
        self._since = [0.0] * n
        self._acc = [dict.fromkeys(_STATES, 0.0) for _ in range(n)]
        self._logged_in = [False] * n
        self._login_at = [0.0] * n
        self._logout_at = [0.0] * n
        self._pending_break = [0.0] * n
        self._pending_logout = [False] * n
        self._nth = [0] * n
        self._cur_call = [-1] * n
        self._cur_talk = [0.0] * n
        self._cur_human = [True] * n
        self._cur_wrap = [0.0] * n
        self._token = [0] * n
        self._break_len: list[deque[float]] = [deque() for _ in range(n)]
        self._views: dict[int, AgentView] = {}
        self._ready: deque[tuple[int, int]] = deque()
        self._calls: dict[int, CallView] = {}
        self._fates: dict[int, CallFate] = {}
        self._waiting: deque[int] = deque()
        self._ended: set[int] = set()
        self._bridged = 0
        self._next_call = 0
        self._customers = day_key(seed, STREAM_CUSTOMER, day)
        self._agent_calls = day_key(seed, STREAM_AGENT_CALL, day)

    # -- public -------------------------------------------------------------------------------------
    def run(self) -> DayStats:
        """Simulate the day to the last hang-up and return its tallies (books checked)."""
        sc, t0 = self.sc, self.t0
        for agent in range(sc.agents):
            shift = sc.shift(self.seed, self.day, agent)
            self._push(t0 + shift.login, _LOGIN, agent)
            for start, duration in shift.breaks:
                self._break_len[agent].append(duration)
                self._push(t0 + start, _BREAK, agent)
            self._push(t0 + shift.logout, _LOGOUT, agent)
        # Dialling closes early enough that the last calls are answered while agents are still on.
        dial_end = t0 + sc.day_seconds - sc.ring_timeout - sc.abandon_after - 1.0
        tick = t0
        heap = self._heap
        while heap or tick < dial_end:
            if heap and (heap[0][0] <= tick or tick >= dial_end):
                when, _, kind, who = heapq.heappop(heap)
                self._handle(when, kind, who)
            else:
                self._decide(tick, dial_end)
                tick += 1.0
        self._check_books()
        return self.stats

    # -- events -------------------------------------------------------------------------------------
    def _push(self, when: float, kind: int, who: int) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), kind, who))

    def _handle(self, now: float, kind: int, who: int) -> None:
        if kind == _RING_END:
            self._ring_end(now, who)
        elif kind == _ABANDON:
            self._abandon(now, who)
        elif kind == _TALK_END:
            self._talk_end(now, who)
        elif kind == _WRAP_END:
            self._wrap_end(now, who)
        elif kind == _BREAK:
            self._break(now, who)
        elif kind == _BREAK_END:
            if self._logged_in[who] and self._state[who] == "paused":
                if self._pending_logout[who]:
                    self._logout(now, who)
                else:
                    self._become_ready(now, who)
        elif kind == _LOGIN:
            self._logged_in[who] = True
            self._login_at[who] = now
            self._since[who] = now
            self._state[who] = "ready"
            self._become_ready(now, who)
        elif kind == _LOGOUT and self._logged_in[who]:
            if self._state[who] in ("ready", "paused"):
                self._logout(now, who)
            else:
                self._pending_logout[who] = True

    def _decide(self, now: float, dial_end: float) -> None:
        stats = self.stats
        lines = self.sc.lines
        view = PacingView(
            now,
            list(self._views.values()),
            list(self._calls.values()),
            stats.engine_answered,
            stats.engine_abandoned,
            dial_end - now,
            lines,
        )
        decision = self.pacer.decide(view)
        launch = decision.launch
        free = lines - len(self._calls) - self._bridged
        if not isinstance(launch, int) or launch < 0 or launch > max(free, 0):
            raise PacerError(f"pacer asked for {launch!r} calls with {free} free lines")
        if not launch:
            return
        fate_of, family, t = self.sc.fate_of, self._customers, now - self.t0
        fates, calls, heap, seq = self._fates, self._calls, self._heap, self._seq
        for index in range(self._next_call, self._next_call + launch):
            fate = fate_of(item_key(family, index), t)
            fates[index] = fate
            calls[index] = CallView(str(index), now, False)
            heapq.heappush(heap, (now + fate.ring, next(seq), _RING_END, index))
        self._next_call += launch
        stats.dials += launch
        in_use = len(self._calls) + self._bridged
        if in_use > stats.peak_lines:
            stats.peak_lines = in_use

    def _ring_end(self, now: float, index: int) -> None:
        fate = self._fates[index]
        stats = self.stats
        self.pacer.observe(CallEnded(fate.ring, fate.seen))
        if fate.human:
            stats.human_answered += 1
        if fate.seen != "live":
            if fate.human:  # a person taken for a machine by AMD and hung up on
                stats.human_abandoned += 1
            del self._calls[index]
            self._end(index)
            return
        stats.engine_answered += 1
        agent = self._pop_ready()
        if agent is not None:
            del self._calls[index]
            self._connect(now, agent, index)
            return
        self._calls[index] = self._calls[index]._replace(answered=True)
        self._waiting.append(index)
        heapq.heappush(self._heap, (now + self.sc.abandon_after, next(self._seq), _ABANDON, index))

    def _abandon(self, now: float, index: int) -> None:
        if index not in self._calls:
            return  # bridged in time
        self._waiting.remove(index)
        del self._calls[index]
        stats = self.stats
        stats.engine_abandoned += 1
        if self._fates[index].human:
            stats.human_abandoned += 1
        self.pacer.observe(Abandoned())
        self._end(index)

    def _end(self, index: int) -> None:
        if index in self._ended:
            raise BooksError(f"call {index} ended twice")
        self._ended.add(index)
        del self._fates[index]

    # -- agents -------------------------------------------------------------------------------------
    def _set_state(self, now: float, agent: int, state: AgentState) -> None:
        self._acc[agent][self._state[agent]] += now - self._since[agent]
        self._state[agent] = state
        self._since[agent] = now
        self._views[agent] = AgentView(f"agent{agent}", state, now)

    def _connect(self, now: float, agent: int, index: int) -> None:
        stats = self.stats
        stats.wait_sum += now - self._since[agent]
        stats.wait_count += 1
        fate = self._fates[index]
        if fate.human:
            stats.connected_humans += 1
            nth = self._nth[agent]
            self._nth[agent] = nth + 1
            key = item_key(self._agent_calls, agent * 1_000_003 + nth)
            talk, wrap = self.sc.agent_call_of(key, now - self.t0)
        else:
            talk, wrap = fate.machine_talk, _MACHINE_WRAPUP
        self._set_state(now, agent, "talking")
        self._cur_call[agent] = index
        self._cur_human[agent] = fate.human
        self._cur_talk[agent] = talk
        self._cur_wrap[agent] = wrap
        self._bridged += 1
        heapq.heappush(self._heap, (now + talk, next(self._seq), _TALK_END, agent))

    def _talk_end(self, now: float, agent: int) -> None:
        self._bridged -= 1
        self._end(self._cur_call[agent])
        self._cur_call[agent] = -1
        self._set_state(now, agent, "wrapup")
        heapq.heappush(self._heap, (now + self._cur_wrap[agent], next(self._seq), _WRAP_END, agent))

    def _wrap_end(self, now: float, agent: int) -> None:
        machine = not self._cur_human[agent]
        self.pacer.observe(AgentCallFinished(self._cur_talk[agent], self._cur_wrap[agent], machine))
        if self._pending_logout[agent]:
            self._logout(now, agent)
        elif self._pending_break[agent] > 0.0:
            self._start_break(now, agent)
        else:
            self._become_ready(now, agent)

    def _become_ready(self, now: float, agent: int) -> None:
        self._set_state(now, agent, "ready")
        if self._waiting:
            index = self._waiting.popleft()
            del self._calls[index]
            self._connect(now, agent, index)
            return
        self._token[agent] += 1
        self._ready.append((agent, self._token[agent]))

    def _pop_ready(self) -> int | None:
        ready, token, state = self._ready, self._token, self._state
        while ready:
            agent, tok = ready.popleft()
            if token[agent] == tok and state[agent] == "ready":
                return agent
        return None

    def _break(self, now: float, agent: int) -> None:
        duration = self._break_len[agent].popleft()
        if not self._logged_in[agent] or self._state[agent] == "paused" or duration <= 0.0:
            return
        self._pending_break[agent] = duration
        if self._state[agent] == "ready":
            self._start_break(now, agent)

    def _start_break(self, now: float, agent: int) -> None:
        duration = self._pending_break[agent]
        self._pending_break[agent] = 0.0
        self._token[agent] += 1
        self._set_state(now, agent, "paused")
        heapq.heappush(self._heap, (now + duration, next(self._seq), _BREAK_END, agent))

    def _logout(self, now: float, agent: int) -> None:
        self._set_state(now, agent, self._state[agent])
        self._token[agent] += 1
        self._logged_in[agent] = False
        self._logout_at[agent] = now
        del self._views[agent]

    # -- books --------------------------------------------------------------------------------------
    def _check_books(self) -> None:
        stats = self.stats
        if self._calls or self._fates or self._waiting or self._bridged:
            raise BooksError("calls still in flight after the day ended")
        if len(self._ended) != stats.dials or self._next_call != stats.dials:
            raise BooksError(f"{stats.dials} dials but {len(self._ended)} ended")
        for agent in range(self.sc.agents):
            if self._logged_in[agent]:
                raise BooksError(f"agent {agent} never logged out")
            acc = self._acc[agent]
            logged = self._logout_at[agent] - self._login_at[agent]
            total = sum(acc.values())
            if abs(total - logged) > 1e-6 * max(1.0, logged):
                raise BooksError(f"agent {agent}: states sum to {total:.6f} s, logged in {logged:.6f} s")
            stats.logged += logged
            stats.ready += acc["ready"]
            stats.ringing += acc["ringing"]
            stats.talk += acc["talking"]
            stats.wrapup += acc["wrapup"]
            stats.paused += acc["paused"]
