"""The engine's database for a simulated run: a real SQLite file with the real schema (Alembic), reached
through SQLAlchemy's aiosqlite dialect, but with every statement run at once in the loop's own thread.

aiosqlite normally hands each statement to a worker thread and wakes the loop when it is done; under
virtual time the loop would then have to guess whether to wait for that thread or jump to its next timer.
Running statements inline removes the guess: a query takes no virtual time and the run stays
deterministic. Nothing else about the database differs from production on SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from dialer.config import WEEKDAYS, Settings, load_settings
from dialer.db.engine import make_sessionmaker


class _RunNow:
    """aiosqlite's request queue, served at once: the statement runs and its future is settled."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as e:  # handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(e)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, 64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # the same as aiosqlite's, without starting the thread

    async def _connect(self) -> InlineConnection:
        await super()._connect()
        return self


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=OFF")  # a scratch database: nothing to keep after a power cut
    cur.close()


def inline_engine(path: str) -> tuple[AsyncEngine, async_sessionmaker[Any]]:
    """An async engine and the service's own session factory over the SQLite file ``path``."""

    async def connect() -> InlineConnection:
        return await InlineConnection(partial(sqlite3.connect, path, check_same_thread=False))

    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=connect)
    event.listen(engine.sync_engine, "connect", _pragmas)
    return engine, make_sessionmaker(engine)


def engine_settings(tmp: Path, db_path: str, max_channels: int) -> Settings:
    """The service's settings for an engine on the simulated Asterisk: its defaults (not whatever config.yaml
    the checkout holds), the database at ``db_path``, a window open all week, no call records to read."""
    own = tmp / "engine.yaml"
    own.write_text("{}\n")
    return load_settings(
        own,
        data_dir=tmp,
        database={"url": f"sqlite+aiosqlite:///{db_path}"},
        calling_window={"hours": {d: "00:00-24:00" for d in WEEKDAYS}, "holidays": []},
        outbound={"max_channels": max_channels},
        call_records={"url": None},
        timezone="UTC",
    )
