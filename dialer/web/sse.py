"""Server-sent events: one long response per browser tab, with heartbeats so proxies keep it open, and a
prompt end when the service shuts down (a graceful shutdown must not wait for idle dashboards)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiohttp import web

STOPPING = web.AppKey("sse_stopping", asyncio.Event)
HEARTBEAT = 15.0
T = TypeVar("T")


class EventStream:
    def __init__(self, response: web.StreamResponse, stopping: asyncio.Event) -> None:
        self.response = response
        self.stopping = stopping
        self.closed = False

    @property
    def open(self) -> bool:
        return not self.closed and not self.stopping.is_set()

    async def send(self, event: str, data: Any) -> None:
        payload = json.dumps(data, ensure_ascii=False, default=str)
        await self._write(f"event: {event}\ndata: {payload}\n\n")

    async def ping(self) -> None:
        await self._write(": ping\n\n")

    async def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.response.write(text.encode())
        except (ConnectionResetError, RuntimeError):
            self.closed = True

    async def sleep(self, seconds: float) -> None:
        """Wait, but wake at once when the service stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def get(self, queue: asyncio.Queue[T], timeout: float = HEARTBEAT) -> T | None:
        """The next queued item; None after ``timeout`` (a ping is sent) or when the service stops."""
        getter = asyncio.ensure_future(queue.get())
        stopper = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({getter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        if not done:
            await self.ping()
        return None


@contextlib.asynccontextmanager
async def open_stream(request: web.Request) -> AsyncIterator[EventStream]:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    stream = EventStream(response, request.app[STOPPING])
    await stream._write("retry: 2000\n\n")
    yield stream


def install(app: web.Application) -> None:
    app[STOPPING] = asyncio.Event()

    async def stop(app: web.Application) -> None:
        app[STOPPING].set()

    app.on_shutdown.append(stop)
