"""The booking ledger: the few statements that take, move and give back a place, on a sync SQLAlchemy
``Connection``. The only definition of booking: the service runs it on its async sessions (``run_sync``),
the classic AGI script on the PBX on a sync engine (it has SQLAlchemy, not pydantic, so this module and
what it imports use SQLAlchemy and the standard library only).

The guard is the database's: ``UPDATE slot_counters SET taken = taken + 1 WHERE taken < capacity`` (a row
lock on PostgreSQL, the write lock on SQLite: concurrent bookers take turns and the loser updates 0 rows),
and the unique ``appointments.active_application_id`` (one active booking per application). The caller
commits; any exception means nothing was changed once the transaction is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from dialer.db.models import Application, Appointment, AuditLog, Office, SlotCounter
from dialer.db.types import utcnow
from dialer.offices.slots import Schedule

ACTIVE, CANCELLED, MOVED = "active", "cancelled", "moved"

offices = cast(Table, Office.__table__)
counters = cast(Table, SlotCounter.__table__)
appointments = cast(Table, Appointment.__table__)
applications = cast(Table, Application.__table__)
audit_log = cast(Table, AuditLog.__table__)
_o, _c, _a, _p = offices.c, counters.c, appointments.c, applications.c


class SlotTaken(Exception):
    """Every place in the slot is taken."""


class Changed(Exception):
    """The application's booking changed while this one was being made (a concurrent booking or cancel)."""


@dataclass(frozen=True)
class Booking:
    id: int
    moved_from: int | None


def schedule_of(office: Row[Any]) -> Schedule:
    return Schedule.build(
        office.timezone,
        office.hours,
        holidays=office.holidays,
        closures=office.closures,
        slot_minutes=office.slot_minutes,
        capacity=office.capacity,
        horizon_days=office.horizon_days,
    )


def office(conn: Connection, office_id: int) -> Row[Any] | None:
    return conn.execute(select(offices).where(_o.id == office_id)).first()


def application(conn: Connection, number: str) -> Row[Any] | None:
    q = select(_p.id, _p.number, _p.status, _p.office_id, _p.pickup_from, _p.phone).where(_p.number == number)
    return conn.execute(q).first()


def active_booking(conn: Connection, application_id: int) -> Row[Any] | None:
    return conn.execute(select(appointments).where(_a.active_application_id == application_id)).first()


def day_range(sched: Schedule, first: date, last: date) -> tuple[datetime, datetime]:
    tz = sched.window.tz
    a = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    b = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return a, b


def taken(conn: Connection, office_id: int, since: datetime, until: datetime) -> dict[datetime, int]:
    rows = conn.execute(
        select(_c.start, _c.taken).where(_c.office_id == office_id, _c.start >= since, _c.start < until)
    )
    return {start: int(n) for start, n in rows.tuples()}


def free_slots(
    conn: Connection,
    office_row: Row[Any],
    *,
    now: datetime,
    after: datetime | None = None,
    ready_from: date | None = None,
    day: date | None = None,
    limit: int = 6,
) -> list[tuple[datetime, int]]:
    """The first ``limit`` (start UTC, places taken) with a free place, after ``after`` and ``now``, from the
    day the passport is ready through the booking horizon (only ``day`` when given)."""
    sched = schedule_of(office_row)
    first, last = sched.bookable_days(now, ready_from)
    if day is not None:
        first, last = max(first, day), min(last, day)
    if first > last:
        return []
    since, until = day_range(sched, first, last)
    used = taken(conn, office_row.id, since, until)
    floor = max(now, after) if after is not None else now
    out: list[tuple[datetime, int]] = []
    d = first
    while d <= last and len(out) < limit:
        for st in sched.day_slots(d):
            if st > floor and used.get(st, 0) < sched.capacity:
                out.append((st, used.get(st, 0)))
                if len(out) >= limit:
                    break
        d += timedelta(days=1)
    return out


def _insert_counter(conn: Connection, office_id: int, start: datetime) -> None:
    values = {"office_id": office_id, "start": start, "taken": 0}
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(counters).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite_insert(counters).values(values).on_conflict_do_nothing())


def take_place(conn: Connection, office_id: int, start: datetime, capacity: int) -> bool:
    """One place in the slot, if one is free: the first write of a booking (SQLite's lock starts here)."""
    _insert_counter(conn, office_id, start)
    res = conn.execute(
        update(counters)
        .where(_c.office_id == office_id, _c.start == start, _c.taken < capacity)
        .values(taken=_c.taken + 1)
    )
    return bool(res.rowcount == 1)


def give_back(conn: Connection, office_id: int, start: datetime) -> None:
    conn.execute(
        update(counters)
        .where(_c.office_id == office_id, _c.start == start, _c.taken > 0)
        .values(taken=_c.taken - 1)
    )


def book(
    conn: Connection,
    *,
    application_id: int,
    office_id: int,
    capacity: int,
    start: datetime,
    current: Row[Any] | None,
    actor: str,
    source: str,
    attempt_id: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Take a place at ``start`` and make the booking; ``current`` (the application's active booking, read
    before) is moved and its place given back in the same transaction. Raises SlotTaken or Changed."""
    now = now or utcnow()
    start = start.astimezone(UTC)
    if not take_place(conn, office_id, start, capacity):
        raise SlotTaken(start)
    moved_from = None
    if current is not None:
        res = conn.execute(
            update(appointments)
            .where(_a.id == current.id, _a.state == ACTIVE)
            .values(state=MOVED, active_application_id=None, cancelled_at=now)
        )
        if res.rowcount != 1:
            raise Changed(current.id)
        give_back(conn, current.office_id, current.start)
        moved_from = int(current.id)
    try:  # the unique active_application_id: a concurrent booking of the same application got in first
        new_id = conn.execute(
            insert(appointments)
            .values(
                application_id=application_id,
                active_application_id=application_id,
                office_id=office_id,
                start=start,
                state=ACTIVE,
                source=source,
                booked_by=actor,
                attempt_id=attempt_id,
                created_at=now,
            )
            .returning(_a.id)
        ).scalar_one()
    except IntegrityError:
        raise Changed(application_id) from None
    return Booking(int(new_id), moved_from)


def cancel(conn: Connection, appointment_id: int, now: datetime | None = None) -> bool:
    """Cancel an active booking and give its place back; False when it was not active (or not there)."""
    now = now or utcnow()
    row = conn.execute(select(appointments).where(_a.id == appointment_id)).first()
    if row is None:
        return False
    res = conn.execute(
        update(appointments)
        .where(_a.id == appointment_id, _a.state == ACTIVE)
        .values(state=CANCELLED, active_application_id=None, cancelled_at=now)
    )
    if res.rowcount != 1:
        return False
    give_back(conn, row.office_id, row.start)
    return True


def audit(conn: Connection, actor: str, action: str, target: str | None, **details: Any) -> None:
    conn.execute(
        insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, details=details)
    )
