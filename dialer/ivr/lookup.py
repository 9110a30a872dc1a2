"""The IVR's data side: SQLAlchemy Core over the ``applications`` and ``audit_log`` tables.

One implementation (``lookup``, ``by_phone``, ``record_call`` on a sync ``Connection``) serves both doors:
the classic AGI script runs it on a sync engine in a worker thread (``SyncDirectory``; the PBX has Debian's
SQLAlchemy with sqlite3/psycopg2, nothing else), the service runs it on its async sessions through
``run_sync`` (``AsyncDirectory``). Core rather than the ORM models, because the models import the service's
configuration stack; a unit test keeps these table definitions in step with dialer.db.models.

The rate limit counts the caller's recent unknown numbers in the audit log itself: no extra table, and the
audit trail is what an inspector would check anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, Column, Date, Integer, MetaData, String, Table, func, select
from sqlalchemy.engine import Connection, Engine, Row, create_engine, make_url

from dialer.db.types import UTCDateTime, utcnow
from dialer.ivr.aiothread import in_thread
from dialer.ivr.flow import NOT_FOUND, AppInfo, LookupResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import Session

T = TypeVar("T")

ACTOR = "ivr"
LOOKUP = "ivr.lookup"  # one row per look-up: details app_number, status (counted by the rate limit)
CALL = "ivr.call"  # one row per call: the outcome (APP_NUMBER, APP_STATUS, transfer, hangup)

_md = MetaData()
applications = Table(
    "applications",
    _md,
    Column("id", Integer, primary_key=True),
    Column("number", String(32)),
    Column("phone", String(20)),
    Column("status", String(16)),
    Column("pickup_office", String(200)),
    Column("pickup_from", Date),
    Column("expected_date", Date),
    Column("created_at", UTCDateTime()),
)
audit_log = Table(
    "audit_log",
    _md,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("actor", String(100)),
    Column("action", String(64)),
    Column("target", String(200)),
    Column("details", JSON),
)

_a = applications.c
_COLUMNS = (_a.number, _a.status, _a.pickup_office, _a.pickup_from, _a.expected_date)  # never the name


def _app(row: Row[Any] | None) -> AppInfo | None:
    if row is None:
        return None
    return AppInfo(row.number, row.status, row.pickup_office, row.pickup_from, row.expected_date)


def _audit(conn: Connection, action: str, target: str, details: Mapping[str, Any]) -> None:
    conn.execute(
        audit_log.insert().values(
            at=utcnow(), actor=ACTOR, action=action, target=target, details=dict(details)
        )
    )


def recent_misses(conn: Connection, caller: str, window_s: float) -> int:
    since = utcnow() - timedelta(seconds=window_s)
    q = (
        select(func.count())
        .select_from(audit_log)
        .where(
            audit_log.c.action == LOOKUP,
            audit_log.c.at >= since,
            audit_log.c.target == caller,
            audit_log.c.details["status"].as_string() == NOT_FOUND,
        )
    )
    return int(conn.execute(q).scalar_one())


def check(
    conn: Connection, number: str, caller: str, max_misses: int, window_s: float
) -> tuple[LookupResult, str]:
    """The read half of a look-up: the caller's limit, then the application. Returns the result and the
    status to audit."""
    if recent_misses(conn, caller, window_s) >= max_misses:
        return LookupResult(None, limited=True), "limited"
    app = _app(conn.execute(select(*_COLUMNS).where(_a.number == number)).first())
    return LookupResult(app), app.status if app else NOT_FOUND


def audit_lookup(conn: Connection, caller: str, status: str, details: Mapping[str, str]) -> None:
    _audit(conn, LOOKUP, caller, {**details, "status": status})


def lookup(
    conn: Connection, number: str, caller: str, max_misses: int, window_s: float, details: Mapping[str, str]
) -> LookupResult:
    """Check the caller's limit, find the application, and audit the look-up, in one transaction."""
    res, status = check(conn, number, caller, max_misses, window_s)
    audit_lookup(conn, caller, status, details)
    return res


def by_phone(conn: Connection, phone: str) -> AppInfo | None:
    q = select(*_COLUMNS).where(_a.phone == phone).order_by(_a.created_at.desc(), _a.id.desc()).limit(1)
    return _app(conn.execute(q).first())


def record_call(conn: Connection, caller: str, details: Mapping[str, Any]) -> None:
    _audit(conn, CALL, caller, details)


# ---- the service: async sessions ---------------------------------------------------------------------------
class AsyncDirectory:
    """flow.Directory over the service's ``async_sessionmaker`` (SQLite via aiosqlite, PostgreSQL via asyncpg)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in SQLite's busy
        # handler with growing back-off (up to 100 ms a turn): at 50 concurrent calls the audit inserts then
        # queue for over a second, past the flow's deadline. Queuing our writes in-process instead costs a
        # few milliseconds each. PostgreSQL needs no such thing.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None
        )

    async def _run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        async with self.sessions() as s:

            def call(sync: Session) -> T:
                return fn(sync.connection())

            if write and self._write_lock is not None:
                async with self._write_lock:
                    result = await s.run_sync(call)
                    await s.commit()
                return result
            result = await s.run_sync(call)
            if write:
                await s.commit()
            return result

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        """Reads first, then a short write for the audit row (the only part that queues on SQLite)."""
        res, status = await self._run(lambda c: check(c, number, caller, max_misses, window_s), write=False)
        await self._run(lambda c: audit_lookup(c, caller, status, details), write=True)
        return res

    async def by_phone(self, phone: str) -> AppInfo | None:
        return await self._run(lambda c: by_phone(c, phone), write=False)

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        await self._run(lambda c: record_call(c, caller, details), write=True)


# ---- the classic AGI script: a sync engine in worker threads --------------------------------------------------
def sync_url(url: str) -> str:
    """The service's async URL (config.yaml database.url) as the PBX's sync drivers need it."""
    u = make_url(url)
    backend = u.get_backend_name()
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2"}.get(backend)
    if driver is None:
        raise ValueError(f"unsupported database {backend!r}")
    return u.set(drivername=driver).render_as_string(hide_password=False)


def make_sync_engine(url: str, timeout_s: float = 2.0) -> Engine:
    """Driver-level timeouts too, so work abandoned at the flow's deadline does not hang on for minutes."""
    u = make_url(sync_url(url))
    if u.get_backend_name() == "sqlite":
        return create_engine(u, connect_args={"timeout": timeout_s})
    ms = int(timeout_s * 1000)
    args = {"connect_timeout": max(1, int(timeout_s)), "options": f"-c statement_timeout={ms}"}
    return create_engine(u, connect_args=args, pool_size=2, max_overflow=4)


class SyncDirectory:
    """flow.Directory over a sync engine. Each call runs in a daemon thread: a hung driver can miss the flow's
    deadline without blocking the script's exit (the caller is already with an operator by then)."""

    def __init__(self, engine: Engine | Callable[[], Engine]) -> None:
        self._engine = engine

    def _get_engine(self) -> Engine:
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        def work() -> T:
            with self._get_engine().begin() as conn:
                return fn(conn)

        return await in_thread(work)

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        return await self._run(lambda c: lookup(c, number, caller, max_misses, window_s, details))

    async def by_phone(self, phone: str) -> AppInfo | None:
        return await self._run(lambda c: by_phone(c, phone))

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        await self._run(lambda c: record_call(c, caller, details))
