"""Booking rules on both databases: places are taken and given back exactly, one active booking per
application, moving frees the old place in the same transaction, and only from the day the passport is
ready. The concurrency test books 100 at once into a slot for 10: the database decides, not this process."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Appointment, SlotCounter
from dialer.errors import Conflict, NotFound
from dialer.offices import services
from dialer.offices.services import SlotFull, Unbookable
from tests.offices.conftest import make_applications, make_office

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # Monday 09:00 in Moscow
SLOT = datetime.fromisoformat("2027-03-02T10:00:00+03:00")
LATER = datetime.fromisoformat("2027-03-02T10:30:00+03:00")


async def free(sessions: Any, office_id: int, day: date = date(2027, 3, 2)) -> dict[str, int]:
    slots = await services.day_slots(sessions, office_id, day, now=NOW)
    return {s.start.strftime("%H:%M"): s.free for s in slots.slots if s.start.hour == 10}


async def test_book_takes_a_place_and_cancel_gives_it_back(db_sessions: Any) -> None:
    o = await make_office(db_sessions, capacity=2)
    await make_applications(db_sessions, ["A-1", "A-2", "A-3"], office_id=o.id)
    b1 = await services.book(db_sessions, "A-1", o.id, SLOT, actor="t", now=NOW)
    assert (
        b1.created
        and b1.appointment.start == SLOT
        and b1.appointment.start.utcoffset().total_seconds() == 3 * 3600
    )
    assert (await free(db_sessions, o.id)) == {"10:00": 1, "10:30": 2}
    await services.book(db_sessions, "A-2", o.id, SLOT, actor="t", now=NOW)
    with pytest.raises(SlotFull, match="2027-03-02 10:00 is full"):
        await services.book(db_sessions, "A-3", o.id, SLOT, actor="t", now=NOW)
    cancelled = await services.cancel(db_sessions, b1.appointment.id, actor="t")
    assert cancelled.state == "cancelled"
    assert (await free(db_sessions, o.id))["10:00"] == 1
    again = await services.book(db_sessions, "A-3", o.id, SLOT, actor="t", now=NOW)
    assert again.created
    with pytest.raises(Conflict, match="already cancelled"):
        await services.cancel(db_sessions, b1.appointment.id, actor="t")
    with pytest.raises(NotFound):
        await services.cancel(db_sessions, 9999, actor="t")


async def test_moving_frees_the_old_place_and_a_failed_move_changes_nothing(db_sessions: Any) -> None:
    o = await make_office(db_sessions, capacity=1)
    await make_applications(db_sessions, ["A-1", "A-2"], office_id=o.id)
    first = (await services.book(db_sessions, "A-1", o.id, SLOT, actor="t", now=NOW)).appointment
    moved = (await services.book(db_sessions, "A-1", o.id, LATER, actor="t", now=NOW)).appointment
    assert moved.moved_from == first.id and moved.start == LATER
    assert (await free(db_sessions, o.id)) == {"10:00": 1, "10:30": 0}
    assert (await services.get_appointment(db_sessions, first.id)).state == "moved"
    # same slot again: nothing new
    same = await services.book(db_sessions, "A-1", o.id, LATER, actor="t", now=NOW)
    assert not same.created and same.appointment.id == moved.id
    # A-2 takes 10:00; A-1 can not move there, and keeps 10:30
    await services.book(db_sessions, "A-2", o.id, SLOT, actor="t", now=NOW)
    with pytest.raises(SlotFull):
        await services.book(db_sessions, "A-1", o.id, SLOT, actor="t", now=NOW)
    kept = await services.active_booking(db_sessions, "A-1")
    assert kept is not None and kept.id == moved.id and kept.start == LATER
    assert (await free(db_sessions, o.id)) == {"10:00": 0, "10:30": 0}
    async with db_sessions() as s:
        active = (await s.execute(select(func.count()).where(Appointment.state == "active"))).scalar_one()
        taken = (await s.execute(select(func.sum(SlotCounter.taken)))).scalar_one()
    assert (active, taken) == (2, 2)


async def test_only_ready_applications_from_their_ready_day_at_their_office(db_sessions: Any) -> None:
    o = await make_office(db_sessions, hours={"tue": "09:00-12:00", "thu": "09:00-12:00"})
    other = await make_office(db_sessions, name="МФЦ Арбат")
    await make_applications(db_sessions, ["P-1"], status="processing")
    await make_applications(db_sessions, ["R-1"], office_id=o.id, pickup_from=date(2027, 3, 4))
    with pytest.raises(Unbookable, match="not ready for pickup \\(it is processing\\)"):
        await services.book(db_sessions, "P-1", o.id, SLOT, actor="t", now=NOW)
    with pytest.raises(Unbookable, match="collected from 2027-03-04"):
        await services.book(db_sessions, "R-1", o.id, SLOT, actor="t", now=NOW)
    with pytest.raises(Unbookable, match="another office"):
        await services.book(db_sessions, "R-1", other.id, SLOT, actor="t", now=NOW)
    await make_applications(db_sessions, ["R-2"], office_id=o.id)
    with pytest.raises(Unbookable, match="closed on 2027-03-03"):
        await services.book(
            db_sessions, "R-2", o.id, datetime.fromisoformat("2027-03-03T10:00+03:00"), actor="t", now=NOW
        )
    with pytest.raises(Unbookable, match="no slot starting at 2027-03-04 12:00"):
        await services.book(
            db_sessions, "R-1", o.id, datetime.fromisoformat("2027-03-04T12:00+03:00"), actor="t", now=NOW
        )
    with pytest.raises(NotFound, match="no application"):
        await services.book(db_sessions, "X-1", o.id, SLOT, actor="t", now=NOW)
    ok = await services.book(
        db_sessions, "R-1", o.id, datetime.fromisoformat("2027-03-04T09:30+03:00"), actor="t", now=NOW
    )
    assert ok.created
    nxt = await services.next_free(db_sessions, o.id, now=NOW, ready_from=date(2027, 3, 4), limit=3)
    # 09:30 still has one of its two places
    assert [s.start.isoformat() for s in nxt] == [
        "2027-03-04T09:00:00+03:00",
        "2027-03-04T09:30:00+03:00",
        "2027-03-04T10:00:00+03:00",
    ]
    assert [s.free for s in nxt] == [2, 1, 2]


async def book_many(url: str, office_id: int, numbers: list[str]) -> list[str]:
    """Each booker on its own engine (its own connections), all released at once."""
    engines = [make_engine(url) for _ in range(4)]
    try:
        makers = [make_sessionmaker(e) for e in engines]
        gate = asyncio.Event()

        async def one(i: int, number: str) -> str:
            await gate.wait()
            try:
                await services.book(makers[i % 4], number, office_id, SLOT, actor="t", now=NOW)
                return "booked"
            except SlotFull:
                return "full"

        tasks = [asyncio.create_task(one(i, n)) for i, n in enumerate(numbers)]
        await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*tasks))
    finally:
        for e in engines:
            await e.dispose()


async def test_100_concurrent_bookings_into_a_slot_for_10(db_url: str, db_sessions: Any) -> None:
    o = await make_office(db_sessions, capacity=10)
    numbers = [f"C-{i:03d}" for i in range(100)]
    await make_applications(db_sessions, numbers, office_id=o.id)
    results = await book_many(db_url, o.id, numbers)
    assert results.count("booked") == 10 and results.count("full") == 90
    async with db_sessions() as s:
        active = (await s.execute(select(func.count()).where(Appointment.state == "active"))).scalar_one()
        taken = (await s.execute(select(SlotCounter.taken))).scalar_one()
    assert (active, taken) == (10, 10)
    assert (await free(db_sessions, o.id))["10:00"] == 0
