"""The IVR's audit rows, written behind the call in batches.

A look-up must not wait for a write (on SQLite all writers queue for one lock). Rows are queued in memory
with the time they happened and written together every ``interval`` seconds, or sooner when ``batch`` are
waiting, in one transaction. On a clean stop ``close()`` writes what is left; a crash loses at most the
last interval's rows. While the database is down rows wait (at most ``max_queued``; past that the oldest
are dropped and counted in the log) and are written when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dialer.db.outage import describe

log = logging.getLogger("dialer.ivr.audit")

Row = dict[str, Any]


class AuditWriter:
    def __init__(
        self,
        write: Callable[[list[Row]], Awaitable[None]],
        *,
        interval: float = 0.5,
        batch: int = 500,
        chunk: int = 100,
        max_queued: int = 50_000,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self.interval = interval
        self.batch = batch
        # rows per transaction: binding them runs on the event loop (SQLAlchemy's async layer), about 8 ms
        # for 500 audit rows on SQLite; 100 keeps each stall of the callers' look-ups short
        self.chunk = chunk
        self.max_queued = max_queued
        self._on_tick = on_tick
        self._queue: list[Row] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._late: set[asyncio.Task[Any]] = set()
        self.closed = False
        self.dropped = 0
        self.written = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add(self, row: Row) -> None:
        """Queue a row (never blocks, never raises). After ``close()`` it is written at once."""
        self._queue.append(row)
        if len(self._queue) > self.max_queued:
            over = len(self._queue) - self.max_queued
            del self._queue[:over]
            self.dropped += over
            log.error("IVR audit: database unwritable, %d rows dropped so far", self.dropped)
        if self.closed:
            t = asyncio.ensure_future(self.flush())
            self._late.add(t)
            t.add_done_callback(self._late.discard)
            return
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        if len(self._queue) >= self.batch:
            self._wake.set()

    async def _run(self) -> None:
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if self._on_tick is not None:
                self._on_tick()
            await self.flush(quiet=True)

    async def flush(self, *, quiet: bool = False) -> bool:
        """Write everything queued now; True when the queue was written (or empty)."""
        async with self._lock:
            while self._queue:
                await asyncio.sleep(0)  # callers' look-ups go first between chunks
                rows = self._queue[: self.chunk]
                del self._queue[: len(rows)]
                try:
                    await self._write(rows)
                except BaseException as e:
                    self._queue[:0] = rows  # back in front, in order; retried on the next tick
                    if not quiet or not isinstance(e, Exception):
                        raise
                    log.warning(
                        "IVR audit: %d rows wait, the database refused them: %s",
                        len(self._queue),
                        describe(e),
                    )
                    return False
                self.written += len(rows)
            return True

    async def close(self) -> None:
        """Stop the background writer and write what is left (raises if the database refuses it)."""
        self.closed = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()
        if self._late:
            await asyncio.gather(*self._late, return_exceptions=True)
