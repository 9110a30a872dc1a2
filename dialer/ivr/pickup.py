"""The IVR's booking data (``booking.Bookings``) over the booking ledger (dialer.offices.ledger): the same
statements the API and the agent page book with, so a place taken by phone is a place nobody else gets.

One implementation on a sync ``Connection``; a runner decides where it runs: the service's async sessions
(``run_sync``, committed) for FastAGI, a sync engine in a worker thread for the classic AGI script. SQLAlchemy
and the standard library only (the classic script's bundle carries it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from dialer.db.types import utcnow
from dialer.ivr.aiothread import in_thread
from dialer.ivr.booking import FULL, OK, REFUSED, Place
from dialer.offices import ledger

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import Session

log = logging.getLogger("dialer.ivr.pickup")
ACTOR = "ivr"


class LedgerBookings:
    """booking.Bookings over a runner that executes ``fn(conn)`` in one committed transaction."""

    def __init__(self, run: Callable[[Callable[[Connection], Any]], Awaitable[Any]]) -> None:
        self._run = run

    async def place(self, number: str) -> Place | None:
        def read(conn: Connection) -> Place | None:
            app = ledger.application(conn, number)
            if app is None or app.office_id is None:
                return None
            office = ledger.office(conn, app.office_id)
            if office is None:
                return None
            has_directions = bool((office.directions or "").strip())
            booking = ledger.active_booking(conn, app.id)
            if booking is None:
                return Place(office.id, has_directions=has_directions)
            at = booking.start.astimezone(ZoneInfo(office.timezone))
            return Place(office.id, int(booking.id), at, has_directions)

        result: Place | None = await self._run(read)
        return result

    async def next_free(self, number: str, office_id: int, after: datetime | None) -> datetime | None:
        def read(conn: Connection) -> datetime | None:
            app = ledger.application(conn, number)
            office = ledger.office(conn, office_id)
            if app is None or office is None:
                return None
            found = ledger.free_slots(
                conn, office, now=utcnow(), after=after, ready_from=app.pickup_from, limit=1
            )
            return found[0][0].astimezone(ZoneInfo(office.timezone)) if found else None

        result: datetime | None = await self._run(read)
        return result

    async def book(self, number: str, office_id: int, start: datetime) -> str:
        def write(conn: Connection) -> str:
            app = ledger.application(conn, number)
            office = ledger.office(conn, office_id)
            if app is None or office is None or app.status != "ready":
                return REFUSED
            if app.office_id is not None and app.office_id != office_id:
                return REFUSED
            now = utcnow()
            if ledger.schedule_of(office).why_not_bookable(start, now, app.pickup_from) is not None:
                return REFUSED
            current = ledger.active_booking(conn, app.id)
            made = ledger.book(
                conn,
                application_id=app.id,
                office_id=office_id,
                capacity=office.capacity,
                start=start,
                current=current,
                actor=ACTOR,
                source="ivr",
                now=now,
            )
            ledger.audit(
                conn,
                ACTOR,
                "appointment.book",
                app.number,
                office_id=office_id,
                start=start.astimezone(UTC).isoformat(),
                source="ivr",
                moved_from=made.moved_from,
            )
            return OK

        try:
            result: str = await self._run(write)
            return result
        except ledger.SlotTaken:
            return FULL
        except ledger.Changed:
            return REFUSED

    async def cancel(self, number: str, booking_id: int) -> bool:
        def write(conn: Connection) -> bool:
            app = ledger.application(conn, number)
            booking = ledger.active_booking(conn, app.id) if app is not None else None
            if app is None or booking is None or booking.id != booking_id:
                return False
            if not ledger.cancel(conn, booking_id):
                return False
            ledger.audit(conn, ACTOR, "appointment.cancel", app.number, id=booking_id, source="ivr")
            return True

        result: bool = await self._run(write)
        return result


def async_bookings(sessions: async_sessionmaker[AsyncSession]) -> LedgerBookings:
    """For the service (FastAGI): each call in its own session, committed."""

    async def run(fn: Callable[[Connection], Any]) -> Any:
        async with sessions() as s:

            def call(sync: Session) -> Any:
                return fn(sync.connection())

            result = await s.run_sync(call)
            await s.commit()
            return result

    return LedgerBookings(run)


def sync_bookings(engine: Engine | Callable[[], Engine]) -> LedgerBookings:
    """For the classic AGI script: a sync engine, each call in a daemon thread (see lookup.SyncDirectory)."""

    def get() -> Engine:
        return engine if isinstance(engine, Engine) else engine()

    async def run(fn: Callable[[Connection], Any]) -> Any:
        def work() -> Any:
            with get().begin() as conn:
                return fn(conn)

        return await in_thread(work)

    return LedgerBookings(run)
