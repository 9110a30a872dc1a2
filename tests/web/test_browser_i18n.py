"""Russian first, English per user, and every time in the call centre's time zone, in a real headless
Chromium whose own locale (en-US) and time zone (New York) are not the centre's: what the page shows must
come from the user's setting and the service's ``timezone`` (config.yaml: Europe/Moscow), never from the
browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update

from dialer.db.models import Agent, Disposition
from dialer.web.models import User
from tests.web.browser import browser, login  # noqa: F401  (fixture)
from tests.web.conftest import ADMIN_PW, AGENT_PW, Web, seed_call

MOSCOW = ZoneInfo("Europe/Moscow")


async def far_away(browser: Browser) -> BrowserContext:  # noqa: F811
    return await browser.new_context(
        locale="en-US", timezone_id="America/New_York", viewport={"width": 1400, "height": 900}
    )


async def api_error(page: Page, method: str, path: str, body: object) -> str:
    """The message the page's own api() helper gets for a refused request."""
    return str(
        await page.evaluate(
            "async ([m, p, b]) => { try { await api(m, p, b); return 'no error'; } catch (e) { return e.message; } }",
            [method, path, body],
        )
    )


async def test_russian_by_default_and_english_when_the_user_chooses_it(web: Web, browser: Browser) -> None:  # noqa: F811
    ctx = await far_away(browser)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the login page, before anyone is known: Russian, and its errors too
    await page.goto(web.url + "/login")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.locator("#login-button")).to_have_text("Войти")
    await page.fill("#username", "boss")
    await page.fill("#password", "not-the-password")
    await page.click("#login-button")
    await expect(page.locator("#login-error")).to_have_text("неверное имя пользователя или пароль")
    # the dashboard of an admin who never chose: Russian pages, Russian errors from the API
    await login(page, web.url, "boss", ADMIN_PW)
    await page.wait_for_url(web.url + "/admin")
    await expect(page.locator("#nav-dashboard")).to_have_text("Панель")
    await expect(page.locator("#tiles .label").first).to_have_text("Звонков сейчас")
    await expect(page.locator("#lang")).to_have_value("ru")
    await page.fill("#new-campaign-name", "spring")
    await page.click("#new-campaign button[type=submit]")
    await expect(page.locator('tr[data-campaign="spring"] [data-field="state"]')).to_have_text("черновик")
    await page.fill("#new-campaign-name", "spring")
    await page.click("#new-campaign button[type=submit]")
    await expect(page.locator("#new-campaign-error")).to_have_text("кампания 'spring' уже существует")
    # the browser's icon request is answered
    icon = await page.request.get(web.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert (await icon.body())[:4] == b"\x00\x00\x01\x00"

    # an agent switches to English: the page, its words from the server and its errors follow
    agent_ctx = await far_away(browser)
    agent = await agent_ctx.new_page()
    agent.on("pageerror", lambda e: errors.append(str(e)))
    await login(agent, web.url, "anna", AGENT_PW)
    await agent.wait_for_url(web.url + "/agent")
    await expect(agent.locator("#waiting")).to_have_text("Ожидание звонка…")
    assert await api_error(agent, "POST", "/attempts/999999/disposition", {"kind": "refused"}) == (
        "у вас нет звонка 999999"
    )
    await agent.select_option("#lang", "en")
    await expect(agent.locator("html")).to_have_attribute("lang", "en")
    await expect(agent.locator("#waiting")).to_have_text("Waiting for a call…")
    await expect(agent.locator("#ready")).to_have_text("Ready")
    await agent.click("#ready")
    await expect(agent.locator("#me-state")).to_have_text("ready")
    await expect(agent.locator("#tz")).to_have_text("Time zone: Europe/Moscow (UTC+03:00)")
    assert await api_error(agent, "POST", "/attempts/999999/disposition", {"kind": "refused"}) == (
        "no call 999999 of yours"
    )
    ids = await seed_call(web.service, campaign="spring", number="A-8", phone="+79161234578")
    web.service.bus.publish(
        {
            "type": "call.bridged",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "spring",
            "phone": "+79161234578",
            "inbound": False,
            "application": {"number": "A-8", "applicant_name": "Анна", "status": "processing"},
        }
    )
    await expect(agent.locator("#pop-status")).to_have_text("processing")
    await expect(agent.locator("#me-state")).to_have_text("talking")
    await expect(agent.locator("#pop-phase")).to_have_text("on the call")
    # stored per user: a new login (another browser) is in English, the admin stays in Russian
    async with web.service.sessions() as s:
        stored = dict((await s.execute(select(User.username, User.language))).tuples().all())
    assert stored == {"boss": "ru", "anna": "en", "boris": "ru"}
    again = await (await far_away(browser)).new_page()
    await login(again, web.url, "anna", AGENT_PW)
    await again.wait_for_url(web.url + "/agent")
    await expect(again.locator("#waiting")).to_have_text("Waiting for a call…")
    await page.reload()
    await expect(page.locator("#nav-dashboard")).to_have_text("Панель")
    # and back to Russian
    await again.select_option("#lang", "ru")
    await expect(again.locator("#waiting")).to_have_text("Ожидание звонка…")
    assert not errors, errors
    await ctx.close()
    await agent_ctx.close()
    await again.context.close()


async def test_english_picked_on_the_login_page_is_kept_for_the_user(web: Web, browser: Browser) -> None:  # noqa: F811
    ctx = await far_away(browser)
    page = await ctx.new_page()
    await page.goto(web.url + "/login")
    await page.click("#lang-en")
    await expect(page.locator("#login-button")).to_have_text("Log in")
    await page.fill("#username", "boris")
    await page.fill("#password", "wrong-password")
    await page.click("#login-button")
    await expect(page.locator("#login-error")).to_have_text("wrong user name or password")
    await page.fill("#password", AGENT_PW)
    await page.click("#login-button")
    await page.wait_for_url(web.url + "/agent")
    await expect(page.locator("#waiting")).to_have_text("Waiting for a call…")
    async with web.service.sessions() as s:
        stored = (await s.execute(select(User.language).where(User.username == "boris"))).scalar_one()
    assert stored == "en"
    # logging in again from the plain (Russian) login page keeps the stored choice
    await ctx.clear_cookies()
    await login(page, web.url, "boris", AGENT_PW)
    await page.wait_for_url(web.url + "/agent")
    await expect(page.locator("#waiting")).to_have_text("Waiting for a call…")
    await ctx.close()


async def test_times_are_shown_in_the_centre_time_zone(web: Web, browser: Browser) -> None:  # noqa: F811
    # a call bridged at 09:05 UTC: 12:05 in Moscow, 05:05 in the browser's New York
    at = datetime(2026, 7, 1, 9, 5, 0, tzinfo=UTC)
    ids = await seed_call(web.service, campaign="summer", number="T-1", phone="+79161234579", at=at)
    # agent 102 changed state at 21:30 UTC: already the next day in Moscow (00:30), not in New York
    async with web.service.sessions() as s:
        await s.execute(
            update(Agent)
            .where(Agent.extension == "102")
            .values(state_since=datetime(2026, 7, 1, 21, 30, tzinfo=UTC))
        )
        await s.commit()
    ctx = await far_away(browser)
    page = await ctx.new_page()
    await login(page, web.url, "boss", ADMIN_PW)
    await page.wait_for_url(web.url + "/admin")
    await expect(page.locator("#tz")).to_have_text("Часовой пояс: Europe/Moscow (UTC+03:00)")
    await expect(page.locator('tr[data-agent="102"] [data-field="since"]')).to_have_text(
        "02.07.2026, 00:30:00"
    )
    await expect(page.locator("#hourly-tz")).to_have_text("(Europe/Moscow)")
    await page.goto(web.url + "/admin/imports")
    await expect(page.locator("#tz")).to_have_text("Часовой пояс: Europe/Moscow (UTC+03:00)")

    agent = await ctx.new_page()
    await ctx.clear_cookies()
    await login(agent, web.url, "anna", AGENT_PW)
    await agent.wait_for_url(web.url + "/agent")
    await expect(agent.locator("#tz")).to_have_text("Часовой пояс: Europe/Moscow (UTC+03:00)")
    when = agent.locator(f'#history tr[data-attempt="{ids["attempt_id"]}"] [data-field="when"]')
    await expect(when).to_have_text("01.07.2026, 12:05:00")
    # a call-back time typed by the agent is the centre's wall clock, whatever the browser's zone
    await expect(agent.locator("#live-status")).to_have_attribute("data-state", "open")
    web.service.bus.publish(
        {
            "type": "call.bridged",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "summer",
            "phone": "+79161234579",
            "inbound": False,
            "application": {"number": "T-1", "applicant_name": "Иванов Иван", "status": "ready"},
        }
    )
    await expect(agent.locator("#pop")).to_be_visible()
    back = (datetime.now(MOSCOW) + timedelta(days=1)).replace(hour=10, minute=15, second=0, microsecond=0)
    await agent.check('input[value="callback"]')
    await agent.fill("#callback-at", back.strftime("%Y-%m-%dT%H:%M"))
    await agent.click("#save-disposition")
    await expect(agent.locator("#disposition-ok")).to_have_text("сохранено")
    async with web.service.sessions() as s:
        d = (
            await s.execute(select(Disposition).where(Disposition.attempt_id == ids["attempt_id"]))
        ).scalar_one()
    assert d.callback_at is not None and d.callback_at.astimezone(MOSCOW) == back
    await ctx.close()
