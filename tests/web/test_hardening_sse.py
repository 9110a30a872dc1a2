"""Issue 11, event streams: a stream ends within seconds once its session or token does (logout,
revocation, a disabled user), and the dashboard is computed once per interval for every open stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import ClientResponse
from sqlalchemy import insert

from dialer.db.models import CallAttempt, Campaign, Contact, InflightNumber
from dialer.web import users
from dialer.web.dashboard import campaign_figures, feed
from dialer.web.sse import RECHECK
from tests.web.conftest import AGENT_PW, Web, seed_call

ENDS_WITHIN = RECHECK * 2 + 3


async def _ended(r: ClientResponse, within: float) -> bool:
    """True when the server ends the stream within ``within`` seconds (pings may come meanwhile)."""

    async def drain() -> None:
        async for _ in r.content:
            pass

    await asyncio.wait_for(drain(), within)
    return True


async def test_an_agent_stream_ends_after_logout(web: Web) -> None:
    r = await web.client.post("/api/v1/session", json={"username": "anna", "password": AGENT_PW})
    csrf = (await r.json())["csrf_token"]
    stream = await web.client.get("/api/v1/me/events")
    assert stream.status == 200
    await stream.content.readline()  # the stream is open
    r = await web.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert r.status == 200
    assert await _ended(stream, ENDS_WITHIN)
    # and no screen pop reaches a page that reconnects with the old cookie
    assert (await web.client.get("/api/v1/me/events")).status == 401


async def test_streams_end_when_the_token_is_revoked_or_the_user_disabled(web: Web) -> None:
    ss = web.service.sessions
    boris = await web.call(web.other_agent_token, "GET", "/me/events")
    anna = await web.agent("GET", "/me/events")
    dash = await web.admin("GET", "/dashboard/events")
    for r in (boris, anna, dash):
        assert r.status == 200
        await r.content.readline()
    anna_token = next(t for t in await users.list_tokens(ss, "anna"))
    await users.revoke_token(ss, anna_token.id, actor="test")
    assert await _ended(anna, ENDS_WITHIN)
    await users.set_active(ss, "boris", False, actor="test")
    assert await _ended(boris, ENDS_WITHIN)
    # the admin's stream, whose token is fine, is still delivering
    line = b""
    while not line.startswith(b"event: dashboard"):
        line = await asyncio.wait_for(dash.content.readline(), 5)
    dash.close()


async def _events(r: ClientResponse, n: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    event = None
    while len(got) < n:
        line = (await asyncio.wait_for(r.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "dashboard":
            got.append(json.loads(line[6:]))
    return got


async def test_many_dashboards_share_one_computation_per_interval(web: Web) -> None:
    for i in range(5):
        assert (await web.admin("POST", "/campaigns", json={"name": f"c{i}"})).status == 201
    f = feed(web.service.app)
    streams = [await web.admin("GET", "/dashboard/events") for _ in range(30)]
    before = f.computations
    t0 = time.monotonic()
    seen = await asyncio.gather(*(_events(r, 3) for r in streams))
    elapsed = time.monotonic() - t0
    computed = f.computations - before
    # 30 streams x 3 events, but one computation per interval: not one per stream
    assert computed <= elapsed / f.every + 2, (computed, elapsed)
    assert all(len(s[0]["campaigns"]) == 5 for s in seen)
    # the versions each stream saw are among the shared ones (same instants)
    instants = {e["at"] for s in seen for e in s}
    assert len(instants) <= computed + 1
    for r in streams:
        r.close()
    await asyncio.sleep(f.every * 2)
    # nobody is watching: nothing is computed any more
    idle = f.computations
    await asyncio.sleep(f.every * 2.5)
    assert f.computations == idle


async def test_dashboard_figures_come_from_grouped_queries(web: Web) -> None:
    ids = await seed_call(web.service, campaign="spring", number="A-1", outcome="connected")
    await seed_call(web.service, campaign="spring", number="A-2", phone="+79161234568", outcome="abandoned")
    await seed_call(web.service, campaign="autumn", number="A-3", phone="+79161234569", outcome="busy")
    async with web.service.sessions() as s:
        await s.execute(insert(InflightNumber).values(phone="+79161234567", attempt_id=ids["attempt_id"]))
        spring = await s.get(Campaign, ids["campaign_id"])
        assert spring is not None
        s.add(Contact(campaign_id=spring.id, phone="+79160000001", state="done"))
        # an attempt from last week does not count today
        from datetime import UTC, datetime, timedelta

        old = datetime.now(UTC) - timedelta(days=7)
        s.add(
            CallAttempt(
                campaign_id=spring.id,
                phone="+79160000001",
                action_id="old-1",
                outcome="connected",
                state="ended",
                originated_at=old,
                created_at=old,
            )
        )
        await s.commit()
    figs = {f.name: f for f in await campaign_figures(web.service)}
    sp, au = figs["spring"], figs["autumn"]
    assert (sp.contacts_total, sp.contacts_done, sp.answered_today, sp.abandoned_today, sp.in_flight) == (
        3,
        1,
        2,
        1,
        1,
    )
    assert (au.contacts_total, au.answered_today, au.in_flight) == (1, 0, 0)
    d = await (await web.admin("GET", "/dashboard")).json()
    card = next(c for c in d["campaigns"] if c["name"] == "spring")
    assert (card["answered_today"], card["connected_today"], card["abandoned_today"]) == (2, 1, 1)
    assert card["abandon_rate"] == 0.5 and round(card["progress"], 3) == round(1 / 3, 3)
