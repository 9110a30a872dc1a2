"""Pickup appointments in a real headless Chromium: the agent sees the applicant's office, address,
directions and next free slots during the call and books with one click (the booking and the call's
"appointment agreed" disposition are both stored); the admin adds an office and sees its load."""

from __future__ import annotations

from datetime import datetime

from playwright.async_api import Browser, expect
from sqlalchemy import select

from dialer.db.models import Application, Appointment, Disposition
from tests.web.browser import browser, login  # noqa: F401  (fixture)
from tests.web.conftest import ADMIN_PW, AGENT_PW, Web, seed_call

ALL_WEEK = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
DIRECTIONS = "Метро Охотный ряд, выход 3, направо 200 метров"


async def test_agent_books_a_slot_with_one_click_during_the_call(web: Web, browser: Browser) -> None:  # noqa: F811
    r = await web.admin(
        "POST",
        "/offices",
        json={
            "name": "МФЦ Тверской",
            "address": "ул. Тверская, 8",
            "directions": DIRECTIONS,
            "hours": ALL_WEEK,
            "slot_minutes": 30,
            "capacity": 1,
        },
    )
    office = await r.json()
    ids = await seed_call(web.service, number="A-77", phone="+79161234577")
    async with web.service.sessions() as s:
        app = (await s.execute(select(Application).where(Application.number == "A-77"))).scalar_one()
        app.office_id = office["id"]
        await s.commit()
    page = await browser.new_page(viewport={"width": 1200, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "anna", AGENT_PW)
    await page.wait_for_url(web.url + "/agent")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#pickup")).to_be_hidden()
    web.service.bus.publish(
        {
            "type": "call.bridged",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "spring",
            "contact_id": ids["contact_id"],
            "phone": "+79161234577",
            "inbound": False,
            "application": {
                "number": "A-77",
                "applicant_name": "Иванов Иван",
                "status": "ready",
                "pickup_office": "МФЦ Тверской",
                "pickup_from": None,
            },
        }
    )
    await expect(page.locator("#pickup")).to_be_visible(timeout=5000)
    await expect(page.locator("#pickup-office")).to_have_text("МФЦ Тверской")
    await expect(page.locator("#pickup-address")).to_have_text("ул. Тверская, 8")
    await expect(page.locator("#pickup-directions")).to_have_text(DIRECTIONS)
    await expect(page.locator("#pickup-slots button.slot")).to_have_count(6)
    first = page.locator("#pickup-slots button.slot").first
    start = await first.get_attribute("data-start")
    assert start is not None
    await first.click()
    await expect(page.locator("#pickup-booking")).to_have_attribute("data-booked", "1")
    # the booked slot (capacity 1) is no longer offered
    await expect(page.locator(f'#pickup-slots button.slot[data-start="{start}"]')).to_have_count(0)
    async with web.service.sessions() as s:
        appt = (await s.execute(select(Appointment))).scalar_one()
        d = (
            await s.execute(select(Disposition).where(Disposition.attempt_id == ids["attempt_id"]))
        ).scalar_one()
    assert appt.state == "active" and appt.start == datetime.fromisoformat(start) and appt.source == "agent"
    assert d.kind == "appointment" and d.appointment_at == datetime.fromisoformat(start)
    assert d.pickup_office == "МФЦ Тверской" and d.route == DIRECTIONS
    # tomorrow's slots on request
    await page.click("#pickup-tomorrow")
    await expect(page.locator("#pickup-slots button.slot")).to_have_count(6)
    assert not errors, errors
    await page.close()


async def test_admin_adds_an_office_and_sees_its_load(web: Web, browser: Browser) -> None:  # noqa: F811
    page = await browser.new_page(viewport={"width": 1300, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "boss", ADMIN_PW)
    await page.wait_for_url(web.url + "/admin")
    form = page.locator("#new-office")
    await form.locator('input[name="name"]').fill("МФЦ Арбат")
    await form.locator('input[name="address"]').fill("ул. Арбат, 1")
    await form.locator('input[name="directions"]').fill("Метро Арбатская")
    await form.locator('input[name="sat"]').fill("10:00-14:00")
    await form.locator('input[name="capacity"]').fill("3")
    await form.locator('button[type="submit"]').click()
    await expect(page.locator("#offices tbody tr[data-office]")).to_have_count(1)
    await expect(page.locator("#offices tbody tr[data-office] td").first).to_have_text("МФЦ Арбат")
    await expect(page.locator("#office-load .load-value")).to_have_count(7)
    r = await web.admin("GET", "/offices")
    o = (await r.json())["items"][0]
    assert (o["capacity"], o["hours"]["sat"], o["hours"]["sun"], o["hours"]["mon"]) == (
        3,
        "10:00-14:00",
        "closed",
        "09:00-18:00",
    )
    await form.locator('input[name="name"]').fill("Плохой")
    await form.locator('input[name="address"]').fill("a")
    await form.locator('input[name="directions"]').fill("d")
    await form.locator('input[name="weekdays"]').fill("9-18")
    await form.locator('button[type="submit"]').click()
    await expect(page.locator("#new-office-error")).to_contain_text("9-18")
    assert not errors, errors
    await page.close()
