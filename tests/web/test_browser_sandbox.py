"""End to end on the real Asterisk: the engine places a call from a campaign, softphone 101 answers as
the agent, and the agent's page in headless Chromium pops the applicant the instant the call is bridged;
its header and call card agree through the call (talking, then wrap-up when the customer hangs up), and
the disposition saved there ends the wrap-up (disposition.saved on the bus) and fills "My calls"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from dialer.db.models import Contact, Disposition
from dialer.web import users
from dialer.web.models import Role
from tests.integration.engine_harness import Harness, sim
from tests.web.browser import browser, login, screenshot  # noqa: F401  (fixture)

pytestmark = pytest.mark.asterisk
PASSWORD = "anna-password-1"


async def test_engine_call_pops_on_the_agent_page_and_the_disposition_is_saved(
    sandbox: Any,
    db_url: str,
    tmp_path: Path,
    browser: Browser,  # noqa: F811
) -> None:
    async with Harness(db_url, tmp_path) as h:
        await users.create_user(
            h.sessions, "anna", PASSWORD, Role.AGENT, actor="test", extension="101", agent_name="Anna"
        )
        base = f"http://{h.settings.http.bind}"
        page = await browser.new_page(viewport={"width": 1200, "height": 900}, locale="ru-RU")
        await login(page, base, "anna", PASSWORD)
        await page.wait_for_url(base + "/agent")
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
        await page.click("#ready")
        await expect(page.locator("#me-state")).to_have_text("готов")
        # one contact whose simulated phone answers and talks for 8 s (see the README's number plan)
        await h.campaign(
            "sandbox-pop", [sim("1", 700)], mode="progressive", max_attempts=1, wrapup_seconds=60
        )
        await h.state("sandbox-pop", "start")
        await expect(page.locator("#pop")).to_be_visible(timeout=60000)
        await expect(page.locator("#pop-name")).to_have_text("Заявитель 0")
        await expect(page.locator("#pop-number")).to_have_text("sandbox-pop-0")
        await expect(page.locator("#pop-phase")).to_have_text("идёт разговор")
        await expect(page.locator("#me-state")).to_have_text("разговор")
        await screenshot(page, "agent-sandbox.png")
        # the customer hangs up: both say wrap-up, and stay so while the engine's events settle
        await expect(page.locator("#pop-phase")).to_contain_text("поствызывная обработка", timeout=30000)
        await expect(page.locator("#me-state")).to_have_text("обработка")
        await expect(page.locator("#me-state")).to_have_attribute("data-state", "wrapup")
        await page.reload()  # the case: a page (re)opened during wrap-up
        await expect(page.locator("#pop-phase")).to_contain_text("поствызывная обработка")
        await expect(page.locator("#me-state")).to_have_text("обработка")
        await page.check('input[value="wrong_number"]')
        await page.click("#save-disposition")
        await expect(page.locator("#disposition-ok")).to_have_text("сохранено", timeout=10000)
        # saving ends the wrap-up: the engine makes the agent ready, the header follows
        await expect(page.locator("#me-state")).to_have_text("готов", timeout=10000)
        await expect(page.locator('#history [data-field="disposition"]')).to_have_text("ошибочный номер")
        async with h.sessions() as s:
            d = (await s.execute(select(Disposition))).scalar_one()
            c = (await s.execute(select(Contact))).scalar_one()
        assert d.kind == "wrong_number" and c.state == "invalid"
        await page.close()
