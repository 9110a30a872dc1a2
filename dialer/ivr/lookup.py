"""The IVR's data side: SQLAlchemy Core over the ``applications`` and ``audit_log`` tables.

One set of queries (``find``, ``by_phone``, ``misses_since``, ``write_audit`` on a sync ``Connection``)
serves both doors: the classic AGI script runs them on a sync engine in a worker thread (``SyncDirectory``;
the PBX has Debian's SQLAlchemy with sqlite3/psycopg2, nothing else), the service on its async sessions
through ``run_sync`` (``AsyncDirectory``). Core rather than the ORM models, because the models import the service's
configuration stack; a unit test keeps these table definitions in step with dialer.db.models.

A look-up is a read: the application by the digits of the number (``applications.search_key``, indexed;
two matches are ambiguous and the caller goes to an operator), with the caller's limit kept in memory
(dialer.ivr.limits, seeded from the audit log) and the audit rows written behind the call: in batches by
the service (dialer.ivr.audit), in one transaction at the end of the call by the classic script. The audit
log stays the record of truth an inspector checks, and what the limit is seeded from after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, Column, Date, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Connection, Engine, Row, create_engine, make_url

from dialer.applications.keys import search_key
from dialer.db.types import UTCDateTime, utcnow
from dialer.ivr.aiothread import in_thread
from dialer.ivr.flow import AMBIGUOUS, LIMITED, NOT_FOUND, AppInfo, LookupResult
from dialer.ivr.limits import MissLimiter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import Session

T = TypeVar("T")
log = logging.getLogger("dialer.ivr.lookup")

ACTOR = "ivr"
LOOKUP = "ivr.lookup"  # one row per look-up: details app_number, status (counted by the rate limit)
CALL = "ivr.call"  # one row per call: the outcome (APP_NUMBER, APP_STATUS, transfer, hangup)

_md = MetaData()
applications = Table(
    "applications",
    _md,
    Column("id", Integer, primary_key=True),
    Column("number", String(32)),
    Column("search_key", String(32)),
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


def audit_row(action: str, caller: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """An audit row stamped now (it may be written a moment later)."""
    return {"at": utcnow(), "actor": ACTOR, "action": action, "target": caller, "details": dict(details)}


def write_audit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(audit_log.insert(), rows)


def misses_since(conn: Connection, window_s: float, caller: str | None = None) -> list[tuple[str, float]]:
    """Unknown numbers looked up within the window, as (caller, Unix time): what the limit is seeded from."""
    since = utcnow() - timedelta(seconds=window_s)
    q = select(audit_log.c.target, audit_log.c.at).where(
        audit_log.c.action == LOOKUP,
        audit_log.c.at >= since,
        audit_log.c.details["status"].as_string() == NOT_FOUND,
    )
    if caller is not None:
        q = q.where(audit_log.c.target == caller)
    out: list[tuple[str, float]] = []
    for target, at in conn.execute(q):
        if target and isinstance(at, datetime):
            out.append((str(target), at.timestamp()))
    return out


def find(conn: Connection, number: str) -> LookupResult:
    """The application whose digits are the digits of ``number`` (one indexed read); two are ambiguous."""
    key = search_key(number)
    if not key:
        return LookupResult(None)
    rows = conn.execute(select(*_COLUMNS).where(_a.search_key == key).limit(2)).all()
    if len(rows) > 1:
        return LookupResult(None, ambiguous=True)
    return LookupResult(_app(rows[0] if rows else None))


def find_many(conn: Connection, keys: list[str]) -> dict[str, LookupResult]:
    """``find`` for many keys in one query (dialer.ivr.batch coalesces concurrent look-ups into it)."""
    rows: dict[str, list[AppInfo]] = {}
    for row in conn.execute(select(_a.search_key, *_COLUMNS).where(_a.search_key.in_(keys))):
        app = _app(row)
        assert app is not None
        rows.setdefault(row.search_key, []).append(app)
    return {
        k: LookupResult(None, ambiguous=True) if len(apps) > 1 else LookupResult(apps[0])
        for k, apps in rows.items()
    }


def by_phones(conn: Connection, phones: list[str]) -> dict[str, AppInfo]:
    """``by_phone`` for many phones in one query: each phone's newest application."""
    q = select(_a.phone, *_COLUMNS).where(_a.phone.in_(phones)).order_by(_a.created_at, _a.id)
    newest: dict[str, AppInfo] = {}
    for row in conn.execute(q):
        app = _app(row)
        assert app is not None
        newest[row.phone] = app  # ascending order: the last one wins
    return newest


def outcome_status(res: LookupResult) -> str:
    """The ``status`` a look-up's audit row carries (``not_found`` rows are what the limit counts)."""
    if res.limited:
        return LIMITED
    if res.ambiguous:
        return AMBIGUOUS
    return res.app.status if res.app is not None else NOT_FOUND


def by_phone(conn: Connection, phone: str) -> AppInfo | None:
    q = select(*_COLUMNS).where(_a.phone == phone).order_by(_a.created_at.desc(), _a.id.desc()).limit(1)
    return _app(conn.execute(q).first())


class Limited:
    """Look-ups over a MissLimiter: the caller's turn, the check, the read, the count. Shared by both doors."""

    def __init__(self, limiter: MissLimiter) -> None:
        self.limiter = limiter

    async def lookup(
        self, read: Callable[[], Awaitable[LookupResult]], caller: str, max_misses: int, window_s: float
    ) -> LookupResult:
        async with self.limiter.turn(caller):
            if self.limiter.count(caller, window_s) >= max_misses:
                return LookupResult(None, limited=True)
            res = await read()
            if res.app is None and not res.ambiguous:
                self.limiter.miss(caller)
            return res


# ---- the service: async sessions ---------------------------------------------------------------------------
class AsyncDirectory:
    """flow.Directory over the service's ``async_sessionmaker`` (SQLite via aiosqlite, PostgreSQL via asyncpg).

    Look-ups only read, and concurrent ones share a query (dialer.ivr.batch); audit rows go to an
    AuditWriter. ``start()`` seeds the limit from the audit log (a look-up before it seeds first),
    ``close()`` writes the rows still queued: the service calls both."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        flush_interval: float = 0.5,
        limiter: MissLimiter | None = None,
    ) -> None:
        # asyncio-only modules: not part of the classic bundle
        from dialer.ivr.audit import AuditWriter
        from dialer.ivr.batch import Coalescer

        self.sessions = sessions
        self.limiter = limiter or MissLimiter()
        self._limited = Limited(self.limiter)
        self._window_s = 600.0
        self.audit = AuditWriter(self._write, interval=flush_interval, on_tick=self._sweep)
        self._finds = Coalescer(lambda keys: self._run(lambda c: find_many(c, keys)), LookupResult(None))
        self._phones: Coalescer[AppInfo | None] = Coalescer(
            lambda phones: self._run(lambda c: dict(by_phones(c, phones))), None
        )
        self._seeded = False
        self._seed_lock = asyncio.Lock()
        self._swept = time.monotonic()

    async def _run(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        async with self.sessions() as s:

            def call(sync: Session) -> T:
                return fn(sync.connection())

            result = await s.run_sync(call)
            if write:
                await s.commit()
            return result

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        await self._run(lambda c: write_audit(c, rows), write=True)

    def _sweep(self) -> None:
        """Forget callers whose misses expired, once a minute: a sweep walks every caller in memory (tens of
        thousands at peak), too long a pause for each half-second tick. Counting prunes on its own."""
        now = time.monotonic()
        if now - self._swept >= 60:
            self._swept = now
            self.limiter.sweep(self._window_s)

    async def start(self, window_s: float) -> None:
        """Seed the limit with the misses of the last ``window_s`` seconds on record."""
        async with self._seed_lock:
            self._window_s = max(self._window_s, window_s)
            if self._seeded:
                return
            misses = await self._run(lambda c: misses_since(c, window_s))
            self.limiter.seed(misses)
            self._seeded = True
            log.info("IVR: look-up limit seeded with %d recent unknown numbers", len(misses))

    async def close(self) -> None:
        await self.audit.close()

    async def flush(self) -> None:
        """Write the queued audit rows now (tests, and whoever wants the log current)."""
        await self.audit.flush()

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        if not self._seeded:
            await self.start(window_s)
        key = search_key(number)
        res = await self._limited.lookup(
            lambda: self._finds.get(key) if key else _nothing(), caller, max_misses, window_s
        )
        self.audit.add(audit_row(LOOKUP, caller, {**details, "status": outcome_status(res)}))
        return res

    async def by_phone(self, phone: str) -> AppInfo | None:
        return await self._phones.get(phone)

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        self.audit.add(audit_row(CALL, caller, details))


async def _nothing() -> LookupResult:
    return LookupResult(None)


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
    """flow.Directory over a sync engine, for one call of the classic script. Each call runs in a daemon
    thread: a hung driver can miss the flow's deadline without blocking the script's exit (the caller is
    already with an operator by then).

    The script lives for one call, so the limit is seeded for this caller at the first look-up (a read, with
    the look-up itself), counted in memory during the call, and the call's audit rows (look-ups and the
    outcome) are written together by ``record_call`` at its end."""

    def __init__(self, engine: Engine | Callable[[], Engine]) -> None:
        self._engine = engine
        self.limiter = MissLimiter()
        self._limited = Limited(self.limiter)
        self._seeded: set[str] = set()
        self._pending: list[dict[str, Any]] = []

    def _get_engine(self) -> Engine:
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    def engine(self) -> Engine:
        """The engine (built on first use): the pickup booking of the same call shares it."""
        return self._get_engine()

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        def work() -> T:
            with self._get_engine().connect() as conn:
                return fn(conn)

        return await in_thread(work)

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        if caller not in self._seeded:
            self.limiter.seed(await self._read(lambda c: misses_since(c, window_s, caller)))
            self._seeded.add(caller)
        res = await self._limited.lookup(
            lambda: self._read(lambda c: find(c, number)), caller, max_misses, window_s
        )
        self._pending.append(audit_row(LOOKUP, caller, {**details, "status": outcome_status(res)}))
        return res

    async def by_phone(self, phone: str) -> AppInfo | None:
        return await self._read(lambda c: by_phone(c, phone))

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        rows = [*self._pending, audit_row(CALL, caller, details)]

        def work() -> None:
            with self._get_engine().begin() as conn:
                write_audit(conn, rows)

        await in_thread(work)
        self._pending.clear()
