"""Offices through the service layer on both databases: create, edit, CSV import, and linking the
applications' free-text office to a real office."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from dialer.db.models import Application
from dialer.errors import Conflict, NotFound
from dialer.offices import services
from dialer.offices.schemas import OfficeEdit
from tests.offices.conftest import make_applications, make_office


async def test_create_edit_and_list(db_sessions: Any) -> None:
    o = await make_office(db_sessions, hours={"mon": "09:00-13:00"})
    assert o.hours["mon"] == "09:00-13:00" and o.hours["sun"] == "closed"
    with pytest.raises(Conflict, match="already exists"):
        await make_office(db_sessions)
    edited = await services.edit_office(
        db_sessions, o.id, OfficeEdit(capacity=5, holidays=["2027-01-07"]), actor="test"
    )
    assert edited.capacity == 5 and [d.isoformat() for d in edited.holidays] == ["2027-01-07"]
    assert edited.address == "ул. Тверская, 8"
    assert [x.name for x in await services.list_offices(db_sessions)] == ["МФЦ Тверской"]
    assert (await services.find_office(db_sessions, "мфц  тверской")).id == o.id
    with pytest.raises(NotFound):
        await services.get_office(db_sessions, o.id + 100)


async def test_csv_import_creates_updates_and_reports_bad_rows(db_sessions: Any) -> None:
    await make_office(db_sessions, name="МФЦ Тверской", capacity=1)
    text = (
        "name;address;directions;capacity;mon;tue;holidays;slot_minutes\n"
        "МФЦ Тверской;ул. Тверская, 8;Метро;4;10:00-12:00;closed;2027-01-07 2027-01-08;20\n"
        "МФЦ Арбат;ул. Арбат, 1;Метро Арбатская;2;09:00-18:00;09:00-18:00;;\n"
        "Плохой;адрес;путь;2;9-18;;;\n"
        "Без ёмкости;адрес;путь;;09:00-18:00;;;\n"
        "мфц арбат;ул. Арбат, 1;Метро;2;;;;\n"
    )
    report = await services.import_offices(
        db_sessions, io.BytesIO(text.encode("cp1251")), actor="test", default_tz="Europe/Moscow"
    )
    assert (report.total_rows, report.created, report.updated) == (5, 1, 1)
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {4, 5, 6}
    assert "hours: mon: " in reasons[4] and "HH:MM-HH:MM" in reasons[4]
    assert "capacity" in reasons[5]
    assert "duplicate" in reasons[6]
    tver = await services.find_office(db_sessions, "МФЦ Тверской")
    assert (tver.capacity, tver.slot_minutes, tver.hours["mon"], tver.hours["tue"]) == (
        4,
        20,
        "10:00-12:00",
        "closed",
    )
    assert len(tver.holidays) == 2


async def test_link_applications_by_office_name_and_report_the_rest(db_sessions: Any) -> None:
    o = await make_office(db_sessions, name="МФЦ Тверской")
    await make_applications(db_sessions, ["A-1", "A-2"], pickup_office="мфц тверской ")
    await make_applications(db_sessions, ["B-1", "B-2", "B-3"], pickup_office="Отделение №5")
    await make_applications(db_sessions, ["C-1"])
    report = await services.link_applications(db_sessions, actor="test")
    assert report.linked == 2 and report.already == 0
    assert report.unmatched == {"Отделение №5": 3}
    async with db_sessions() as s:
        rows = dict((await s.execute(select(Application.number, Application.office_id))).tuples().all())
    assert rows == {"A-1": o.id, "A-2": o.id, "B-1": None, "B-2": None, "B-3": None, "C-1": None}
    again = await services.link_applications(db_sessions, actor="test")
    assert (again.linked, again.already) == (0, 2)


async def test_an_applications_import_points_them_at_the_office_it_names(db_sessions: Any) -> None:
    from dialer.applications.services import import_applications

    o = await make_office(db_sessions, name="МФЦ Тверской")
    text = (
        "application_number,applicant_name,phone,status,pickup_office\n"
        "N-1,Иванов,+79161234567,ready,МФЦ  тверской\n"
        "N-2,Петров,+79161234568,ready,Почта\n"
    )
    await import_applications(db_sessions, io.BytesIO(text.encode()), actor="test")
    async with db_sessions() as s:
        rows = dict((await s.execute(select(Application.number, Application.office_id))).tuples().all())
    assert rows == {"N-1": o.id, "N-2": None}
