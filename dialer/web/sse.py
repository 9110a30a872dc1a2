"""Server-sent events: one long response per browser tab, with heartbeats so proxies keep it open, and a
prompt end when the service shuts down (a graceful shutdown must not wait for idle dashboards) or when the
caller's session or token ends (logout, revocation, a disabled user, expiry): a stream must not go on
delivering agent events and screen pops to someone who is no longer allowed to see them.

Credentials are re-checked for all open streams together, every ``RECHECK`` seconds, with one query for
sessions and one for tokens, so 200 open dashboards cost the database what one does. The check reads the
database, so a token revoked from the CLI (another process) ends the stream too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiohttp import web

from dialer.web import auth, users

log = logging.getLogger(__name__)

STOPPING = web.AppKey("sse_stopping", asyncio.Event)
REGISTRY = web.AppKey("sse_registry", object)
HEARTBEAT = 15.0
RECHECK = 2.0
T = TypeVar("T")


class EventStream:
    def __init__(self, response: web.StreamResponse, stopping: asyncio.Event) -> None:
        self.response = response
        self.stopping = stopping
        self.ended = asyncio.Event()  # revoked, or the service stops
        self.closed = False
        if stopping.is_set():
            self.ended.set()

    @property
    def open(self) -> bool:
        return not self.closed and not self.ended.is_set()

    def end(self) -> None:
        self.ended.set()

    async def send(self, event: str, data: Any) -> None:
        payload = json.dumps(data, ensure_ascii=False, default=str)
        await self._write(f"event: {event}\ndata: {payload}\n\n")

    async def send_raw(self, text: bytes) -> None:
        """An event already serialised (shared by many streams: see dialer.web.dashboard)."""
        await self._write_bytes(text)

    async def ping(self) -> None:
        await self._write(": ping\n\n")

    async def _write(self, text: str) -> None:
        await self._write_bytes(text.encode())

    async def _write_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            await self.response.write(data)
        except (ConnectionResetError, RuntimeError):
            self.closed = True

    async def sleep(self, seconds: float) -> None:
        """Wait, but wake at once when the stream ends."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), seconds)

    async def get(self, queue: asyncio.Queue[T], timeout: float = HEARTBEAT) -> T | None:
        """The next queued item; None after ``timeout`` (a ping is sent) or when the stream ends."""
        getter = asyncio.ensure_future(queue.get())
        stopper = asyncio.ensure_future(self.ended.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:  # also when this handler is cancelled (the client went away): no task left pending
            stopper.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if not done:
            await self.ping()
        return None


class StreamRegistry:
    """Open streams and the credential each was opened with; ends those whose credential is gone."""

    def __init__(self, sessions: users.Sessions) -> None:
        self.sessions = sessions
        self.streams: dict[EventStream, users.Identity] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, stream: EventStream, identity: users.Identity | None) -> None:
        if identity is None:
            return
        self.streams[stream] = identity
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sse-recheck")

    def remove(self, stream: EventStream) -> None:
        self.streams.pop(stream, None)

    async def check(self) -> int:
        """End every stream whose session or token is no longer valid; returns how many were ended."""
        if not self.streams:
            return 0
        session_ids = {i.session_id for i in self.streams.values() if i.session_id is not None}
        token_ids = {i.token_id for i in self.streams.values() if i.token_id is not None}
        good_sessions, good_tokens = await users.still_valid(self.sessions, session_ids, token_ids)
        ended = 0
        for stream, ident in list(self.streams.items()):
            ok = (ident.session_id is not None and ident.session_id in good_sessions) or (
                ident.token_id is not None and ident.token_id in good_tokens
            )
            if not ok:
                stream.end()
                self.streams.pop(stream, None)
                ended += 1
        if ended:
            log.info("ended %d event stream(s): their session or token is no longer valid", ended)
        return ended

    async def _run(self) -> None:
        while self.streams:
            await asyncio.sleep(RECHECK)
            try:
                await self.check()
            except Exception as e:  # a database hiccup: try again next round
                log.warning("event streams: credential check failed: %s", e)

    async def stop(self) -> None:
        for stream in self.streams:
            stream.end()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def registry(app: web.Application) -> StreamRegistry:
    reg: Any = app[REGISTRY]
    assert isinstance(reg, StreamRegistry)
    return reg


@contextlib.asynccontextmanager
async def open_stream(request: web.Request) -> AsyncIterator[EventStream]:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    stream = EventStream(response, request.app[STOPPING])
    reg = registry(request.app)
    reg.add(stream, auth.cached_identity(request))
    try:
        await stream._write("retry: 2000\n\n")
        yield stream
    finally:
        reg.remove(stream)


def install(app: web.Application, sessions: users.Sessions) -> None:
    app[STOPPING] = asyncio.Event()
    app[REGISTRY] = StreamRegistry(sessions)

    async def stop(app: web.Application) -> None:
        app[STOPPING].set()
        await registry(app).stop()

    app.on_shutdown.append(stop)
