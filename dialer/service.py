"""``dialer serve``: one process with the AMI link, the dialer engine, the web API and FastAGI."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer import metrics
from dialer.ami.link import AmiLink, LinkState
from dialer.bus import EventBus
from dialer.config import ConfigError, Settings, database_unreachable, split_bind
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker, safe_url
from dialer.fastagi.server import FastAgiServer
from dialer.web.app import create_app, runner_options

log = logging.getLogger(__name__)

# Feature packages wired into the service. Each module has ``setup(service)``, which may register FastAGI
# routes (service.fastagi.add_route), web routes (service.app), and start/stop hooks (service.on_start /
# service.on_stop: lists of ``async def hook(service)``).
PLUGINS = ("dialer.engine.plugin", "dialer.ivr.plugin", "dialer.web.plugin", "dialer.offices.plugin")

Hook = Callable[["Service"], Awaitable[None]]


class EventRecorder:
    """Appends every AMI event as a JSON line (DIALER_RECORD_EVENTS=path): recordings of real call
    sequences for the replay tests (tests/recordings/)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: Any) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(dict(event), ensure_ascii=False, default=str) + "\n")


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.monotonic()
        try:
            self.engine: AsyncEngine = make_engine(
                settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
            )
        except Exception as e:  # a bad URL or an SQLite folder that can not be made
            raise ConfigError(database_unreachable(settings.database_url, e)) from None
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.ami = AmiLink.from_settings(settings.ami)
        host, port = split_bind(settings.fastagi.bind)
        agi = settings.fastagi
        self.fastagi = FastAgiServer(
            host,
            port,
            max_sessions=agi.max_sessions,
            idle_timeout=agi.idle_timeout,
            header_timeout=agi.header_timeout,
            allowed_peers=agi.allowed_peers,
            max_pending=agi.max_pending,
            max_pending_per_peer=agi.max_pending_per_peer,
        )
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self.ami.on_state(self._ami_state)
        record = os.environ.get("DIALER_RECORD_EVENTS")
        if record:
            self.ami.add_tap(EventRecorder(Path(record)))
        self.bus = EventBus()
        self.on_start: list[Hook] = []
        self.on_stop: list[Hook] = []
        self.app = create_app(self)
        self.dialer: Any = None  # the dialer engine, set by dialer.engine.plugin
        for name in PLUGINS:
            importlib.import_module(name).setup(self)

    def live_snapshot(self) -> dict[str, Any]:
        """Live figures that only the running process knows (calls in flight, pacing, agents)."""
        if self.dialer is not None:
            snap: dict[str, Any] = self.dialer.snapshot()
            return snap
        return {"ami": self.ami.state.value, "campaigns": {}, "agents": {}}

    async def _ami_state(self, state: LinkState) -> None:
        metrics.AMI_UP.set(1 if state is LinkState.UP else 0)
        if state is LinkState.UP:
            metrics.AMI_RECONNECTS.inc()

    async def health(self) -> dict[str, Any]:
        db = "ok"
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
        except Exception as e:
            db = f"error: {type(e).__name__}"
        return {
            "database": db,
            "ami": self.ami.state.value,
            "ami_error": self.ami.last_error,
            "reconciled": bool(self.dialer.reconciled) if self.dialer is not None else None,
            "fastagi_sessions": self.fastagi.active,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
        }

    async def start(self) -> None:
        log.info("database: %s", safe_url(self.settings.database_url))
        try:
            await asyncio.to_thread(migrate.upgrade, self.settings.database_url)
        except Exception as e:  # unreachable, wrong password, no such file: the operator's one line
            raise ConfigError(database_unreachable(self.settings.database_url, e)) from None
        self.ami.start()
        await self.fastagi.start()
        for hook in self.on_start:
            await hook(self)
        self._runner = web.AppRunner(self.app, handle_signals=False, **runner_options(self.settings))
        await self._runner.setup()
        host, port = split_bind(self.settings.http.bind)
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        log.info("web on http://%s:%s", host, port)

    async def stop(self) -> None:
        for hook in reversed(self.on_stop):
            with contextlib.suppress(Exception):
                await hook(self)
        await self.fastagi.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.ami.stop()
        await self.engine.dispose()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        try:
            await self._stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()
