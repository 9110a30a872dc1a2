"""Offices, slots and appointments over the API, on both databases: what scripts and the agent page see,
and 100 concurrent booking requests into a slot for 10 (exactly 10 get 201, 90 get 409)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialer.db.models import Application
from tests.web.conftest import Web, seed_call

MSK = ZoneInfo("Europe/Moscow")
ALL_WEEK = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def tomorrow() -> date:
    return datetime.now(UTC).astimezone(MSK).date() + timedelta(days=1)


def at(day: date, hm: str) -> str:
    return f"{day.isoformat()}T{hm}:00+03:00"


async def office(web: Web, **kw: Any) -> dict[str, Any]:
    body = {
        "name": "МФЦ Тверской",
        "address": "ул. Тверская, 8",
        "directions": "Метро Охотный ряд, выход 3",
        "timezone": "Europe/Moscow",
        "hours": ALL_WEEK,
        "slot_minutes": 30,
        "capacity": 2,
        **kw,
    }
    r = await web.admin("POST", "/offices", json=body)
    assert r.status == 201, await r.text()
    return dict(await r.json())


async def applications(web: Web, numbers: list[str], office_id: int | None, status: str = "ready") -> None:
    async with web.service.sessions() as s:
        for i, n in enumerate(numbers):
            s.add(
                Application(
                    number=n,
                    applicant_name=f"Заявитель {i}",
                    phone=f"+7916{i:07d}",
                    status=status,
                    office_id=office_id,
                )
            )
        await s.commit()


async def test_offices_create_read_edit_and_bad_input(web: Web) -> None:
    o = await office(web, hours={"mon": "09:00-13:00", "sat": "closed"})
    assert o["id"] >= 1 and o["hours"]["mon"] == "09:00-13:00" and o["hours"]["tue"] == "closed"
    r = await web.agent("GET", f"/offices/{o['id']}")
    assert r.status == 200 and (await r.json())["directions"] == "Метро Охотный ряд, выход 3"
    r = await web.admin("PATCH", f"/offices/{o['id']}", json={"capacity": 5})
    assert r.status == 200 and (await r.json())["capacity"] == 5
    r = await web.admin("GET", "/offices")
    assert [x["name"] for x in (await r.json())["items"]] == ["МФЦ Тверской"]
    r = await web.admin(
        "POST",
        "/offices",
        json={"name": "X", "address": "a", "directions": "d", "hours": {"mon": "9-5"}, "capacity": 1},
    )
    assert r.status == 422
    assert (await r.json())["error"] == "hours.mon: expected HH:MM-HH:MM or 'closed', got '9-5'"
    r = await web.admin(
        "POST",
        "/offices",
        json={
            "name": "X",
            "address": "a",
            "directions": "d",
            "hours": {},
            "capacity": 1,
            "timezone": "Mars/Base",
        },
    )
    assert r.status == 422 and "unknown time zone" in (await r.json())["error"]
    r = await web.agent("POST", "/offices", json={"name": "X"})
    assert r.status == 403
    r = await web.admin("POST", "/offices", json={**o, "id": None})
    assert r.status == 422  # unknown field id
    r = await web.admin("PATCH", "/offices/999", json={"capacity": 1})
    assert r.status == 404


async def test_slots_book_cancel_list_and_export(web: Web) -> None:
    o = await office(web)
    await applications(web, ["A-1", "A-2", "A-3"], o["id"])
    await applications(web, ["P-1"], o["id"], status="processing")
    day = tomorrow()
    r = await web.agent("GET", f"/offices/{o['id']}/slots", params={"date": day.isoformat()})
    assert r.status == 200
    slots = (await r.json())["slots"]
    assert len(slots) == 18 and slots[0]["start"] == at(day, "09:00") and slots[0]["free"] == 2
    for n in ("A-1", "A-2"):
        r = await web.admin(
            "POST",
            "/appointments",
            json={"application_number": n, "office_id": o["id"], "start": at(day, "10:00")},
        )
        assert r.status == 201, await r.text()
    first = await r.json()
    assert (
        first["start"] == at(day, "10:00")
        and first["end"] == at(day, "10:30")
        and first["office"] == "МФЦ Тверской"
    )
    r = await web.admin(
        "POST",
        "/appointments",
        json={"application_number": "A-3", "office_id": o["id"], "start": at(day, "10:00")},
    )
    assert r.status == 409 and "is full" in (await r.json())["error"]
    r = await web.admin(
        "POST",
        "/appointments",
        json={"application_number": "P-1", "office_id": o["id"], "start": at(day, "11:00")},
    )
    assert (
        r.status == 422
        and (await r.json())["error"] == "application P-1 is not ready for pickup (it is processing)"
    )
    r = await web.admin(
        "POST",
        "/appointments",
        json={"application_number": "A-3", "office_id": o["id"], "start": at(day, "19:00")},
    )
    assert r.status == 422 and "no slot starting at" in (await r.json())["error"]
    r = await web.admin(
        "POST",
        "/appointments",
        json={"application_number": "A-3", "office_id": o["id"], "start": f"{day}T11:00:00"},
    )
    assert r.status == 422 and "UTC offset" in (await r.json())["error"]
    r = await web.agent("GET", f"/offices/{o['id']}/slots", params={"date": day.isoformat()})
    assert [s["free"] for s in (await r.json())["slots"] if s["start"] == at(day, "10:00")] == [0]

    r = await web.admin("GET", "/appointments", params={"office_id": str(o["id"]), "date": day.isoformat()})
    assert [a["application_number"] for a in (await r.json())["items"]] == ["A-1", "A-2"]
    r = await web.admin("GET", "/appointments/export", params={"date": day.isoformat()})
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert [(x["application_number"], x["start"], x["office"]) for x in rows] == [
        ("A-1", at(day, "10:00"), "МФЦ Тверской"),
        ("A-2", at(day, "10:00"), "МФЦ Тверской"),
    ]
    r = await web.agent("DELETE", f"/appointments/{first['id']}")
    assert r.status == 200 and (await r.json())["state"] == "cancelled"
    r = await web.agent("DELETE", f"/appointments/{first['id']}")
    assert r.status == 409
    r = await web.admin(
        "POST",
        "/appointments",
        json={"application_number": "A-3", "office_id": o["id"], "start": at(day, "10:00")},
    )
    assert r.status == 201

    r = await web.admin("GET", "/reports/appointments", params={"date_from": day.isoformat()})
    load = (await r.json())["items"]
    assert load == [
        {"office_id": o["id"], "office": "МФЦ Тверской", "date": day.isoformat(), "booked": 2, "places": 36}
    ]


async def test_agent_books_during_a_call_and_the_disposition_is_recorded(web: Web) -> None:
    o = await office(web)
    ids = await seed_call(web.service, number="A-9")
    async with web.service.sessions() as s:
        app = await s.get(Application, 1)
        assert app is not None and app.number == "A-9"
        app.office_id = o["id"]
        await s.commit()
    r = await web.agent("GET", "/appointments/options", params={"application_number": "A-9"})
    opts = await r.json()
    assert opts["office"]["directions"] == "Метро Охотный ряд, выход 3" and opts["booking"] is None
    assert len(opts["slots"]) == 6
    pick = opts["slots"][0]["start"]
    r = await web.agent(
        "POST",
        "/appointments",
        json={
            "application_number": "A-9",
            "office_id": o["id"],
            "start": pick,
            "attempt_id": ids["attempt_id"],
        },
    )
    assert r.status == 201, await r.text()
    assert (await r.json())["source"] == "agent"
    r = await web.admin("GET", "/dispositions")
    d = (await r.json())["items"][0]
    assert (
        d["kind"] == "appointment"
        and d["pickup_office"] == "МФЦ Тверской"
        and d["route"] == "Метро Охотный ряд, выход 3"
    )
    assert datetime.fromisoformat(d["appointment_at"]) == datetime.fromisoformat(pick)
    # the same call can not be disposed twice: the second booking is refused before it is made
    r = await web.agent(
        "POST",
        "/appointments",
        json={
            "application_number": "A-9",
            "office_id": o["id"],
            "start": opts["slots"][1]["start"],
            "attempt_id": ids["attempt_id"],
        },
    )
    assert r.status == 409 and "already has a disposition" in (await r.json())["error"]
    r = await web.agent("GET", "/appointments/options", params={"application_number": "A-9"})
    assert (await r.json())["booking"]["start"] == pick
    # someone else's call
    other = await seed_call(web.service, extension="102", number="A-10", phone="+79161230000")
    r = await web.agent(
        "POST",
        "/appointments",
        json={
            "application_number": "A-9",
            "office_id": o["id"],
            "start": pick,
            "attempt_id": other["attempt_id"],
        },
    )
    assert r.status == 404


async def test_100_concurrent_requests_into_a_slot_for_10(web: Web) -> None:
    o = await office(web, capacity=10)
    numbers = [f"C-{i:03d}" for i in range(100)]
    await applications(web, numbers, o["id"])
    start = at(tomorrow(), "12:00")

    async def one(n: str) -> int:
        r = await web.admin(
            "POST", "/appointments", json={"application_number": n, "office_id": o["id"], "start": start}
        )
        return r.status

    statuses = await asyncio.gather(*(one(n) for n in numbers))
    assert (statuses.count(201), statuses.count(409)) == (10, 90)
    r = await web.admin("GET", f"/offices/{o['id']}/slots", params={"date": tomorrow().isoformat()})
    assert [s["free"] for s in (await r.json())["slots"] if s["start"] == start] == [0]
    r = await web.admin("GET", "/appointments", params={"date": tomorrow().isoformat()})
    assert len((await r.json())["items"]) == 10
