"""Dispositions move the contact on (appointment, callback, wrong number, refused, no answer on the line),
only for the agent's own calls, once; saving publishes disposition.saved on the bus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.db.models import Contact, DoNotCall
from tests.web.conftest import Web, seed_call


async def _contact(web: Web, contact_id: int) -> Contact:
    async with web.service.sessions() as s:
        c = await s.get(Contact, contact_id)
        assert c is not None
        return c


async def test_each_disposition_applies_to_the_contact(web: Web) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    ids = await seed_call(web.service, number="A-1", phone="+79161234561")
    r = await web.agent(
        "POST",
        f"/attempts/{ids['attempt_id']}/disposition",
        json={
            "kind": "appointment",
            "appointment_at": soon.isoformat(),
            "pickup_office": "МФЦ",
            "route": "вход со двора",
        },
    )
    assert r.status == 201, await r.text()
    body = await r.json()
    assert body["contact_state"] == "done" and body["pickup_office"] == "МФЦ" and body["agent"] == "101"
    assert (await _contact(web, ids["contact_id"])).state == "done"

    ids = await seed_call(web.service, number="A-2", phone="+79161234562")
    r = await web.agent(
        "POST",
        f"/attempts/{ids['attempt_id']}/disposition",
        json={"kind": "callback", "callback_at": soon.isoformat(), "callback_same_agent": True},
    )
    assert r.status == 201
    c = await _contact(web, ids["contact_id"])
    assert (c.state, c.priority, c.callback_agent_id) == ("pending", 0, ids["agent_id"])
    assert abs((c.next_attempt_at - soon).total_seconds()) < 1

    ids = await seed_call(web.service, number="A-3", phone="+79161234563")
    await web.agent(
        "POST",
        f"/attempts/{ids['attempt_id']}/disposition",
        json={"kind": "callback", "callback_at": soon.isoformat()},
    )
    assert (await _contact(web, ids["contact_id"])).callback_agent_id is None

    ids = await seed_call(web.service, number="A-4", phone="+79161234564")
    await web.agent("POST", f"/attempts/{ids['attempt_id']}/disposition", json={"kind": "wrong_number"})
    assert (await _contact(web, ids["contact_id"])).state == "invalid"

    other = await seed_call(web.service, campaign="autumn", number="A-9", phone="+79161234565")
    async with web.service.sessions() as s:
        oc = await s.get(Contact, other["contact_id"])
        assert oc is not None
        oc.state = "pending"
        await s.commit()
    ids = await seed_call(web.service, number="A-5", phone="+79161234565")
    r = await web.agent(
        "POST", f"/attempts/{ids['attempt_id']}/disposition", json={"kind": "refused", "notes": "не звонить"}
    )
    assert r.status == 201
    assert (await _contact(web, ids["contact_id"])).state == "done"
    assert (await _contact(web, other["contact_id"])).state == "dnc"  # withdrawn in every campaign
    async with web.service.sessions() as s:
        assert await s.get(DoNotCall, "+79161234565") is not None

    ids = await seed_call(web.service, number="A-6", phone="+79161234566")
    before = datetime.now(UTC)
    await web.agent("POST", f"/attempts/{ids['attempt_id']}/disposition", json={"kind": "no_answer_on_line"})
    c = await _contact(web, ids["contact_id"])
    assert c.state == "pending" and c.priority == 5
    assert 3500 < (c.next_attempt_at - before).total_seconds() < 3700  # the campaign's "noanswer" delay
    ids = await seed_call(web.service, number="A-7", phone="+79161234567")
    async with web.service.sessions() as s:
        cc = await s.get(Contact, ids["contact_id"])
        assert cc is not None
        cc.attempts = 3
        await s.commit()
    await web.agent("POST", f"/attempts/{ids['attempt_id']}/disposition", json={"kind": "no_answer_on_line"})
    assert (await _contact(web, ids["contact_id"])).state == "exhausted"


async def test_only_own_calls_once_and_with_valid_times(web: Web) -> None:
    ids = await seed_call(web.service, extension="102")  # Boris's call
    path = f"/attempts/{ids['attempt_id']}/disposition"
    r = await web.agent("POST", path, json={"kind": "wrong_number"})
    assert r.status == 404  # Anna learns nothing about Boris's calls
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "callback"}, 422, "callback_at"),
        ({"kind": "appointment"}, 422, "appointment_at"),
        ({"kind": "callback", "callback_at": past}, 400, "callback_at"),
        ({"kind": "callback", "callback_at": "2027-03-01T10:00:00"}, 422, "callback_at"),
        ({"kind": "maybe"}, 422, "kind"),
        ({"kind": "wrong_number", "notes": "x" * 3000}, 422, "notes"),
    ]
    for body, status, field in cases:
        r = await web.call(web.other_agent_token, "POST", path, json=body)
        err = await r.json()
        assert (r.status, err["field"]) == (status, field), (body, err)
    async with web.service.bus.subscribe() as q:
        r = await web.call(web.other_agent_token, "POST", path, json={"kind": "wrong_number"})
        assert r.status == 201
        ev = await asyncio.wait_for(q.get(), 2)
    assert ev == {"type": "disposition.saved", "agent": "102", "attempt_id": ids["attempt_id"]}
    r = await web.call(web.other_agent_token, "POST", path, json={"kind": "refused"})
    assert r.status == 409
    assert (await web.agent("POST", "/attempts/999999/disposition", json={"kind": "refused"})).status == 404


async def test_agent_presence_and_own_history(web: Web) -> None:
    r = await web.agent("POST", "/me/ready")
    assert (await r.json())["presence"] == "ready"
    r = await web.agent("POST", "/me/pause", json={"reason": "lunch"})
    body = await r.json()
    assert body["presence"] == "paused" and body["pause_reason"] == "lunch"
    assert (await web.agent("POST", "/me/pause", json={"reason": ""})).status == 422
    me = await (await web.agent("GET", "/me")).json()
    assert me["extension"] == "101" and me["agent"]["presence"] == "paused"
    await seed_call(web.service, extension="101", number="A-1", phone="+79161234561")
    await seed_call(web.service, extension="102", number="A-2", phone="+79161234562")
    page = await (await web.agent("GET", "/me/calls")).json()
    assert page["total"] == 1 and page["items"][0]["agent"] == "101"
    assert page["items"][0]["applicant_name"] == "Иванов Иван"
    assert (await (await web.agent("POST", "/me/logout")).json())["presence"] == "logged_out"
    me = await (await web.admin("GET", "/me")).json()
    assert me["role"] == "admin" and me["agent"] is None


async def test_admin_agents_board_pause_unpause_logout(web: Web) -> None:
    board = await (await web.admin("GET", "/agents")).json()
    assert [a["extension"] for a in board["items"]] == ["101", "102"]
    r = await web.admin("POST", "/agents/101/pause", json={"reason": "coaching"})
    assert (await r.json())["pause_reason"] == "coaching"
    assert (await (await web.admin("POST", "/agents/101/unpause")).json())["presence"] == "ready"
    assert (await (await web.admin("POST", "/agents/101/logout")).json())["presence"] == "logged_out"
    assert (await (await web.admin("GET", "/agents/102")).json())["name"] == "Boris"
    assert (await web.admin("GET", "/agents/999")).status == 404
    assert (await web.admin("GET", "/agents/abc")).status == 422
    assert (await web.admin("POST", "/agents/101/pause", json={"reason": "x" * 101})).status == 422
