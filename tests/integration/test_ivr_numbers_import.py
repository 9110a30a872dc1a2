"""Numbers as callers key them, on the way in (SQLite and PostgreSQL): every path that creates applications
stores their digits (the applications import, the campaign contact import the demo uses, the ORM), the
import warns about numbers a caller can not key and digits two applications share, and the agents' search
finds an application by its digits."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from dialer.applications import services as apps
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import CampaignSpec
from dialer.db.models import Application, AuditLog

HEADER = "application_number,applicant_name,phone,status\n"


def csv(*numbers: str) -> io.BytesIO:
    return io.BytesIO((HEADER + "".join(f"{n},Иванов И.,+79161234567,ready\n" for n in numbers)).encode())


async def keys(sessions: Any) -> dict[str, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Application.number, Application.search_key))).tuples().all())


async def test_import_stores_digits_and_warns_about_what_callers_can_not_key(db_sessions: Any) -> None:
    report = await apps.import_applications(
        db_sessions,
        csv("2027-00010", "АБВ-ГД", "A-12", "202700010", "2027 00020", "МС/2027/00030"),
        actor="admin",
    )
    assert (report.created, report.rejected) == (6, [])  # warnings keep the row
    assert [(w.line, w.reason) for w in report.warnings] == [
        (3, "application 'АБВ-ГД' has no digits: callers can not find it by phone"),
        (
            4,
            "application 'A-12' has 2 digits: callers can key 6 to 16, so it can not be found by phone",
        ),
        (
            5,
            "application 202700010 has the same digits (202700010) as 2027-00010: "
            "a caller keying them is sent to an operator",
        ),
    ]
    assert (await keys(db_sessions)) == {
        "2027-00010": "202700010",
        "АБВ-ГД": "",
        "A-12": "12",
        "202700010": "202700010",
        "2027 00020": "202700020",
        "МС/2027/00030": "202700030",
    }
    # a later file: a clash with a stored application is found too, and re-importing a number is no clash
    again = await apps.import_applications(db_sessions, csv("2027/00020", "2027 00020"), actor="admin")
    assert (again.created, again.updated) == (1, 1)
    assert [(w.line, w.reason.split(":")[0]) for w in again.warnings] == [
        (2, "application 2027/00020 has the same digits (202700020) as 2027 00020")
    ]
    async with db_sessions() as s:
        row = (
            (
                await s.execute(
                    select(AuditLog).where(AuditLog.action == "applications.import").order_by(AuditLog.id)
                )
            )
            .scalars()
            .all()
        )
    assert [r.details["warnings"] for r in row] == [3, 1]


async def test_clashes_across_batches_of_one_file_are_found(db_sessions: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(apps, "BATCH", 2)
    report = await apps.import_applications(
        db_sessions, csv("1111-111111", "2222-222222", "3333-333333", "111-1111111"), actor="admin"
    )
    assert [w.line for w in report.warnings] == [5]  # the 4th row clashes with the 1st, a batch earlier


async def test_contact_import_and_the_orm_store_digits_too(db_sessions: Any) -> None:
    await campaigns.create_campaign(
        db_sessions,
        CampaignSpec(name="pickup"),
        actor="t",
        default_tz="Europe/Moscow",
        default_caller_id="505",
    )
    contacts = "phone,application_number,name\n+79900000011,2027-00011,А\n+79900000012,2027-00012,Б\n"
    await campaigns.import_contacts(
        db_sessions, "pickup", io.BytesIO(contacts.encode()), actor="t"
    )  # the demo's way
    async with db_sessions() as s:
        s.add(Application(number="ORM-2027-00013", applicant_name="В", status="ready"))
        await s.commit()
        app = (
            await s.execute(select(Application).where(Application.number == "ORM-2027-00013"))
        ).scalar_one()
        app.number = "ORM-2027-00014"  # a renumbered application keeps a matching key
        await s.commit()
    k = await keys(db_sessions)
    assert k["2027-00011"] == "202700011" and k["2027-00012"] == "202700012"
    assert k["ORM-2027-00014"] == "202700014"


async def test_agents_search_and_open_an_application_by_its_digits(db_sessions: Any) -> None:
    await apps.import_applications(
        db_sessions, csv("2027-00010", "2027-00011", "3000-111111", "300-0111111"), actor="a"
    )
    found, total = await apps.search(db_sessions, "202700010", None, 1, 20)
    assert total == 1 and found[0].number == "2027-00010"
    found, total = await apps.search(db_sessions, "2027000", None, 1, 20)  # a prefix of the digits
    assert {a.number for a in found} == {"2027-00010", "2027-00011"}
    assert (await apps.get(db_sessions, "202700011")).number == "2027-00011"
    assert (await apps.get(db_sessions, "2027-00011")).number == "2027-00011"
    try:  # two share these digits: only the number as written opens one
        await apps.get(db_sessions, "3000111111")
        raise AssertionError("an ambiguous key opened an application")
    except apps.NotFound:
        pass
    assert (await apps.get(db_sessions, "300-0111111")).number == "300-0111111"
