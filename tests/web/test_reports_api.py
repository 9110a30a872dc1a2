"""Attempts and dispositions (filtered, paginated, CSV export), reports, the do-not-call list."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.web.conftest import Web, seed_call


async def _seed(web: Web) -> None:
    today = datetime.now(UTC)
    await seed_call(
        web.service, campaign="spring", number="A-1", phone="+79161234561", outcome="connected", at=today
    )
    await seed_call(
        web.service, campaign="spring", number="A-2", phone="+79161234562", outcome="abandoned", at=today
    )
    await seed_call(
        web.service, campaign="autumn", number="A-3", phone="+79161234563", outcome="connected", at=today
    )
    await seed_call(
        web.service,
        campaign="spring",
        number="A-4",
        phone="+79161234564",
        outcome="busy",
        at=today - timedelta(days=3),
    )


async def test_attempts_filtered_paginated_and_exported(web: Web) -> None:
    await _seed(web)
    page = await (await web.admin("GET", "/attempts")).json()
    assert page["total"] == 4
    page = await (await web.admin("GET", "/attempts", params={"campaign": "spring"})).json()
    assert page["total"] == 3
    page = await (await web.admin("GET", "/attempts", params={"outcome": "connected"})).json()
    assert {a["campaign"] for a in page["items"]} == {"spring", "autumn"}
    today = datetime.now(UTC).astimezone(web.service.settings.tz).date()
    page = await (
        await web.admin("GET", "/attempts", params={"date_from": today.isoformat(), "per_page": 2})
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    page2 = await (
        await web.admin("GET", "/attempts", params={"date_from": today.isoformat(), "per_page": 2, "page": 2})
    ).json()
    assert len(page2["items"]) == 1
    assert {a["id"] for a in page["items"]}.isdisjoint({a["id"] for a in page2["items"]})
    page = await (await web.admin("GET", "/attempts", params={"agent": "101"})).json()
    assert page["total"] == 4
    bad = await web.admin("GET", "/attempts", params={"date_from": "2027-02-30"})
    assert bad.status == 422 and (await bad.json())["field"] == "date_from"
    bad = await web.admin("GET", "/attempts", params={"date_from": "2027-03-02", "date_to": "2027-03-01"})
    assert bad.status == 422 and (await bad.json())["field"] == "date_to"
    assert (await web.admin("GET", "/attempts", params={"per_page": "100000"})).status == 422
    r = await web.admin("GET", "/attempts/export", params={"campaign": "spring"})
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == 3 and {r["outcome"] for r in rows} == {"connected", "abandoned", "busy"}
    assert rows[0]["applicant_name"] == "Иванов Иван"


async def test_dispositions_list_export_and_reports(web: Web) -> None:
    await _seed(web)
    attempts = (await (await web.admin("GET", "/attempts", params={"outcome": "connected"})).json())["items"]
    for a in attempts:
        r = await web.agent("POST", f"/attempts/{a['id']}/disposition", json={"kind": "wrong_number"})
        assert r.status == 201
    page = await (await web.admin("GET", "/dispositions", params={"kind": "wrong_number"})).json()
    assert page["total"] == 2 and page["items"][0]["agent"] == "101"
    page = await (await web.admin("GET", "/dispositions", params={"campaign": "autumn"})).json()
    assert page["total"] == 1
    r = await web.admin("GET", "/dispositions/export")
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == 2 and rows[0]["kind"] == "wrong_number"
    hourly = await (await web.admin("GET", "/reports/hourly")).json()
    assert len(hourly["hours"]) == 24
    assert sum(sum(h["outcomes"].values()) for h in hourly["hours"]) == 3
    assert set(hourly["outcomes"]) == {"connected", "abandoned"}
    summary = await (await web.admin("GET", "/reports/summary")).json()
    assert summary["answered"] == 3 and summary["abandoned"] == 1
    assert abs(summary["abandon_rate"] - 1 / 3) < 1e-9
    assert summary["dispositions_by_kind"] == {"wrong_number": 2}
    assert summary["agents"][0]["agent"] == "101" and summary["agents"][0]["calls"] == 3
    one = await (await web.admin("GET", "/reports/summary", params={"campaign": "autumn"})).json()
    assert one["attempts"] == 1 and one["dispositions_by_kind"] == {"wrong_number": 1}
    assert (await web.admin("GET", "/reports/hourly", params={"day": "yesterday"})).status == 422


async def test_do_not_call_list(web: Web) -> None:
    r = await web.admin(
        "POST", "/dnc", json={"phones": ["8 916 123-45-67", "+79161234568"], "reason": "asked"}
    )
    body = await r.json()
    assert r.status == 200 and body == {"added": 2, "phones": ["+79161234567", "+79161234568"]}
    r = await web.admin("POST", "/dnc", json={"phones": ["+79161234569", "123"]})
    assert r.status == 422 and (await r.json())["field"] == "phones.1"
    assert (await web.admin("POST", "/dnc", json={"phones": []})).status == 422
    page = await (await web.admin("GET", "/dnc", params={"q": "4567"})).json()
    assert (
        page["total"] == 1
        and page["items"][0]["added_by"] == "boss"
        and page["items"][0]["reason"] == "asked"
    )
    assert (await web.admin("DELETE", "/dnc/+79161234567")).status == 200
    assert (await web.admin("DELETE", "/dnc/+79161234567")).status == 404
    # not a number, so not on the list: 404 (a schema-valid path the API can not have)
    assert (await web.admin("DELETE", "/dnc/abc")).status == 404
    assert (await (await web.admin("GET", "/dnc")).json())["total"] == 1
