"""The IVR's booking data on both databases, through both runners (the service's async sessions and the
classic script's sync engine): it books in the same ledger as the API, moves and cancels, refuses what the
API refuses; and the classic script's bundle imports it with nothing but the stdlib and SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dialer.db.models import Appointment, AuditLog
from dialer.ivr import booking as B
from dialer.ivr.bundle import write_bundle
from dialer.ivr.lookup import make_sync_engine
from dialer.ivr.pickup import LedgerBookings, async_bookings, sync_bookings
from dialer.offices import services
from tests.offices.conftest import make_applications, make_office

MSK = ZoneInfo("Europe/Moscow")


def tomorrow() -> date:
    return datetime.now(UTC).astimezone(MSK).date() + timedelta(days=1)


async def exercise(db_sessions: Any, runner: LedgerBookings) -> None:
    o = await make_office(
        db_sessions,
        capacity=1,
        hours={d: "09:00-10:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    await make_applications(db_sessions, ["A-1", "A-2"], office_id=o.id)
    await make_applications(db_sessions, ["P-1"], office_id=o.id, status="processing")
    await make_applications(db_sessions, ["N-1"])
    assert await runner.place("N-1") is None and await runner.place("X-9") is None
    place = await runner.place("A-1")
    assert place == B.Place(o.id)
    first = await runner.next_free("A-1", o.id, None)
    assert first is not None and first.utcoffset() == timedelta(hours=3)
    day = tomorrow()
    t9, t930 = (
        datetime(day.year, day.month, day.day, 9, 0, tzinfo=MSK),
        datetime(day.year, day.month, day.day, 9, 30, tzinfo=MSK),
    )
    assert await runner.book("A-1", o.id, t9) == B.OK
    assert await runner.book("A-2", o.id, t9) == B.FULL  # the API's place counter: capacity 1
    assert await runner.book("P-1", o.id, t930) == B.REFUSED  # not ready
    assert await runner.book("A-2", o.id, t9 + timedelta(minutes=5)) == B.REFUSED  # not a slot
    place = await runner.place("A-1")
    assert place is not None and place.booked_at == t9 and place.booking_id is not None
    assert await runner.next_free("A-2", o.id, t9 - timedelta(minutes=1)) != t9  # full: skipped
    assert await runner.book("A-1", o.id, t930) == B.OK  # moved: 09:00 given back
    assert await runner.book("A-2", o.id, t9) == B.OK
    moved = await runner.place("A-1")
    assert moved is not None and moved.booked_at == t930
    assert await runner.cancel("A-1", moved.booking_id or 0)
    assert not await runner.cancel("A-1", moved.booking_id or 0)
    slots = await services.day_slots(db_sessions, o.id, day)
    assert [(s.start.strftime("%H:%M"), s.free) for s in slots.slots] == [("09:00", 0), ("09:30", 1)]
    async with db_sessions() as s:
        sources = list((await s.execute(select(Appointment.source).order_by(Appointment.id))).scalars())
        audited = (await s.execute(select(func.count()).where(AuditLog.actor == "ivr"))).scalar_one()
    assert sources == ["ivr", "ivr", "ivr"] and audited == 4  # 3 bookings + 1 cancel


async def test_ivr_books_moves_and_cancels_in_the_shared_ledger(db_sessions: Any) -> None:
    """Through the service's async sessions (FastAGI), on both databases."""
    await exercise(db_sessions, async_bookings(db_sessions))


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
async def test_the_classic_scripts_sync_engine_books_in_the_same_ledger(
    db_url: str, db_sessions: Any
) -> None:
    """Through a sync engine in worker threads (the classic AGI script; the PBX's psycopg2 is not in the
    test venv, so SQLite: the statements are the ones the async test runs on both databases)."""
    engine = make_sync_engine(db_url)
    try:
        await exercise(db_sessions, sync_bookings(engine))
    finally:
        engine.dispose()


def test_the_classic_bundle_imports_the_booking_ledger_without_service_dependencies(tmp_path: Path) -> None:
    write_bundle(tmp_path / "agi-bin")
    import sqlalchemy
    import typing_extensions

    only = tmp_path / "site"
    only.mkdir()
    (only / "sqlalchemy").symlink_to(Path(sqlalchemy.__file__).parent)
    (only / "typing_extensions.py").symlink_to(typing_extensions.__file__)
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
        "import dialer.ivr.classic, dialer.ivr.pickup, dialer.offices.ledger;"
        "from dialer.offices.slots import Schedule; from datetime import date;"
        "s = Schedule.build('Europe/Moscow', {'mon': '09:00-10:00'}, slot_minutes=30);"
        "assert len(s.day_slots(date(2027, 3, 1))) == 2;"
        "bad = {'pydantic', 'aiohttp', 'panoramisk', 'phonenumbers', 'dialer.config'} & set(sys.modules);"
        "assert not bad, bad; print('ok')"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(tmp_path / "agi-bin" / "ivr-lib"), str(only)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
