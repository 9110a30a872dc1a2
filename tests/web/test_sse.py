"""Server-sent events: the dashboard's live figures, and the agent's screen pop from the bus."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from tests.web.conftest import Web, make_service, seed_call, seed_users


async def _next_event(r: ClientResponse, name: str, timeout: float = 5) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        event = None
        async for raw in r.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == name:
                data: dict[str, Any] = json.loads(line[6:])
                return data
        raise AssertionError("stream ended")

    return await asyncio.wait_for(read(), timeout)


async def test_dashboard_pushes_live_figures_from_the_engine_and_the_database(web: Web) -> None:
    await web.admin("POST", "/campaigns", json={"name": "spring", "abandon_cap": 0.03})
    r = await web.admin("GET", "/dashboard/events")
    first = await _next_event(r, "dashboard")
    assert first["campaigns"][0]["name"] == "spring" and first["campaigns"][0]["answered_today"] == 0
    assert {a["extension"] for a in first["agents"]} == {"101", "102"}
    live = {
        "ami": "up",
        "calls_in_flight": 7,
        "agents": {"ready": 1, "talking": 1},
        "campaigns": {
            "spring": {
                "in_flight": 7,
                "answered_today": 40,
                "abandoned_today": 2,
                "abandon_rate": 0.05,
                "abandon_cap": 0.03,
                "dial_level": 2.5,
                "pacing_reason": "predictive",
            }
        },
    }
    web.service.live_snapshot = lambda: live  # type: ignore[method-assign]
    for _ in range(10):
        d = await _next_event(r, "dashboard")
        if d["calls_in_flight"] == 7:
            break
    card = d["campaigns"][0]
    assert (
        card["calls_in_flight"],
        card["answered_today"],
        card["connected_today"],
        card["abandoned_today"],
    ) == (7, 40, 38, 2)
    assert card["dial_level"] == 2.5 and card["abandon_rate"] > card["abandon_cap"]
    assert d["agents_by_state"] == {"ready": 1, "talking": 1} and d["ami"] == "up"
    r.close()


async def test_agent_gets_the_screen_pop_for_own_calls_only_and_again_after_reconnecting(web: Web) -> None:
    ids = await seed_call(web.service)
    r = await web.agent("GET", "/me/events")
    assert r.status == 200
    await asyncio.sleep(0.1)
    bridged = {"type": "call.bridged", "agent": "102", "attempt_id": 999, "campaign": "spring", "phone": "+7"}
    web.service.bus.publish(bridged)  # Boris's call: not shown to Anna
    pop = {
        "type": "call.bridged",
        "agent": "101",
        "attempt_id": ids["attempt_id"],
        "campaign": "spring",
        "contact_id": 1,
        "phone": "+79161234567",
        "inbound": False,
        "application": {
            "number": "A-1",
            "applicant_name": "Иванов Иван",
            "status": "ready",
            "pickup_office": "МФЦ",
            "pickup_from": "2027-03-01",
        },
    }
    web.service.bus.publish(pop)
    got = await _next_event(r, "call")
    assert got["attempt_id"] == ids["attempt_id"] and got["application"]["applicant_name"] == "Иванов Иван"
    web.service.bus.publish(
        {
            "type": "call.ended",
            "agent": "101",
            "attempt_id": ids["attempt_id"],
            "campaign": "spring",
            "outcome": "connected",
        }
    )
    ended = await _next_event(r, "ended")
    assert ended["wrapup_seconds"] == 15
    r.close()
    # a page opened during wrap-up still shows the call, until the disposition is saved
    r = await web.agent("GET", "/me/events")
    again = await _next_event(r, "call")
    assert again["attempt_id"] == ids["attempt_id"] and again["ended"] is True
    r.close()
    assert (
        await web.agent("POST", f"/attempts/{ids['attempt_id']}/disposition", json={"kind": "wrong_number"})
    ).status == 201
    await asyncio.sleep(0.1)
    from dialer.web.calls import tracker

    assert tracker(web.service.app).pending("101") is None


async def test_shutdown_ends_open_event_streams_at_once(db_url: str, tmp_path: Path) -> None:
    """A graceful shutdown waits for requests in progress; open dashboards and agent pages must not hold it up."""
    service = make_service(db_url, tmp_path)
    admin, agent, _ = await seed_users(service)
    client: TestClient[Any, Any] = TestClient(TestServer(service.app, host="127.0.0.1"))
    await client.start_server()
    try:
        streams = [
            await client.get("/api/v1/dashboard/events", headers={"Authorization": f"Bearer {admin}"}),
            await client.get("/api/v1/me/events", headers={"Authorization": f"Bearer {agent}"}),
        ]
        await _next_event(streams[0], "dashboard")
        t0 = time.monotonic()
        await asyncio.wait_for(client.server.close(), 10)
        assert time.monotonic() - t0 < 5
        for r in streams:
            r.close()
    finally:
        await client.close()
        await service.engine.dispose()
