"""Concurrent look-ups coalesced into one query.

An indexed read of one row costs the database microseconds; what costs is everything around it (a pooled
connection, a session, the driver's round trip or, for SQLite, a hop to the connection's thread), about a
millisecond of the process's CPU each. With 50 callers keying numbers at once those milliseconds queue. So
look-ups that arrive while a query is in flight wait for the next one, which fetches all their keys at once
(``WHERE key IN (...)``): the overhead is paid per batch, not per caller. A lone caller still gets their
own query at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")


class Coalescer(Generic[V]):
    def __init__(
        self,
        fetch: Callable[[list[str]], Awaitable[dict[str, V]]],
        missing: V,
        *,
        max_batch: int = 200,
        parallel: int = 2,
    ) -> None:
        self._fetch = fetch
        self._missing = missing
        self.max_batch = max_batch
        self.parallel = parallel  # queries in flight at once (a second one fills while the first runs)
        self._pending: list[tuple[str, asyncio.Future[V]]] = []
        self._running = 0
        self._drains: set[asyncio.Task[None]] = set()
        self.queries = 0  # for the benchmark: look-ups per query

    async def get(self, key: str) -> V:
        fut: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.append((key, fut))
        if self._running < self.parallel:
            self._running += 1
            task = asyncio.ensure_future(self._drain())
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        return await fut

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # let the look-ups of this loop turn join the batch
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: len(batch)]
                await self._answer(batch)
        finally:
            self._running -= 1

    async def _answer(self, batch: Sequence[tuple[str, asyncio.Future[V]]]) -> None:
        self.queries += 1
        try:
            found = await self._fetch(sorted({k for k, _ in batch}))
        except BaseException as e:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e if isinstance(e, Exception) else ConnectionError(repr(e)))
            if not isinstance(e, Exception):
                raise
            return
        for key, fut in batch:
            if not fut.done():
                fut.set_result(found.get(key, self._missing))
