"""Virtual time: an asyncio loop whose clock jumps to the next timer instead of waiting for it.

A simulated 10-hour calling day is then as long as the work done in it, and it is deterministic: nothing
depends on how fast the machine is. The loop waits for no I/O at all (the simulated Asterisk and the
in-process SQLite answer at once), so when nothing is ready the only thing that can happen next is the
earliest timer, and the clock moves to it.

The engine reads the wall clock with ``time.time()`` in a few modules (``dialer.engine.engine``,
``placing``, ``routes``, ``recovery``); :func:`engine_time` points those modules' ``time`` at the loop's
clock for the length of a run and puts the real module back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import sys
import time
from collections.abc import Iterator
from typing import Any


class _JumpingSelector(selectors.SelectSelector):
    """Polls without blocking; a wait of ``timeout`` seconds becomes a jump of the loop's clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            if timeout is None and not ready:
                raise RuntimeError("virtual time: nothing is scheduled and nothing can wake the loop")
            return ready
        self._loop.jump(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` counts virtual seconds from 0; ``wall()`` is that instant as seconds since the epoch,
    starting at ``epoch``. (The loop's own clock stays small so that asyncio's timer resolution of a
    nanosecond is not lost in the rounding of a ten-digit number.)"""

    def __init__(self, epoch: float) -> None:
        self.epoch = float(epoch)
        self._now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._now

    def wall(self) -> float:
        return self.epoch + self._now

    def jump(self, seconds: float) -> None:
        """Move the clock forward (a wait, or a night between two simulated days)."""
        if seconds > 0:
            self._now += seconds


class _LoopClock:
    """Stands in for the ``time`` module inside the engine's modules during a run."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop

    def time(self) -> float:
        return self._loop.wall()

    def monotonic(self) -> float:
        return self._loop.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


ENGINE_PREFIX = "dialer.engine."


@contextlib.contextmanager
def engine_time(loop: VirtualTimeLoop) -> Iterator[list[str]]:
    """Within the block, every ``dialer.engine.*`` module that imported ``time`` reads the loop's clock.
    Yields the names of the modules switched (the lines a clock hook in the engine would replace)."""
    shim = _LoopClock(loop)
    switched = [
        m
        for name, m in sorted(sys.modules.items())
        if name.startswith(ENGINE_PREFIX) and getattr(m, "time", None) is time
    ]
    for m in switched:
        setattr(m, "time", shim)  # noqa: B010 - a module attribute, named on purpose
    try:
        yield [m.__name__ for m in switched]
    finally:
        for m in switched:
            setattr(m, "time", time)  # noqa: B010
