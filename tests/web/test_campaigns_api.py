"""Campaign endpoints: create, edit while draft or paused, lifecycle, stats, contacts; bad input is 4xx."""

from __future__ import annotations

from tests.web.conftest import Web, seed_call


async def test_campaign_lifecycle_and_stats(web: Web) -> None:
    r = await web.admin(
        "POST", "/campaigns", json={"name": "spring", "mode": "ratio", "ratio": 1.5, "max_attempts": 4}
    )
    assert r.status == 201
    body = await r.json()
    assert body["state"] == "draft" and body["ratio"] == 1.5 and body["status"]["contacts_total"] == 0
    r = await web.admin(
        "PATCH", "/campaigns/spring", json={"max_attempts": 5, "window": {"hours": {"mon": "10:00-18:00"}}}
    )
    assert r.status == 200 and (await r.json())["max_attempts"] == 5
    assert (await web.admin("POST", "/campaigns/spring/start")).status == 200
    r = await web.admin("PATCH", "/campaigns/spring", json={"max_attempts": 6})
    assert r.status == 409 and (await r.json())["field"] == "state"
    assert (await web.admin("POST", "/campaigns/spring/resume")).status == 409
    r = await web.admin("POST", "/campaigns/spring/pause")
    assert (await r.json())["state"] == "paused"
    assert (await web.admin("PATCH", "/campaigns/spring", json={"max_attempts": 6})).status == 200
    assert (await (await web.admin("POST", "/campaigns/spring/resume")).json())["state"] == "running"
    await seed_call(web.service, campaign="spring")
    r = await web.admin("GET", "/campaigns/spring/stats")
    stats = await r.json()
    assert (
        stats["status"]["attempts_by_outcome"] == {"connected": 1} and stats["status"]["answered_today"] == 1
    )
    assert isinstance(stats["live"], dict)
    r = await web.admin("POST", "/campaigns/spring/stop")
    assert (await r.json())["state"] == "stopped"
    assert (await web.admin("POST", "/campaigns/spring/start")).status == 409
    names = [c["name"] for c in (await (await web.admin("GET", "/campaigns")).json())["items"]]
    assert names == ["spring"]


async def test_bad_campaign_input_is_a_4xx_naming_the_field(web: Web) -> None:
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x", "mode": "turbo"}, "mode"),
        ({"name": "x", "abandon_cap": 0.5}, "abandon_cap"),
        ({"name": "x", "ring_timeout": 5}, "ring_timeout"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "retry_delays": {"busy": 1}}, "retry_delays"),
        ({"name": "x", "window": {"hours": {"mon": "25:00-26:00"}}}, "window.hours"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "bad\u0000name"}, "name"),
    ]
    for body, field in cases:
        r = await web.admin("POST", "/campaigns", json=body)
        assert r.status == 422, (body, r.status)
        err = await r.json()
        assert err["field"] == field, (body, err)
        assert err["error"]
    r = await web.admin(
        "POST", "/campaigns", data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status == 415
    r = await web.admin("POST", "/campaigns", data="[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status == 422
    assert (await web.admin("POST", "/campaigns", json={"name": "dup"})).status == 201
    r = await web.admin("POST", "/campaigns", json={"name": "dup"})
    assert r.status == 409 and (await r.json())["field"] == "name"
    r = await web.admin("GET", "/campaigns/nope")
    assert r.status == 404 and (await r.json())["field"] == "name"
    r = await web.admin("POST", "/campaigns/nope/start")
    assert r.status == 404
    r = await web.admin("PATCH", "/campaigns/dup", json={"max_attempts": 0})
    assert r.status == 422 and (await r.json())["field"] == "max_attempts"
    r = await web.admin("GET", "/no/such/thing")
    assert r.status == 404 and "error" in await r.json()
    r = await web.admin("PUT", "/campaigns")
    assert r.status == 405 and "error" in await r.json()


async def test_contacts_list_search_and_edit(web: Web) -> None:
    ids = await seed_call(web.service, campaign="spring", number="A-7", phone="+79161234500")
    await seed_call(web.service, campaign="spring", number="B-8", phone="+79161234511")
    r = await web.admin("GET", "/campaigns/spring/contacts", params={"q": "A-7"})
    page = await r.json()
    assert page["total"] == 1 and page["items"][0]["application_number"] == "A-7"
    r = await web.admin("GET", "/campaigns/spring/contacts", params={"state": "dialing", "per_page": 1})
    page = await r.json()
    assert page["total"] == 2 and len(page["items"]) == 1
    # a contact being called can not be changed under the engine's feet
    r = await web.admin("PATCH", f"/contacts/{ids['contact_id']}", json={"name": "X"})
    assert r.status == 409
    async with web.service.sessions() as s:
        from dialer.db.models import Contact

        c = await s.get(Contact, ids["contact_id"])
        assert c is not None
        c.state = "pending"
        await s.commit()
    r = await web.admin(
        "PATCH",
        f"/contacts/{ids['contact_id']}",
        json={"name": "Пётр", "phone": "8 916 123-45-99", "priority": 1},
    )
    body = await r.json()
    assert (
        r.status == 200
        and body["phone"] == "+79161234599"
        and body["name"] == "Пётр"
        and body["priority"] == 1
    )
    r = await web.admin("PATCH", f"/contacts/{ids['contact_id']}", json={"phone": "12"})
    assert r.status == 400 and (await r.json())["field"] == "phone"
    r = await web.admin("PATCH", f"/contacts/{ids['contact_id']}", json={"state": "done"})
    assert r.status == 422 and (await r.json())["field"] == "state"
    assert (await web.admin("PATCH", "/contacts/999999", json={"name": "x"})).status == 404
    assert (await web.admin("PATCH", "/contacts/abc", json={"name": "x"})).status == 422
    assert (await web.admin("GET", "/campaigns/spring/contacts", params={"page": "0"})).status == 422
    assert (await web.admin("GET", "/campaigns/spring/contacts", params={"sort": "x"})).status == 422
