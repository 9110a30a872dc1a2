"""The IVR's look-ups on SQLite and PostgreSQL: find, the caller's own application, the rate limit counted
from the audit log, and the audit rows themselves; the sync door (classic script) on SQLite too."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.db.models import Application, AuditLog
from dialer.ivr.flow import AppInfo
from dialer.ivr.lookup import LOOKUP, AsyncDirectory, SyncDirectory, make_sync_engine

Sessions = async_sessionmaker[AsyncSession]


async def seed(sessions: Sessions) -> None:
    async with sessions() as s:
        s.add_all(
            [
                Application(
                    number="1234567890",
                    applicant_name="Иванов Иван Иванович",
                    phone="+79161112233",
                    status="ready",
                    pickup_office="Отделение №3",
                    pickup_from=date(2027, 3, 15),
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                ),
                Application(
                    number="1234567891",
                    applicant_name="Иванов Иван Иванович",
                    phone="+79161112233",
                    status="processing",
                    expected_date=date(2027, 5, 1),
                    created_at=datetime(2026, 2, 1, tzinfo=UTC),
                ),
            ]
        )
        await s.commit()


DETAILS = {"app_number": "", "uniqueid": "1.1", "mode": "test"}


async def test_find_by_phone_and_audit(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    res = await d.lookup("1234567890", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    assert res.app == AppInfo("1234567890", "ready", "Отделение №3", date(2027, 3, 15), None)
    assert (
        await d.lookup("0000000000", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    ).app is None
    own = await d.by_phone("+79161112233")
    assert own is not None and own.number == "1234567891"  # the newest application
    assert await d.by_phone("+70000000000") is None
    await d.record_call("+79990000001", {"app_status": "ready", "hung_up": False})
    async with db_sessions() as s:
        rows = (await s.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(r.actor, r.action, r.target, r.details.get("status")) for r in rows] == [
        ("ivr", "ivr.lookup", "+79990000001", "ready"),
        ("ivr", "ivr.lookup", "+79990000001", "not_found"),
        ("ivr", "ivr.call", "+79990000001", None),
    ]
    assert all(r.at.tzinfo is not None for r in rows)


async def test_rate_limit_counts_recent_unknown_numbers_per_caller(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)

    async def look(number: str, caller: str = "+79990000002") -> Any:
        return await d.lookup(number, caller, max_misses=5, window_s=600, details=DETAILS)

    for i in range(4):
        assert (await look(f"99999999{i:02d}")).app is None
    assert (await look("1234567890")).app is not None  # found numbers do not count
    assert not (await look("9999999904")).limited  # the 5th unknown number is still looked up
    assert (await look("1234567890")).limited  # now even a real one is not
    assert not (await look("1234567890", "+79990000003")).limited  # other callers are unaffected
    # misses older than the window no longer count
    async with db_sessions() as s:
        await s.execute(
            update(AuditLog)
            .where(AuditLog.action == LOOKUP)
            .values(at=datetime.now(UTC) - timedelta(minutes=11))
        )
        await s.commit()
    assert (await look("1234567890")).app is not None


async def test_sync_directory_on_sqlite(tmp_path: Any) -> None:
    from dialer.db import migrate
    from dialer.db.engine import make_engine, make_sessionmaker

    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    try:
        await seed(make_sessionmaker(engine))
    finally:
        await engine.dispose()
    d = SyncDirectory(make_sync_engine(url))
    res = await d.lookup("1234567890", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    assert res.app is not None and res.app.pickup_from == date(2027, 3, 15)
    assert (await d.by_phone("+79161112233")) is not None
    await d.record_call("+79990000001", {"x": 1})
