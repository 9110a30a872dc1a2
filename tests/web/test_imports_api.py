"""CSV uploads of applications and campaign contacts: streamed, imported in the background with progress,
a report of every rejected row (line and reason), good rows kept; applications list/search/edit."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import FormData

from tests.web.conftest import Web

APPS_CSV = (
    "application_number;applicant_name;phone;status;pickup_office;pickup_from;expected_date\n"
    "A-1;Иванов Иван;+7 916 123-45-67;ready;МФЦ Тверской;2027-03-01;\n"
    "A-2;Петров Пётр;8 (916) 123-45-68;processing;;;15.04.2027\n"
    "A-3;Сидоров;12345;ready;;;\n"  # line 4: bad phone
    "A-1;Иванов Иван;+79161234567;ready;;;\n"  # line 5: duplicate
    "A-4;Козлов;+79161234569;lost;;;\n"  # line 6: unknown status
    ";Без номера;+79161234570;ready;;;\n"  # line 7: missing field
    "A-5;Дата;+79161234571;ready;;31.02.2027;\n"  # line 8: bad date
    "A-6;Смирнова Анна;+79161234572;READY;Почта;;\n"
)


def _form(content: bytes, name: str = "file", filename: str = "list.csv") -> FormData:
    form = FormData()
    form.add_field(name, content, filename=filename, content_type="text/csv")
    return form


async def wait_job(web: Web, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(200):
        r = await web.admin("GET", f"/imports/{job['id']}")
        job = await r.json()
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"import still running: {job}")


async def test_applications_import_reports_every_rejected_row_and_keeps_good_ones(web: Web) -> None:
    r = await web.admin("POST", "/applications/import", data=_form(APPS_CSV.encode("cp1251")))
    assert r.status == 202, await r.text()
    job = await wait_job(web, await r.json())
    assert job["state"] == "done", job
    assert (job["total_rows"], job["accepted"], job["rejected"], job["created"]) == (8, 3, 5, 3)
    assert job["percent"] == 100.0
    r = await web.admin("GET", f"/imports/{job['id']}/rejected")
    rejected = {row["line"]: row["reason"] for row in (await r.json())["items"]}
    assert set(rejected) == {4, 5, 6, 7, 8}
    assert "bad phone" in rejected[4]
    assert "duplicate" in rejected[5]
    assert "unknown status" in rejected[6]
    assert "missing application_number" in rejected[7]
    assert "bad date" in rejected[8]
    r = await web.admin("GET", f"/imports/{job['id']}/rejected.csv")
    text = await r.text()
    assert r.status == 200 and text.splitlines()[0] == "line,reason" and text.count("\n") == 6
    r = await web.admin("GET", "/applications/A-2")
    app = await r.json()
    assert (
        app["phone"] == "+79161234568"
        and app["status"] == "processing"
        and app["expected_date"] == "2027-04-15"
    )
    assert (await (await web.admin("GET", "/applications/A-6")).json())["status"] == "ready"
    # a re-export updates known numbers
    again = "application_number,applicant_name,phone,status\nA-2,Петров Пётр,+79161234568,ready\n"
    job = await wait_job(
        web, await (await web.admin("POST", "/applications/import", data=_form(again.encode()))).json()
    )
    assert (job["created"], job["updated"], job["rejected"]) == (0, 1, 0)
    assert (await (await web.admin("GET", "/applications/A-2")).json())["status"] == "ready"
    jobs = (await (await web.admin("GET", "/imports")).json())["items"]
    assert len(jobs) == 2 and jobs[0]["id"] == job["id"]


async def test_a_file_without_the_needed_columns_or_without_a_file_is_refused_at_once(web: Web) -> None:
    r = await web.admin("POST", "/applications/import", data=_form(b"number,name\n1,x\n"))
    err = await r.json()
    assert r.status == 400 and err["field"] == "file" and "application_number" in err["error"]
    r = await web.admin("POST", "/applications/import", data=_form(b""))
    assert r.status == 400 and "empty" in (await r.json())["error"]
    r = await web.admin("POST", "/applications/import", data=_form(b"x", name="other"))
    assert r.status == 400 and (await r.json())["field"] == "file"
    r = await web.admin("POST", "/applications/import", json={"file": "x"})
    assert r.status == 415
    assert (await web.admin("GET", "/imports/ffff")).status == 404
    assert (await web.admin("GET", "/imports/not-hex!")).status == 422


async def test_contacts_import_into_a_campaign_with_progress_events(web: Web) -> None:
    assert (await web.admin("POST", "/campaigns", json={"name": "spring"})).status == 201
    csv = "phone,application_number,name\n+79161234567,A-1,Иванов\nbad,A-2,Петров\n+79161234567,A-1,Иванов\n+79161234568,A-3,Сидоров\n"
    r = await web.admin("POST", "/campaigns/spring/contacts/import", data=_form(csv.encode()))
    assert r.status == 202
    job = await r.json()
    assert job["kind"] == "contacts" and job["target"] == "spring"
    r = await web.admin("GET", f"/imports/{job['id']}/events")
    assert r.headers["Content-Type"].startswith("text/event-stream")
    last: dict[str, Any] = {}
    async for line in r.content:
        if line.startswith(b"data: "):
            import json

            last = json.loads(line[6:])
            if last["state"] != "running":
                break
    r.close()
    assert last["state"] == "done" and last["accepted"] == 2 and last["rejected"] == 2
    r = await web.admin("GET", f"/imports/{job['id']}/rejected")
    reasons = {x["line"]: x["reason"] for x in (await r.json())["items"]}
    assert "bad phone" in reasons[3] and "duplicate" in reasons[4]
    page = await (await web.admin("GET", "/campaigns/spring/contacts")).json()
    assert page["total"] == 2
    # unknown and finished campaigns
    assert (
        await web.admin("POST", "/campaigns/nope/contacts/import", data=_form(csv.encode()))
    ).status == 404
    await web.admin("POST", "/campaigns/spring/stop")
    r = await web.admin("POST", "/campaigns/spring/contacts/import", data=_form(csv.encode()))
    assert r.status == 409


async def test_applications_list_search_and_edit(web: Web) -> None:
    job = await wait_job(
        web, await (await web.admin("POST", "/applications/import", data=_form(APPS_CSV.encode()))).json()
    )
    assert job["accepted"] == 3
    page = await (await web.admin("GET", "/applications")).json()
    assert page["total"] == 3
    page = await (await web.admin("GET", "/applications", params={"q": "Петров"})).json()
    assert [a["number"] for a in page["items"]] == ["A-2"]
    page = await (await web.admin("GET", "/applications", params={"q": "9161234572"})).json()
    assert [a["number"] for a in page["items"]] == ["A-6"]
    page = await (await web.admin("GET", "/applications", params={"status": "processing"})).json()
    assert [a["number"] for a in page["items"]] == ["A-2"]
    assert (await web.admin("GET", "/applications", params={"status": "lost"})).status == 422
    r = await web.admin(
        "PATCH",
        "/applications/A-2",
        json={"status": "ready", "pickup_office": "МФЦ", "pickup_from": "2027-05-01"},
    )
    body = await r.json()
    assert r.status == 200 and body["status"] == "ready" and body["pickup_from"] == "2027-05-01"
    r = await web.admin("PATCH", "/applications/A-2", json={"phone": "000"})
    assert r.status == 400 and (await r.json())["field"] == "phone"
    r = await web.admin("PATCH", "/applications/A-2", json={"status": None})
    assert r.status == 400
    r = await web.admin("PATCH", "/applications/A-2", json={"pickup_from": "1800-01-01"})
    assert r.status == 422 and (await r.json())["field"] == "pickup_from"
    assert (await web.admin("GET", "/applications/ZZZ")).status == 404
