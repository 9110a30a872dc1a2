"""Pickup offices, their slots and appointments over the API: thin routes over dialer.offices.services.

Agents read offices and slots and book during a call (``attempt_id`` records the call's "appointment
agreed" disposition with the booking); admins also create and edit offices, list and export a day's
bookings and see the load and no-show reports.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from dialer.dispositions import services as dispositions
from dialer.dispositions.schemas import DispositionIn
from dialer.engine.notifier import Notifier
from dialer.offices import services
from dialer.offices.schemas import (
    AppointmentIn,
    AppointmentOut,
    DayLoad,
    DaySlots,
    NoShow,
    OfficeEdit,
    OfficeIn,
    OfficeOut,
    SlotOut,
)
from dialer.web.api import ADMIN, ANYONE, API, CSV, ApiRequest
from dialer.web.csvdownload import stream_csv
from dialer.web.errors import ApiError
from dialer.web.schemas import Day, IdParam, Model, Text


class Offices(BaseModel):
    items: list[OfficeOut]


class SlotsQuery(Model):
    date: Day = Field(description="YYYY-MM-DD, the office's local day")


class AppointmentsQuery(Model):
    office_id: int | None = Field(None, ge=1, le=2**31 - 1, description="default: every office")
    date: Day = Field(description="YYYY-MM-DD, each office's local day")


class Appointments(BaseModel):
    items: list[AppointmentOut]


class OptionsQuery(Model):
    application_number: Text = Field(min_length=1, max_length=32)
    date: Day | None = Field(None, description="only this day's free slots (default: the next ones)")
    after: str | None = Field(None, max_length=40, description="only slots after this ISO 8601 instant")


class PickupOptions(BaseModel):
    """What the agent needs to agree a pickup: the application's office, its directions, its current
    booking, and the next free slots from the day the passport is ready."""

    application_number: str
    status: str
    ready_from: date | None
    office: OfficeOut | None
    booking: AppointmentOut | None
    slots: list[SlotOut]


class LoadQuery(Model):
    date_from: Day
    date_to: Day | None = Field(None, description="default date_from; at most 62 days")

    @model_validator(mode="after")
    def _order(self) -> LoadQuery:
        end = self.date_to or self.date_from
        if end < self.date_from:
            raise ValueError("date_to: must not be before date_from")
        if (end - self.date_from).days > 62:
            raise ValueError("date_to: at most 62 days after date_from")
        return self


class LoadReport(BaseModel):
    items: list[DayLoad]


class NoShowQuery(Model):
    days: int = Field(30, ge=1, le=366, description="look back this many days")


class NoShows(BaseModel):
    items: list[NoShow]


@API.route(
    "POST",
    "/offices",
    summary="Create a pickup office",
    tag="offices",
    roles=ADMIN,
    body=OfficeIn,
    response=OfficeOut,
    status=201,
)
async def create_office(call: ApiRequest) -> OfficeOut:
    return await services.create_office(call.service.sessions, call.body, actor=call.actor)


@API.route("GET", "/offices", summary="Every pickup office", tag="offices", roles=ANYONE, response=Offices)
async def list_offices(call: ApiRequest) -> Offices:
    return Offices(items=await services.list_offices(call.service.sessions))


@API.route(
    "GET",
    "/offices/{id}",
    summary="One office",
    tag="offices",
    roles=ANYONE,
    path_model=IdParam,
    response=OfficeOut,
)
async def get_office(call: ApiRequest) -> OfficeOut:
    return await services.get_office(call.service.sessions, call.path.id)


@API.route(
    "PATCH",
    "/offices/{id}",
    summary="Change an office",
    tag="offices",
    roles=ADMIN,
    path_model=IdParam,
    body=OfficeEdit,
    response=OfficeOut,
)
async def edit_office(call: ApiRequest) -> OfficeOut:
    """Only the fields given change. Bookings already made stay, even outside new hours."""
    return await services.edit_office(call.service.sessions, call.path.id, call.body, actor=call.actor)


@API.route(
    "GET",
    "/offices/{id}/slots",
    summary="A day's slots and their free places",
    tag="offices",
    roles=ANYONE,
    path_model=IdParam,
    query=SlotsQuery,
    response=DaySlots,
)
async def office_slots(call: ApiRequest) -> DaySlots:
    """``free`` is 0 for a slot already started or beyond the booking horizon; a closed day has none."""
    return await services.day_slots(call.service.sessions, call.path.id, call.query.date)


@API.route(
    "GET",
    "/appointments/options",
    summary="An application's office, directions, booking and next free slots",
    tag="appointments",
    roles=ANYONE,
    query=OptionsQuery,
    response=PickupOptions,
)
async def pickup_options(call: ApiRequest) -> PickupOptions:
    q = call.query
    after = None
    if q.after:
        after = services.parse_instant(q.after, "after")
    found = await services.pickup_options(
        call.service.sessions, q.application_number, day=q.date, after=after
    )
    return PickupOptions(**found)


@API.route(
    "POST",
    "/appointments",
    summary="Book a pickup slot (or move the application's booking)",
    tag="appointments",
    roles=ANYONE,
    body=AppointmentIn,
    response=AppointmentOut,
    status=201,
)
async def book_appointment(call: ApiRequest) -> AppointmentOut:
    """409 when the slot is full; 422 when the application is not ready (or not yet on that day), the
    office is closed then, or the time is not one of its slots. An application that already has a booking
    is moved, its old place freed in the same transaction. With ``attempt_id`` (an agent's own call) the
    call's disposition "appointment agreed" is recorded with the booking's time, office and directions."""
    body: AppointmentIn = call.body
    agent_id = None if call.user.is_admin else call.user.agent_id
    if body.attempt_id is not None:
        if not call.user.is_admin and agent_id is None:
            raise ApiError(409, "this user is not linked to an agent extension", "extension")
        await services.check_open_call(call.service.sessions, body.attempt_id, agent_id)
    booked = await services.book(
        call.service.sessions,
        body.application_number,
        body.office_id,
        body.start,
        actor=call.actor,
        source="api" if call.user.is_admin else "agent",
        attempt_id=body.attempt_id,
    )
    a = booked.appointment
    if body.attempt_id is not None:
        office = await services.get_office(call.service.sessions, a.office_id)
        disposition = DispositionIn(
            kind="appointment",
            appointment_at=a.start,
            pickup_office=office.name[:200],
            route=office.directions[:2000],
            notes=f"appointment {a.id}",
        )
        await dispositions.record(
            call.service.sessions,
            body.attempt_id,
            disposition,
            actor=call.actor,
            agent_id=agent_id,
            region=call.service.settings.outbound.default_region,
            notifier=Notifier(call.service.bus),
        )
    return a


@API.route(
    "DELETE",
    "/appointments/{id}",
    summary="Cancel a booking (its place is free at once)",
    tag="appointments",
    roles=ANYONE,
    path_model=IdParam,
    response=AppointmentOut,
)
async def cancel_appointment(call: ApiRequest) -> AppointmentOut:
    return await services.cancel(call.service.sessions, call.path.id, actor=call.actor)


@API.route(
    "GET",
    "/appointments",
    summary="A day's bookings",
    tag="appointments",
    roles=ADMIN,
    query=AppointmentsQuery,
    response=Appointments,
)
async def list_appointments(call: ApiRequest) -> Appointments:
    q = call.query
    return Appointments(items=await services.day_appointments(call.service.sessions, q.office_id, q.date))


@API.route(
    "GET",
    "/appointments/export",
    summary="A day's bookings as CSV",
    tag="appointments",
    roles=ADMIN,
    query=AppointmentsQuery,
    media=CSV,
)
async def export_appointments(call: ApiRequest) -> web.StreamResponse:
    q = call.query
    items = await services.day_appointments(call.service.sessions, q.office_id, q.date)
    name = f"appointments-{q.date.isoformat()}" + (f"-office{q.office_id}" if q.office_id else "")
    rows = (services.appointment_row(a) for a in items)
    return await stream_csv(call.request, f"{name}.csv", services.CSV_EXPORT, rows, bom=True)


@API.route(
    "GET",
    "/reports/appointments",
    summary="Bookings per office per day against its places",
    tag="reports",
    roles=ADMIN,
    query=LoadQuery,
    response=LoadReport,
)
async def appointments_load(call: ApiRequest) -> LoadReport:
    q = call.query
    last = q.date_to or q.date_from
    return LoadReport(items=await services.day_load(call.service.sessions, q.date_from, last))


@API.route(
    "GET",
    "/reports/no-shows",
    summary="Bookings whose slot is over while the passport is not issued",
    tag="reports",
    roles=ADMIN,
    query=NoShowQuery,
    response=NoShows,
)
async def no_shows(call: ApiRequest) -> NoShows:
    return NoShows(items=await services.no_shows(call.service.sessions, days=call.query.days))
