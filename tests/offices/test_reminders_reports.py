"""Reminders and reports on both databases: tomorrow's bookings become a normal campaign (once), a
cancelled booking is left out, the load per office per day counts against its places, and a booking whose
slot is over without the passport being issued is a no-show."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from dialer.db.models import Application, Campaign, Contact, DoNotCall
from dialer.offices import reminders, services
from tests.offices.conftest import make_applications, make_office

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # Monday 09:00 in Moscow
TUE = date(2027, 3, 2)


def at(hm: str, day: date = TUE) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{hm}:00+03:00")


async def test_reminder_campaign_for_the_days_bookings(db_sessions: Any) -> None:
    o = await make_office(db_sessions, capacity=2)
    await make_applications(db_sessions, ["A-0", "A-1", "A-2", "A-3"], office_id=o.id)
    for n, hm in (("A-0", "10:00"), ("A-1", "10:00"), ("A-2", "11:00")):
        await services.book(db_sessions, n, o.id, at(hm), actor="t", now=NOW)
    await services.book(db_sessions, "A-3", o.id, at("10:00", date(2027, 3, 3)), actor="t", now=NOW)
    gone = await services.book(db_sessions, "A-2", o.id, at("11:30"), actor="t", now=NOW)
    await services.cancel(db_sessions, gone.appointment.id, actor="t")
    async with db_sessions() as s:
        s.add(DoNotCall(phone="+79990000001", reason="asked"))  # A-1's phone
        await s.commit()
    r = await reminders.generate(db_sessions, TUE, actor="t", default_tz="Europe/Moscow", caller_id="505")
    assert (r.campaign, r.contacts, r.created) == ("reminders-2027-03-02", 2, True)
    async with db_sessions() as s:
        camp = (await s.execute(select(Campaign).where(Campaign.name == r.campaign))).scalar_one()
        contacts = (
            (
                await s.execute(
                    select(Contact.phone, Contact.state)
                    .where(Contact.campaign_id == camp.id)
                    .order_by(Contact.phone)
                )
            )
            .tuples()
            .all()
        )
    assert camp.state == "draft" and camp.pacing_mode == "progressive"
    assert contacts == [("+79990000000", "pending"), ("+79990000001", "dnc")]
    again = await reminders.generate(
        db_sessions, TUE, actor="t", default_tz="Europe/Moscow", caller_id="505", start=True
    )
    assert (again.created, again.contacts) == (False, 2)
    nobody = await reminders.generate(
        db_sessions, date(2027, 3, 9), actor="t", default_tz="Europe/Moscow", caller_id="505"
    )
    assert (nobody.created, nobody.contacts) == (False, 0)
    started = await reminders.generate(
        db_sessions, date(2027, 3, 3), actor="t", default_tz="Europe/Moscow", caller_id="505", start=True
    )
    assert started.created
    async with db_sessions() as s:
        state = (
            await s.execute(select(Campaign.state).where(Campaign.name == started.campaign))
        ).scalar_one()
    assert state == "running"


def test_the_evening_timer_wakes_at_18_local() -> None:
    msk = ZoneInfo("Europe/Moscow")
    assert reminders.next_run(datetime(2027, 3, 1, 14, 59, tzinfo=UTC), msk) == datetime(
        2027, 3, 1, 15, 0, tzinfo=UTC
    )
    assert reminders.next_run(datetime(2027, 3, 1, 15, 0, tzinfo=UTC), msk) == datetime(
        2027, 3, 2, 15, 0, tzinfo=UTC
    )
    berlin = ZoneInfo("Europe/Berlin")  # across the spring change, still 18:00 on the wall
    assert reminders.next_run(datetime(2027, 3, 27, 18, 0, tzinfo=UTC), berlin) == datetime(
        2027, 3, 28, 16, 0, tzinfo=UTC
    )


async def test_load_per_office_per_day_and_no_shows(db_sessions: Any) -> None:
    o = await make_office(db_sessions, capacity=2, hours={"tue": "09:00-11:00", "wed": "09:00-10:00"})
    await make_applications(db_sessions, ["A-0", "A-1", "A-2"], office_id=o.id)
    await services.book(db_sessions, "A-0", o.id, at("09:00"), actor="t", now=NOW)
    await services.book(db_sessions, "A-1", o.id, at("10:30"), actor="t", now=NOW)
    await services.book(db_sessions, "A-2", o.id, at("09:30", date(2027, 3, 3)), actor="t", now=NOW)
    load = await services.day_load(db_sessions, TUE, date(2027, 3, 4))
    assert [(x.date.isoformat(), x.booked, x.places) for x in load] == [
        ("2027-03-02", 2, 8),
        ("2027-03-03", 1, 4),
        ("2027-03-04", 0, 0),
    ]
    async with db_sessions() as s:
        await s.execute(update(Application).where(Application.number == "A-0").values(status="issued"))
        await s.commit()
    # Tuesday 10:45: A-0 came (issued), A-1's slot (10:30-11:00) is not over yet
    assert await services.no_shows(db_sessions, now=at("10:45")) == []
    late = await services.no_shows(db_sessions, now=at("11:00"))
    assert [(x.application_number, x.start, x.status) for x in late] == [("A-1", at("10:30"), "ready")]
    assert late[0].start.utcoffset() == timedelta(hours=3)


async def test_the_evening_timer_generates_and_starts_tomorrows_campaign(db_sessions: Any) -> None:
    from types import SimpleNamespace

    from dialer.config import load_settings
    from tests.conftest import REPO

    o = await make_office(db_sessions)
    await make_applications(db_sessions, ["A-0"], office_id=o.id)
    await services.book(db_sessions, "A-0", o.id, at("10:00"), actor="t", now=NOW)
    service = SimpleNamespace(settings=load_settings(REPO / "config.yaml"), sessions=db_sessions)
    evening = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # Monday 18:00 in Moscow: Tuesday's reminders
    r = await reminders.EveningTimer(service).run_once(evening)  # type: ignore[arg-type]
    assert (r.campaign, r.contacts, r.created) == ("reminders-2027-03-02", 1, True)
    async with db_sessions() as s:
        state = (await s.execute(select(Campaign.state).where(Campaign.name == r.campaign))).scalar_one()
    assert state == "running"
