"""In-process event bus: the engine publishes, the web layer (SSE/WebSocket) and others subscribe.

Events are plain JSON-able dicts with a ``type``. The engine publishes at least:

- ``{"type": "call.bridged", "agent": "101", "attempt_id": 7, "campaign": "c1", "contact_id": 3,
  "phone": "+79900001231", "application": {"number": "A-1", "applicant_name": "...", "status": "ready",
  "pickup_office": "...", "pickup_from": "2027-03-01"} | None, "inbound": false}``
  the instant a customer is connected to an agent (the agent page's screen pop);
- ``{"type": "call.ended", "agent": "101" | None, "attempt_id": 7, "campaign": "c1", "outcome": "connected"}``;
- ``{"type": "agent.state", "agent": "101", "state": "wrapup", "since": "<iso8601>", "pause_reason": None}``;
- ``{"type": "stats", "campaigns": {"c1": {...live figures...}}, "agents": {"ready": 2, ...}}`` about once
  a second while the service runs.

A slow subscriber never blocks the publisher: its queue is bounded and the oldest events are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

Event = dict[str, Any]


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subs: set[asyncio.Queue[Event]] = set()
        self.queue_size = queue_size
        self.published = 0

    def publish(self, event: Event) -> None:
        self.published += 1
        for q in list(self._subs):
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        q: asyncio.Queue[Event] = asyncio.Queue(self.queue_size)
        self._subs.add(q)
        try:
            yield q
        finally:
            self._subs.discard(q)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
