"""What a running campaign is doing, and the agents' occupancy, in the API and on the dashboard (in
Russian, every user's default): a campaign waiting for its window in its own time zone, one dialling with
the pacing level in words, and occupancy today / now beside the abandon rate."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select, update

from dialer.agents import services as agents
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import CampaignSpec, WindowSpec
from dialer.config import WEEKDAYS
from dialer.db.models import Agent, AgentPresence, AuditLog, CallAttempt
from tests.web.browser import browser, login  # noqa: F401  (fixture)
from tests.web.conftest import ADMIN_PW, Web

SPAN = 600  # seconds agent 101 has been logged in; it talked a quarter of them


def noonish_zone(now: datetime) -> tuple[str, int]:
    """A fixed-offset zone where it is 11:00-12:59 now, far from midnight on either side: (name, hour)."""
    offset = 12 - now.hour
    offset = offset - 24 if offset > 14 else offset
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # POSIX names: Etc/GMT-3 is UTC+3
    return zone, (now.hour + offset) % 24


async def make_campaign(web: Web, name: str, tz: str, hours: str) -> None:
    ss = web.service.sessions
    spec = CampaignSpec(name=name, timezone=tz, window=WindowSpec(hours={d: hours for d in WEEKDAYS}))
    await campaigns.create_campaign(
        ss, spec, actor="test", default_tz="Europe/Moscow", default_caller_id="505"
    )
    rows = f"phone,application_number,name\n+7916123{len(name):04d},{name}-1,Иванов\n"
    await campaigns.import_contacts(ss, name, io.BytesIO(rows.encode()), actor="test")
    await campaigns.change_state(ss, name, "start", actor="test")


async def setup(web: Web) -> dict[str, Any]:
    """Campaign 'later' opens three hours from now in its zone; 'now' is open all day. Agent 101 is ready,
    logged in SPAN seconds ago, and talked SPAN/4 seconds on a call of 'now' that has ended."""
    now = datetime.now(UTC)
    zone, hour = noonish_zone(now)
    opens = hour + 3
    await make_campaign(web, "later", zone, f"{opens:02d}:00-{opens + 1:02d}:00")
    await make_campaign(web, "now", zone, "00:00-24:00")
    ss = web.service.sessions
    await agents.set_presence(ss, "101", AgentPresence.READY, actor="test")
    async with ss() as s:
        await s.execute(
            update(AuditLog).where(AuditLog.target == "101").values(at=now - timedelta(seconds=SPAN))
        )
        agent_id = (await s.execute(select(Agent.id).where(Agent.extension == "101"))).scalar_one()
        camp = await campaigns.get_campaign(s, "now")
        s.add(
            CallAttempt(
                campaign_id=camp.id,
                phone="+79161230000",
                action_id="t-occupancy",
                agent_id=agent_id,
                outcome="connected",
                originated_at=now - timedelta(seconds=SPAN / 2 + 5),
                bridged_at=now - timedelta(seconds=SPAN / 2),
                ended_at=now - timedelta(seconds=SPAN / 4),
                talk_seconds=SPAN / 4,
            )
        )
        await s.commit()
    return {"zone": zone, "opens": f"{opens:02d}:00"}


def engine_up(web: Web) -> None:
    """The running engine's live figures (the service here has no Asterisk): link up and reconciled,
    campaign 'now' paced at 1.8 lines per agent."""
    live = {
        "ami": "up",
        "reconciled": True,
        "calls_in_flight": 0,
        "agents": {"ready": 1},
        "campaigns": {"now": {"dial_level": 1.8, "pacing_reason": "predictive theta=0.120"}},
    }
    web.service.live_snapshot = lambda: live  # type: ignore[method-assign]


async def test_the_api_says_why_a_campaign_waits_and_gives_occupancy(web: Web) -> None:
    got = await setup(web)
    # no engine in this service: the AMI link is down, and that comes first
    body = await (await web.admin("GET", "/campaigns/later")).json()
    assert body["status"]["activity"]["text"] == "waiting: AMI link down (no calls until Asterisk is back)"
    engine_up(web)
    body = await (await web.admin("GET", "/campaigns/later")).json()
    act = body["status"]["activity"]
    assert act["text"] == f"waiting: window opens at {got['opens']} ({got['zone']})"
    assert act["dialling"] is False and act["template"] == "waiting: window opens at {at} ({tz})"
    body = await (await web.admin("GET", "/campaigns/now")).json()
    assert body["status"]["activity"]["text"] == "dialling 1.8 lines per agent on duty (predictive)"
    occ = body["status"]["occupancy"]
    assert occ["talk_seconds_today"] == SPAN / 4
    assert SPAN <= occ["logged_in_seconds_today"] < SPAN + 60
    assert occ["today"] == pytest.approx(occ["talk_seconds_today"] / occ["logged_in_seconds_today"], abs=1e-4)
    assert (occ["talking_now"], occ["logged_in_now"], occ["now"]) == (0, 1, 0.0)
    later = await (await web.admin("GET", "/campaigns/later")).json()
    assert later["status"]["occupancy"]["talk_seconds_today"] == 0  # the call was 'now''s
    dash = await (await web.admin("GET", "/dashboard")).json()
    cards = {c["name"]: c for c in dash["campaigns"]}
    assert cards["later"]["activity"]["code"] == "window_closed" and cards["now"]["activity"]["dialling"]
    assert cards["now"]["occupancy"]["talk_seconds_today"] == SPAN / 4
    assert dash["occupancy"]["logged_in_now"] == 1


async def test_the_dashboard_shows_it_in_russian(web: Web, browser: Browser) -> None:  # noqa: F811
    got = await setup(web)
    engine_up(web)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, web.url, "boss", ADMIN_PW)
    await page.wait_for_url(web.url + "/admin")
    later = page.locator('tr[data-campaign="later"] [data-field="activity"]')
    await expect(later).to_have_text(f"ожидание: окно обзвона откроется в {got['opens']} ({got['zone']})")
    await expect(later).to_have_class(re.compile(r"\bwaiting\b"))
    now = page.locator('tr[data-campaign="now"] [data-field="activity"]')
    await expect(now).to_have_text("обзвон: 1,8 линии на работающего оператора (предиктивный)")
    # a quarter of the agent's logged-in time talking; nobody talking now
    await expect(page.locator('tr[data-campaign="now"] [data-field="occupancy"]')).to_have_text(
        re.compile(r"^2[45],\d\u00a0% / 0,0\u00a0%$")
    )
    await expect(page.locator('tr[data-campaign="later"] [data-field="occupancy"]')).to_have_text(
        "0,0\u00a0% / 0,0\u00a0%"
    )
    await expect(page.locator("#t-occupancy")).to_have_text(re.compile(r"/ 0,0\u00a0%$"))
    assert not errors, errors
    await page.close()
