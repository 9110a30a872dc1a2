"""Async engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dialer.config import ConfigError


def parse_url(url: str) -> URL:
    """Parse a database URL, raising a ConfigError that never echoes the URL (it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("invalid configuration: database.url: not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"invalid configuration: database.url: unsupported database {parsed.get_backend_name()!r} "
            "(use sqlite+aiosqlite or postgresql+asyncpg)"
        )
    return parsed


def safe_url(url: str) -> str:
    """The URL as it may be logged: password hidden."""
    return parse_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers (web, AGI) never block the dialer's writes
    cur.execute("PRAGMA synchronous=NORMAL")
    # one writer at a time: a write waits its turn this long (in the driver's thread, never on the event
    # loop) before failing. 5 s was too short for an admin's edit queued behind another writer on a busy
    # 2-core machine (a 500 seen in CI); the engine's writes already wait in the outbox either way.
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.update(pool_size=pool_size, pool_pre_ping=True)
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
