"""The per-caller look-up limit, kept in memory: unknown numbers per calling number within a window.

The limit used to be counted in the audit log inside each look-up's write transaction, which made every
look-up a write, and SQLite serialises writes: 50 callers at once queued for hundreds of milliseconds. Here
the count is exact without touching the database: each unknown number is a timestamp in the caller's queue,
the queue is seeded from the audit log when the service starts (so a restart forgives nobody), and one
caller's look-ups take turns (check, look up, count), so two concurrent calls from one number can not both
slip under the limit. Memory holds only callers with a miss inside the window.

Stdlib only: the classic AGI script uses it too (seeded per call for its one caller).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager


class MissLimiter:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._misses: dict[
            str, deque[float]
        ] = {}  # caller -> monotonic times of unknown numbers, oldest first
        self._turns: dict[str, asyncio.Lock] = {}

    def seed(self, misses: Iterable[tuple[str, float]]) -> None:
        """Misses from the audit log: (caller, Unix time). Times are moved onto the monotonic clock, so a
        wall-clock step later does not stretch or shrink anyone's window."""
        now_mono, now_wall = self._clock(), self._wall()
        for caller, at in sorted(misses, key=lambda m: m[1]):
            self._misses.setdefault(caller, deque()).append(now_mono - max(0.0, now_wall - at))

    def count(self, caller: str, window_s: float) -> int:
        q = self._misses.get(caller)
        if q is None:
            return 0
        since = self._clock() - window_s
        while q and q[0] < since:
            q.popleft()
        if not q:
            del self._misses[caller]
            return 0
        return len(q)

    def miss(self, caller: str) -> None:
        self._misses.setdefault(caller, deque()).append(self._clock())

    def sweep(self, window_s: float) -> None:
        """Forget callers whose misses are all older than the window (called now and then)."""
        for caller in list(self._misses):
            self.count(caller, window_s)

    def callers(self) -> int:
        return len(self._misses)

    @asynccontextmanager
    async def turn(self, caller: str) -> AsyncIterator[None]:
        """One look-up at a time per caller: check, look up and count without another call in between."""
        lock = self._turns.setdefault(caller, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._turns.get(caller) is lock:
                del self._turns[caller]
