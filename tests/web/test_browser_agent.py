"""The agent page's header and call card in a real headless Chromium must tell the same story through a
whole call: screen pop (talking), the customer hanging up (wrap-up), the disposition saved (free again),
whatever order the engine's events arrive in and across a page reload in the middle of wrap-up (the
issue: the header said "talking" while the card said "wrap-up: save the outcome"). The events are those
the engine publishes on the service bus; the database rows are those it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select, update

from dialer.db.models import Agent, Disposition
from tests.web.browser import browser, login  # noqa: F401  (fixture)
from tests.web.conftest import AGENT_PW, Web, seed_call

# what the header says for each phase of the card, in Russian (the default language)
HEADER = {"talking": "разговор", "wrapup": "обработка", "ready": "готов"}


async def header_and_card(page: Page) -> tuple[str, str]:
    state = await page.locator("#me-state").get_attribute("data-state")
    phase = await page.locator("#pop-phase").get_attribute("data-phase")
    return state or "", phase or ""


async def expect_agreement(page: Page, state: str, badge: str) -> None:
    """The header shows ``state`` and the card's badge ``badge`` at the same time."""
    await expect(page.locator("#me-state")).to_have_text(HEADER[state])
    await expect(page.locator("#pop-phase")).to_contain_text(badge)
    header, card = await header_and_card(page)
    assert (header, card) == (state, state), (header, card)


def agent_state(state: str, since: datetime | None = None) -> dict[str, Any]:
    """The engine's event for a change of the agent's live state (``since``: when it changed)."""
    at = since or datetime.now(UTC)
    return {
        "type": "agent.state",
        "agent": "101",
        "state": state,
        "pause_reason": None,
        "since": at.isoformat(),
    }


def publish(web: Web, ev: dict[str, Any]) -> None:
    web.service.bus.publish(ev)


async def test_agent_page_state_and_call_card_agree_through_a_call(web: Web, browser: Browser) -> None:  # noqa: F811
    ids = await seed_call(web.service, campaign="spring", number="A-5", phone="+79161234575")
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "anna", AGENT_PW)
    await page.wait_for_url(web.url + "/agent")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await page.click("#ready")
    await expect(page.locator("#me-state")).to_have_text("готов")
    bridged = {
        "type": "call.bridged",
        "agent": "101",
        "attempt_id": ids["attempt_id"],
        "campaign": "spring",
        "contact_id": ids["contact_id"],
        "phone": "+79161234575",
        "inbound": False,
        "application": {"number": "A-5", "applicant_name": "Петров Пётр", "status": "ready"},
    }

    # screen pop: the card and the header say "talking" at once, before the engine's state event comes
    bridged_at = datetime.now(UTC)
    publish(web, bridged)
    await expect(page.locator("#pop-name")).to_have_text("Петров Пётр")
    await expect_agreement(page, "talking", "идёт разговор")
    publish(web, agent_state("talking", bridged_at))
    await expect_agreement(page, "talking", "идёт разговор")

    # the agent's leg ends before the customer's (the engine's state event first): both say wrap-up
    publish(web, agent_state("wrapup"))
    await expect_agreement(page, "wrapup", "поствызывная обработка")
    # then the call ends with the campaign's wrap-up time (15 s): a countdown
    publish(
        web, {"type": "call.ended", "agent": "101", "attempt_id": ids["attempt_id"], "campaign": "spring"}
    )
    await expect_agreement(page, "wrapup", "осталось")
    # a late state event from before the hang-up does not drag the header back to "talking", nor does
    # one that claims to be newer while the card's call has ended
    publish(web, agent_state("talking", bridged_at))
    publish(web, agent_state("talking", datetime.now(UTC) + timedelta(seconds=1)))
    await expect(page.locator("#pop-phase")).to_contain_text("осталось")
    await expect_agreement(page, "wrapup", "поствызывная обработка")

    # the page reloads (or its stream reconnects) mid-wrap-up, while the database still says "talking"
    # (the engine writes agents' states about once a second): still wrap-up on both
    async with web.service.sessions() as s:
        await s.execute(update(Agent).where(Agent.extension == "101").values(state="talking"))
        await s.commit()
    await page.reload()
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#pop-name")).to_have_text("Петров Пётр")
    await expect_agreement(page, "wrapup", "поствызывная обработка: сохраните итог")

    # saving the outcome: the card says so, the history's Disposition column shows it at once
    await page.check('input[value="wrong_number"]')
    await page.click("#save-disposition")
    await expect(page.locator("#disposition-ok")).to_have_text("сохранено")
    row = page.locator(f'#history tr[data-attempt="{ids["attempt_id"]}"]')
    await expect(row.locator('[data-field="disposition"]')).to_have_text("ошибочный номер")
    await expect(row.locator('[data-field="outcome"]')).to_have_text("соединён")
    # the engine ends the wrap-up on the save and says the agent is ready: the header follows, the card goes
    publish(web, agent_state("ready", datetime.now(UTC) + timedelta(seconds=2)))
    await expect(page.locator("#me-state")).to_have_text("готов")
    await expect(page.locator("#pop")).to_be_hidden()
    await expect(page.locator("#waiting")).to_be_visible()
    async with web.service.sessions() as s:
        d = (
            await s.execute(select(Disposition).where(Disposition.attempt_id == ids["attempt_id"]))
        ).scalar_one()
    assert d.kind == "wrong_number"
    # still there after a reload (it is the database's, not the page's memory)
    await page.reload()
    await expect(row.locator('[data-field="disposition"]')).to_have_text("ошибочный номер")
    assert not errors, errors
    await page.close()


async def test_wrap_up_running_out_unsaved_says_so_and_the_header_follows_the_server(
    web: Web,
    browser: Browser,  # noqa: F811
) -> None:
    """A campaign with no wrap-up time: the call ends, the engine makes the agent ready at once; the card
    asks for the outcome as overdue while the header says ready (the agent can get the next call)."""
    ids = await seed_call(web.service, campaign="quick", number="A-6", phone="+79161234576")
    from dialer.db.models import Campaign

    async with web.service.sessions() as s:
        await s.execute(update(Campaign).where(Campaign.name == "quick").values(wrapup_seconds=0))
        await s.commit()
    page = await browser.new_page()
    await login(page, web.url, "anna", AGENT_PW)
    await page.wait_for_url(web.url + "/agent")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await page.click("#ready")
    await expect(page.locator("#me-state")).to_have_text("готов")
    publish(
        web,
        {
            "type": "call.bridged",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "quick",
            "phone": "+79161234576",
            "inbound": False,
            "application": None,
        },
    )
    await expect(page.locator("#pop-name")).to_have_text("Неизвестный абонент")
    await expect(page.locator("#me-state")).to_have_text("разговор")
    publish(web, {"type": "call.ended", "agent": "101", "attempt_id": ids["attempt_id"], "campaign": "quick"})
    publish(web, {"type": "agent.state", "agent": "101", "state": "ready", "pause_reason": None})
    await expect(page.locator("#pop-phase")).to_have_text("время обработки вышло: сохраните итог")
    await expect(page.locator("#me-state")).to_have_text("готов")
    await page.close()
