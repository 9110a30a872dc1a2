"""Which call each agent is on, as the bus tells it: lets an agent page that (re)connects mid-call show
the screen pop it would otherwise have missed. The pop stays until the call's disposition is saved."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from dialer.bus import Event, EventBus

TRACKER = web.AppKey("screen_pops", object)


class ScreenPops:
    """The screen pop each agent is showing, kept from the bus (not the engine's call tracking)."""

    def __init__(self) -> None:
        self.current: dict[str, Event] = {}  # agent extension -> its call.bridged event (+ "ended")
        self._task: asyncio.Task[None] | None = None

    def on_event(self, ev: Event) -> None:
        kind, agent = ev.get("type"), ev.get("agent")
        if not agent:
            return
        agent = str(agent)
        if kind == "call.bridged":
            self.current[agent] = dict(ev)
        elif kind == "call.ended":
            pop = self.current.get(agent)
            if pop is not None and pop.get("attempt_id") == ev.get("attempt_id"):
                pop["ended"] = True
        elif kind == "disposition.saved":
            pop = self.current.get(agent)
            if pop is not None and pop.get("attempt_id") == ev.get("attempt_id"):
                del self.current[agent]

    def pending(self, agent: str) -> Event | None:
        return self.current.get(agent)

    async def run(self, bus: EventBus) -> None:
        async with bus.subscribe() as q:
            while True:
                self.on_event(await q.get())

    def start(self, bus: EventBus) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(bus), name="web-call-tracker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def tracker(app: web.Application) -> ScreenPops:
    t: Any = app[TRACKER]
    assert isinstance(t, ScreenPops)
    return t


def install(app: web.Application, bus: EventBus) -> None:
    app[TRACKER] = ScreenPops()

    async def start(app: web.Application) -> None:
        tracker(app).start(bus)

    async def stop(app: web.Application) -> None:
        await tracker(app).stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
