"""The admin and agent pages in a real headless Chromium, in Russian (every user's default): log in,
import with a report, start, watch live figures, pause; an agent's screen pop (driven here by a
call.bridged event on the service bus, as the engine publishes it) and the disposition saved from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from dialer.db.models import AgentPresence, Disposition
from tests.web.browser import browser, login, screenshot  # noqa: F401  (fixture)
from tests.web.conftest import ADMIN_PW, AGENT_PW, Web, seed_call

CONTACTS = (
    "phone;application_number;name\n"
    "+79161234561;A-1;Иванов Иван\n"
    "+79161234562;A-2;Петров Пётр\n"
    "12;A-3;Сидоров\n"
    "+79161234561;A-1;Иванов Иван\n"
    "+79161234564;A-4;Козлова Анна\n"
)


async def text_lines(page: Page, selector: str) -> int:
    """How many lines the element's text takes on screen."""
    return int(
        await page.eval_on_selector(
            selector,
            "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }",
        )
    )


async def test_admin_imports_starts_watches_and_pauses(web: Web, browser: Browser, tmp_path: object) -> None:  # noqa: F811
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ru-RU")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "boss", ADMIN_PW)
    await page.wait_for_url(web.url + "/admin")
    # create a campaign from the dashboard
    await page.fill("#new-campaign-name", "spring")
    await page.click("#new-campaign button[type=submit]")
    row = page.locator('tr[data-campaign="spring"]')
    await expect(row.locator('[data-field="state"]')).to_have_text("черновик")
    # import contacts with bad rows: the report lists them by line
    await page.click("#nav-imports")
    await page.wait_for_url(web.url + "/admin/imports")
    await expect(page.locator("#contacts-campaign option")).to_have_text(["spring"])
    csv_path = tmp_path / "contacts.csv"  # type: ignore[operator]
    csv_path.write_bytes(CONTACTS.encode("cp1251"))
    await page.set_input_files("#contacts-file", str(csv_path))
    await page.click("#contacts-form button[type=submit]")
    await expect(page.locator("#job-figures")).to_contain_text("готово", timeout=15000)
    await expect(page.locator("#job-figures")).to_contain_text("принято: 3, отклонено: 2")
    rejected = page.locator("#rejected tbody tr")
    await expect(rejected).to_have_count(2)
    await expect(rejected.nth(0)).to_contain_text("4")
    await expect(rejected.nth(0)).to_contain_text("неверный телефон")
    await expect(rejected.nth(1)).to_contain_text("повтор")
    await screenshot(page, "imports.png")
    # start it, and watch the live figures move
    await page.click("#nav-dashboard")
    await page.wait_for_url(web.url + "/admin")
    await row.locator('button[data-action="start"]').click()
    await expect(row.locator('[data-field="state"]')).to_have_text("идёт")
    await expect(page.locator("#t-answered")).to_have_text("0")
    now = datetime.now(UTC)
    await seed_call(
        web.service, campaign="spring", number="B-1", phone="+79161234571", outcome="connected", at=now
    )
    await seed_call(
        web.service, campaign="spring", number="B-2", phone="+79161234572", outcome="connected", at=now
    )
    await seed_call(
        web.service, campaign="spring", number="B-3", phone="+79161234573", outcome="abandoned", at=now
    )
    live = {
        "ami": "up",
        "calls_in_flight": 4,
        "agents": {"ready": 1, "talking": 1},
        "campaigns": {
            "spring": {
                "in_flight": 4,
                "answered_today": 3,
                "abandoned_today": 1,
                "abandon_rate": 1 / 3,
                "abandon_cap": 0.03,
                "dial_level": 1.8,
                "pacing_reason": "predictive",
            }
        },
    }
    web.service.live_snapshot = lambda: live  # type: ignore[method-assign]
    await expect(page.locator("#t-answered")).to_have_text("3", timeout=10000)
    await expect(page.locator("#t-connected")).to_have_text("2")
    await expect(page.locator("#t-inflight")).to_have_text("4")
    # what the running campaign does, in words (no agent is ready; before 09:00 Moscow, the window is shut)
    await expect(row.locator('[data-field="activity"]')).to_have_text(re.compile(r"^ожидание: "))
    await expect(row.locator('[data-field="progress"]')).to_have_text("0 / 6")
    await expect(page.locator("#t-abandon-rate")).to_have_class(re.compile(r"\bover\b"))
    # the rate and its cap in the user's locale, on one line (it wrapped in a 7-tile row)
    await expect(page.locator("#t-abandon-rate")).to_have_text("33,3\u00a0% / 3,0\u00a0%")
    assert await text_lines(page, "#t-abandon-rate") == 1
    assert await text_lines(page, 'tr[data-campaign="spring"] [data-field="abandon_rate"]') == 1
    # pause and stop side by side, not touching
    pause_box = await row.locator('button[data-action="pause"]').bounding_box()
    stop_box = await row.locator('button[data-action="stop"]').bounding_box()
    assert pause_box and stop_box
    assert stop_box["x"] - (pause_box["x"] + pause_box["width"]) >= 4, (pause_box, stop_box)
    await page.reload()  # the hourly chart is drawn on load
    await expect(page.locator("#hourly svg rect")).not_to_have_count(0)
    await expect(row.locator('[data-field="progress"]')).to_have_text("0 / 6")
    await screenshot(page, "dashboard.png")
    await row.locator('button[data-action="pause"]').click()
    await expect(row.locator('[data-field="state"]')).to_have_text("пауза")
    await expect(row.locator('button[data-action="resume"]')).to_be_visible()
    assert not errors, errors
    await page.close()


async def test_agent_gets_the_screen_pop_and_saves_a_disposition(web: Web, browser: Browser) -> None:  # noqa: F811
    ids = await seed_call(web.service, campaign="spring", number="A-77", phone="+79161234577")
    page = await browser.new_page(viewport={"width": 1200, "height": 900}, locale="ru-RU")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "anna", AGENT_PW)
    await page.wait_for_url(web.url + "/agent")
    await page.click("#ready")
    await expect(page.locator("#me-state")).to_have_text("готов")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#live-status")).to_have_text("на связи")
    await expect(page.locator("#pop")).to_be_hidden()
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
                "pickup_from": "2027-03-01",
            },
        }
    )
    await expect(page.locator("#pop")).to_be_visible(timeout=5000)
    await expect(page.locator("#pop-name")).to_have_text("Иванов Иван")
    await expect(page.locator("#pop-number")).to_have_text("A-77")
    await expect(page.locator("#pop-status")).to_have_text("готов")
    await expect(page.locator("#pop-from")).to_have_text("01.03.2027")
    await expect(page.locator("#pop-office")).to_have_text("МФЦ Тверской")
    web.service.bus.publish(
        {
            "type": "call.ended",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "spring",
            "outcome": "connected",
        }
    )
    await expect(page.locator("#pop-phase")).to_contain_text("поствызывная обработка")
    await expect(page.locator("#me-state")).to_have_text("обработка")
    await page.check('input[value="appointment"]')
    moscow = ZoneInfo("Europe/Moscow")  # config.yaml's timezone: the agent types the centre's wall clock
    when = (datetime.now(moscow) + timedelta(days=2)).replace(hour=11, minute=30, second=0, microsecond=0)
    await page.fill("#appointment-at", when.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#appointment-route", "вход со двора, окно 3")
    await screenshot(page, "agent.png")
    await page.click("#save-disposition")
    await expect(page.locator("#disposition-ok")).to_have_text("сохранено")
    async with web.service.sessions() as s:
        d = (
            await s.execute(select(Disposition).where(Disposition.attempt_id == ids["attempt_id"]))
        ).scalar_one()
    assert (
        d.kind == "appointment" and d.pickup_office == "МФЦ Тверской" and d.route == "вход со двора, окно 3"
    )
    assert d.appointment_at is not None and d.appointment_at.astimezone(moscow) == when
    await expect(page.locator("#history tbody tr")).to_have_count(1)
    await expect(page.locator('#history [data-field="disposition"]')).to_have_text("запись на получение")
    # pausing with a reason, then logging out
    await page.select_option("#pause-reason", "lunch")
    await page.click("#pause")
    await expect(page.locator("#me-state")).to_have_text("пауза (обед)")
    await page.click("#logout")
    await page.wait_for_url(web.url + "/login")
    from dialer.agents.services import get_agent

    async with web.service.sessions() as s:
        assert (await get_agent(s, "101")).presence == AgentPresence.LOGGED_OUT
    assert not errors, errors
    await page.close()
