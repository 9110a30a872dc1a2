"""Offices, slots and bookings: the one place where a pickup appointment is made, moved or cancelled,
whoever asks (the API, the agent page, the IVR, the CLI).

Booking is a single transaction guarded by the database, not by this process: the slot's counter row is
taken with ``UPDATE slot_counters SET taken = taken + 1 WHERE taken < capacity`` (PostgreSQL locks the row,
SQLite the database, so concurrent bookers take turns and the loser sees 0 rows), and the appointment's
``active_application_id`` is unique, so an application never has two active bookings. Moving a booking
frees the old place in the same transaction; a failure anywhere leaves everything as it was.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from dialer.auditlog import audit
from dialer.config import WEEKDAYS
from dialer.db.models import (
    Application,
    ApplicationStatus,
    Appointment,
    AppointmentState,
    Office,
)
from dialer.db.types import utcnow
from dialer.dispositions.services import open_call
from dialer.errors import Conflict, NotFound, ServiceError
from dialer.imports.csvfile import CsvFormatError, read_rows
from dialer.offices import ledger
from dialer.offices.schemas import (
    AppointmentOut,
    DayLoad,
    DaySlots,
    ImportRejected,
    LinkReport,
    NoShow,
    OfficeEdit,
    OfficeImportReport,
    OfficeIn,
    OfficeOut,
    SlotOut,
)
from dialer.offices.slots import Schedule

Sessions = async_sessionmaker[AsyncSession]

LOCK_RETRIES = 5  # SQLite only: a writer that waited past busy_timeout tries again


class Unbookable(ServiceError):
    """The application or the time can not be booked (not ready, office closed, too far ahead)."""

    status = 422


class SlotFull(Conflict):
    """Every place in the slot is taken."""


# ---- offices -------------------------------------------------------------------------------------------
def schedule(office: Office) -> Schedule:
    return Schedule.build(
        office.timezone,
        office.hours,
        holidays=office.holidays,
        closures=office.closures,
        slot_minutes=office.slot_minutes,
        capacity=office.capacity,
        horizon_days=office.horizon_days,
    )


def office_out(o: Office) -> OfficeOut:
    return OfficeOut(
        id=o.id,
        name=o.name,
        address=o.address,
        directions=o.directions,
        directions_en=o.directions_en or "",
        timezone=o.timezone,
        hours={d: o.hours.get(d, "closed") for d in WEEKDAYS},
        holidays=[date.fromisoformat(str(d)) for d in o.holidays],
        closures=[dict(c) for c in o.closures],
        slot_minutes=o.slot_minutes,
        capacity=o.capacity,
        horizon_days=o.horizon_days,
    )


def name_key(name: str) -> str:
    """How office names are matched: case, spacing and ё/е do not matter."""
    return " ".join(name.split()).casefold().replace("ё", "е")


async def _office(s: AsyncSession, office_id: int) -> Office:
    office = await s.get(Office, office_id)
    if office is None:
        raise NotFound(f"no office {office_id}", field="office_id")
    return office


async def create_office(sessions: Sessions, spec: OfficeIn, *, actor: str) -> OfficeOut:
    async with sessions() as s:
        office = Office(**spec.model_dump(mode="json"))
        s.add(office)
        try:
            await s.flush()
        except IntegrityError:
            raise Conflict(f"an office named {spec.name!r} already exists", field="name") from None
        await audit(s, actor, "office.create", spec.name, id=office.id)
        await s.commit()
        return office_out(office)


async def edit_office(sessions: Sessions, office_id: int, changes: OfficeEdit, *, actor: str) -> OfficeOut:
    """Change an office. Existing bookings stay as they are, even if they no longer fit the new hours."""
    data = changes.model_dump(mode="json", exclude_unset=True)
    nulls = [k for k, v in data.items() if v is None]
    if nulls:
        raise ServiceError(f"{nulls[0]} can not be empty", field=nulls[0])
    async with sessions() as s:
        office = await _office(s, office_id)
        for k, v in data.items():
            setattr(office, k, v)
        await audit(s, actor, "office.edit", office.name, id=office_id, changes=data)
        try:
            await s.commit()
        except IntegrityError:
            raise Conflict(f"an office named {data.get('name')!r} already exists", field="name") from None
        return office_out(office)


async def get_office(sessions: Sessions, office_id: int) -> OfficeOut:
    async with sessions() as s:
        return office_out(await _office(s, office_id))


async def list_offices(sessions: Sessions) -> list[OfficeOut]:
    async with sessions() as s:
        return [office_out(o) for o in (await s.execute(select(Office).order_by(Office.name))).scalars()]


async def find_office(sessions: Sessions, ref: str) -> OfficeOut:
    """An office by id or by name (as the CLI takes it)."""
    async with sessions() as s:
        if ref.isdigit():
            return office_out(await _office(s, int(ref)))
        for o in (await s.execute(select(Office))).scalars():
            if name_key(o.name) == name_key(ref):
                return office_out(o)
    raise NotFound(f"no office named {ref!r}", field="office")


CSV_REQUIRED = ("name", "address", "directions", "capacity")
CSV_COLUMNS = (
    *CSV_REQUIRED,
    "directions_en",
    "timezone",
    *WEEKDAYS,
    "holidays",
    "slot_minutes",
    "horizon_days",
)


def _csv_spec(d: dict[str, str], default_tz: str) -> OfficeIn:
    extra = d.pop("__extra__", None)
    if extra:
        raise ValueError("more values than columns")
    data: dict[str, Any] = {k: d[k] for k in ("name", "address", "directions", "directions_en") if d.get(k)}
    data["timezone"] = d.get("timezone") or default_tz
    data["hours"] = {w: d.get(w) or "closed" for w in WEEKDAYS}
    data["holidays"] = (d.get("holidays") or "").replace(",", " ").split()
    for k in ("capacity", "slot_minutes", "horizon_days"):
        if d.get(k):
            data[k] = d[k]
    return OfficeIn.model_validate(data)


def _first_error(e: ValidationError) -> str:
    first = e.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return f"{loc}: {str(first['msg']).removeprefix('Value error, ')}" if loc else str(first["msg"])


async def import_offices(
    sessions: Sessions, stream: IO[bytes], *, actor: str, default_tz: str
) -> OfficeImportReport:
    """Create or update offices from a CSV (header: name, address, directions, capacity and optionally
    directions_en, timezone, mon..sun as "HH:MM-HH:MM"/"closed", holidays (dates separated by spaces),
    slot_minutes, horizon_days). Known names are updated; bad rows are reported with their line."""
    report = OfficeImportReport()
    try:
        rows = await asyncio.to_thread(lambda: list(read_rows(stream, required=CSV_REQUIRED)))
    except CsvFormatError as e:
        raise ServiceError(f"offices file: {e}", field="file") from None
    except csv.Error as e:
        raise ServiceError(f"offices file: {e}", field="file") from None
    seen: set[str] = set()
    async with sessions() as s:
        known = {name_key(o.name): o for o in (await s.execute(select(Office))).scalars()}
        for row in rows:
            report.total_rows += 1
            try:
                spec = _csv_spec(dict(row.data), default_tz)
            except ValidationError as e:
                report.rejected.append(ImportRejected(line=row.line, reason=_first_error(e)))
                continue
            except ValueError as e:
                report.rejected.append(ImportRejected(line=row.line, reason=str(e)))
                continue
            key = name_key(spec.name)
            if key in seen:
                reason = f"duplicate: office {spec.name!r} is listed earlier in the file"
                report.rejected.append(ImportRejected(line=row.line, reason=reason))
                continue
            seen.add(key)
            values = spec.model_dump(mode="json")
            if key in known:
                for k, v in values.items():
                    setattr(known[key], k, v)
                report.updated += 1
            else:
                office = Office(**values)
                s.add(office)
                known[key] = office
                report.created += 1
        await audit(
            s,
            actor,
            "office.import",
            None,
            created=report.created,
            updated=report.updated,
            rejected=len(report.rejected),
        )
        await s.commit()
    return report


async def link_applications(sessions: Sessions, *, actor: str) -> LinkReport:
    """Point applications at their office by matching their free-text ``pickup_office`` to office names;
    the texts that match no office are reported (with how many applications carry each)."""
    report = LinkReport()
    async with sessions() as s:
        offices = {name_key(o.name): o.id for o in (await s.execute(select(Office))).scalars()}
        report.already = int(
            (await s.execute(select(func.count()).where(Application.office_id.is_not(None)))).scalar_one()
        )
        texts = (
            await s.execute(
                select(Application.pickup_office, func.count())
                .where(Application.office_id.is_(None), Application.pickup_office.is_not(None))
                .group_by(Application.pickup_office)
            )
        ).tuples()
        for text, n in list(texts):
            office_id = offices.get(name_key(text or ""))
            if office_id is None:
                if text and text.strip():
                    report.unmatched[text] = report.unmatched.get(text, 0) + int(n)
                continue
            res = await s.execute(
                update(Application)
                .where(Application.pickup_office == text, Application.office_id.is_(None))
                .values(office_id=office_id)
            )
            report.linked += int(res.rowcount)  # type: ignore[attr-defined]
        await audit(
            s, actor, "office.link", None, linked=report.linked, unmatched=sum(report.unmatched.values())
        )
        await s.commit()
    return report


# ---- slots ---------------------------------------------------------------------------------------------
_day_range = ledger.day_range


def _slot(sched: Schedule, start: datetime, taken: int, bookable: bool) -> SlotOut:
    local = start.astimezone(sched.window.tz)
    end = (datetime.combine(local.date(), local.time()) + timedelta(minutes=sched.slot_minutes)).replace(
        tzinfo=sched.window.tz
    )
    free = max(0, sched.capacity - taken) if bookable else 0
    return SlotOut(start=local, end=end.astimezone(sched.window.tz), capacity=sched.capacity, free=free)


async def day_slots(sessions: Sessions, office_id: int, day: date, now: datetime | None = None) -> DaySlots:
    """The day's slots with their free places (0 for a slot already started or beyond the horizon)."""
    now = now or utcnow()
    async with sessions() as s:
        office = await _office(s, office_id)
        sched = schedule(office)
        since, until = _day_range(sched, day, day)
        taken = await s.run_sync(lambda sync: ledger.taken(sync.connection(), office_id, since, until))
    _, last = sched.bookable_days(now)
    slots = [_slot(sched, st, taken.get(st, 0), st > now and day <= last) for st in sched.day_slots(day)]
    return DaySlots(office_id=office_id, date=day, timezone=office.timezone, slots=slots)


async def next_free(
    sessions: Sessions,
    office_id: int,
    *,
    now: datetime | None = None,
    after: datetime | None = None,
    ready_from: date | None = None,
    limit: int = 6,
    day: date | None = None,
) -> list[SlotOut]:
    """The first ``limit`` slots with a free place, after ``after`` (and ``now``), from the day the passport
    is ready; only on ``day`` when given."""
    now = now or utcnow()
    async with sessions() as s:
        office = await _office(s, office_id)
        sched = schedule(office)

        def read(sync: Session) -> list[tuple[datetime, int]]:
            row = ledger.office(sync.connection(), office_id)
            assert row is not None
            return ledger.free_slots(
                sync.connection(), row, now=now, after=after, ready_from=ready_from, day=day, limit=limit
            )

        found = await s.run_sync(read)
    return [_slot(sched, st, n, True) for st, n in found]


# ---- bookings ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Booked:
    appointment: AppointmentOut
    created: bool  # False: the application already had exactly this booking


def _appointment_out(
    a: Appointment, app: Application, office: Office, moved_from: int | None = None
) -> AppointmentOut:
    tz = ZoneInfo(office.timezone)
    start = a.start.astimezone(tz)
    return AppointmentOut(
        id=a.id,
        application_number=app.number,
        office_id=office.id,
        office=office.name,
        start=start,
        end=(a.start + timedelta(minutes=office.slot_minutes)).astimezone(tz),
        state=a.state,
        source=a.source,
        booked_by=a.booked_by,
        created_at=a.created_at,
        cancelled_at=a.cancelled_at,
        moved_from=moved_from,
        phone=app.phone,
        applicant_name=app.applicant_name,
    )


def _is_lock_timeout(e: OperationalError) -> bool:
    return "database is locked" in str(e.orig)


async def _application(s: AsyncSession, number: str) -> Application:
    app = (await s.execute(select(Application).where(Application.number == number))).scalar_one_or_none()
    if app is None:
        raise NotFound(f"no application {number!r}", field="application_number")
    return app


async def book(
    sessions: Sessions,
    application_number: str,
    office_id: int,
    start: datetime,
    *,
    actor: str,
    source: str = "api",
    attempt_id: int | None = None,
    now: datetime | None = None,
) -> Booked:
    """Book (or move the application's booking to) ``start`` at the office. Raises NotFound (404), SlotFull
    (409), Conflict (409, a concurrent change), Unbookable (422: not ready, before the ready day, office
    closed, not a slot, beyond the horizon)."""
    for tries in range(LOCK_RETRIES):
        try:
            return await _book_once(
                sessions, application_number, office_id, start, actor, source, attempt_id, now or utcnow()
            )
        except OperationalError as e:
            if not _is_lock_timeout(e) or tries == LOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


async def _book_once(
    sessions: Sessions,
    number: str,
    office_id: int,
    start: datetime,
    actor: str,
    source: str,
    attempt_id: int | None,
    now: datetime,
) -> Booked:
    if start.tzinfo is None:
        raise Unbookable("give the slot's UTC offset", field="start")
    start = start.astimezone(UTC)
    async with sessions() as s:
        app = await _application(s, number)
        office = await _office(s, office_id)
        if app.status != ApplicationStatus.READY:
            raise Unbookable(
                f"application {number} is not ready for pickup (it is {app.status})",
                field="application_number",
            )
        if app.office_id is not None and app.office_id != office.id:
            raise Unbookable(
                f"application {number} is collected at another office (id {app.office_id})",
                field="office_id",
            )
        sched = schedule(office)
        why = sched.why_not_bookable(start, now, app.pickup_from)
        if why is not None:
            raise Unbookable(why, field="start")
        current = (
            await s.execute(select(Appointment).where(Appointment.active_application_id == app.id))
        ).scalar_one_or_none()
        if current is not None and current.office_id == office.id and current.start == start:
            return Booked(_appointment_out(current, app, office), False)
        current_row = None
        if current is not None:
            current_row = await s.run_sync(lambda sync: ledger.active_booking(sync.connection(), app.id))
        try:
            made = await s.run_sync(
                lambda sync: ledger.book(
                    sync.connection(),
                    application_id=app.id,
                    office_id=office.id,
                    capacity=office.capacity,
                    start=start,
                    current=current_row,
                    actor=actor,
                    source=source,
                    attempt_id=attempt_id,
                    now=now,
                )
            )
        except ledger.SlotTaken:
            local = start.astimezone(ZoneInfo(office.timezone))
            raise SlotFull(f"the slot at {local:%Y-%m-%d %H:%M} is full", field="start") from None
        except ledger.Changed:
            raise Conflict(
                f"the booking of {number} changed meanwhile; try again", field="application_number"
            ) from None
        moved_from = made.moved_from
        appt = await s.get(Appointment, made.id)
        assert appt is not None
        await audit(
            s,
            actor,
            "appointment.book",
            number,
            office_id=office.id,
            start=start.isoformat(),
            source=source,
            moved_from=moved_from,
        )
        await s.commit()
        return Booked(_appointment_out(appt, app, office, moved_from), True)


async def cancel(
    sessions: Sessions, appointment_id: int, *, actor: str, now: datetime | None = None
) -> AppointmentOut:
    """Cancel an active booking; its place is free again at once."""
    now = now or utcnow()
    for tries in range(LOCK_RETRIES):
        try:
            async with sessions() as s:
                done = await s.run_sync(lambda sync: ledger.cancel(sync.connection(), appointment_id, now))
                appt = await s.get(Appointment, appointment_id)
                if appt is None:
                    raise NotFound(f"no appointment {appointment_id}", field="id")
                if not done:
                    raise Conflict(f"appointment {appointment_id} is already {appt.state}", field="id")
                await s.refresh(appt)
                app = await s.get(Application, appt.application_id)
                office = await s.get(Office, appt.office_id)
                assert app is not None and office is not None
                await audit(s, actor, "appointment.cancel", app.number, id=appointment_id)
                await s.commit()
                return _appointment_out(appt, app, office)
        except OperationalError as e:
            if not _is_lock_timeout(e) or tries == LOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


async def get_appointment(sessions: Sessions, appointment_id: int) -> AppointmentOut:
    async with sessions() as s:
        appt = await s.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound(f"no appointment {appointment_id}", field="id")
        app = await s.get(Application, appt.application_id)
        office = await s.get(Office, appt.office_id)
        assert app is not None and office is not None
        return _appointment_out(appt, app, office)


async def active_booking(sessions: Sessions, application_number: str) -> AppointmentOut | None:
    async with sessions() as s:
        app = await _application(s, application_number)
        appt = (
            await s.execute(select(Appointment).where(Appointment.active_application_id == app.id))
        ).scalar_one_or_none()
        if appt is None:
            return None
        office = await s.get(Office, appt.office_id)
        assert office is not None
        return _appointment_out(appt, app, office)


async def day_appointments(
    sessions: Sessions, office_id: int | None, day: date, *, include_cancelled: bool = False
) -> list[AppointmentOut]:
    """The day's bookings (local day of each office), by office then time."""
    async with sessions() as s:
        q = select(Office)
        if office_id is not None:
            await _office(s, office_id)
            q = q.where(Office.id == office_id)
        out: list[AppointmentOut] = []
        for office in (await s.execute(q.order_by(Office.name))).scalars():
            since, until = _day_range(schedule(office), day, day)
            cond = [Appointment.office_id == office.id, Appointment.start >= since, Appointment.start < until]
            if not include_cancelled:
                cond.append(Appointment.state == AppointmentState.ACTIVE)
            rows = await s.execute(
                select(Appointment, Application)
                .join(Application, Application.id == Appointment.application_id)
                .where(and_(*cond))
                .order_by(Appointment.start, Appointment.id)
            )
            out.extend(_appointment_out(a, app, office) for a, app in rows.tuples())
        return out


CSV_EXPORT = (
    "id",
    "office",
    "start",
    "end",
    "application_number",
    "applicant_name",
    "phone",
    "state",
    "source",
)


def appointment_row(a: AppointmentOut) -> list[Any]:
    """One booking as a row of the CSV export (the columns of ``CSV_EXPORT``)."""
    return [
        a.id,
        a.office,
        a.start.isoformat(),
        a.end.isoformat(),
        a.application_number,
        a.applicant_name or "",
        a.phone or "",
        a.state,
        a.source,
    ]


def appointments_csv(items: Sequence[AppointmentOut]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_EXPORT)
    w.writerows(appointment_row(a) for a in items)
    return buf.getvalue()


# ---- reports -------------------------------------------------------------------------------------------
async def day_load(sessions: Sessions, first: date, last: date) -> list[DayLoad]:
    """Active bookings per office per local day, against the day's places (slots x capacity)."""
    out: list[DayLoad] = []
    async with sessions() as s:
        for office in (await s.execute(select(Office).order_by(Office.name))).scalars():
            sched = schedule(office)
            since, until = _day_range(sched, first, last)
            starts = (
                await s.execute(
                    select(Appointment.start).where(
                        Appointment.office_id == office.id,
                        Appointment.state == AppointmentState.ACTIVE,
                        Appointment.start >= since,
                        Appointment.start < until,
                    )
                )
            ).scalars()
            per_day = Counter(sched.local_day(st) for st in starts)
            d = first
            while d <= last:
                out.append(
                    DayLoad(
                        office_id=office.id,
                        office=office.name,
                        date=d,
                        booked=per_day.get(d, 0),
                        places=sched.day_places(d),
                    )
                )
                d += timedelta(days=1)
    return out


async def no_shows(sessions: Sessions, *, now: datetime | None = None, days: int = 30) -> list[NoShow]:
    """Active bookings whose slot is over while the application is still not marked issued."""
    now = now or utcnow()
    out: list[NoShow] = []
    async with sessions() as s:
        rows = await s.execute(
            select(Appointment, Application, Office)
            .join(Application, Application.id == Appointment.application_id)
            .join(Office, Office.id == Appointment.office_id)
            .where(
                Appointment.state == AppointmentState.ACTIVE,
                Appointment.start < now,
                Appointment.start >= now - timedelta(days=days),
                Application.status != ApplicationStatus.ISSUED,
            )
            .order_by(Appointment.start)
        )
        for appt, app, office in rows.tuples():
            if appt.start + timedelta(minutes=office.slot_minutes) > now:
                continue
            out.append(
                NoShow(
                    appointment_id=appt.id,
                    application_number=app.number,
                    office=office.name,
                    start=appt.start.astimezone(ZoneInfo(office.timezone)),
                    status=app.status,
                )
            )
    return out


# ---- for the agent page and the IVR --------------------------------------------------------------------
def parse_instant(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise ServiceError(f"{field}: not an ISO 8601 date-time: {text!r}", field=field) from None
    if at.tzinfo is None:
        raise ServiceError(f"{field}: give the UTC offset", field=field)
    return at


async def pickup_options(
    sessions: Sessions,
    application_number: str,
    *,
    day: date | None = None,
    after: datetime | None = None,
    limit: int = 6,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The application's office (None when it has no office yet), its active booking and the next free
    slots (none unless the passport is ready)."""
    async with sessions() as s:
        app = await _application(s, application_number)
        office = await s.get(Office, app.office_id) if app.office_id is not None else None
        number, status, ready_from = app.number, app.status, app.pickup_from
    booking = await active_booking(sessions, number)
    slots: list[SlotOut] = []
    if office is not None and status == ApplicationStatus.READY:
        slots = await next_free(
            sessions, office.id, now=now, after=after, ready_from=ready_from, limit=limit, day=day
        )
    return {
        "application_number": number,
        "status": status,
        "ready_from": ready_from,
        "office": office_out(office) if office is not None else None,
        "booking": booking,
        "slots": slots,
    }


async def check_open_call(sessions: Sessions, attempt_id: int, agent_id: int | None) -> None:
    """Before booking for a call: the call exists (and is the agent's own) and has no disposition yet, so
    the booking and its disposition are not split by a foreseeable refusal."""
    async with sessions() as s:
        await open_call(s, attempt_id, agent_id)
