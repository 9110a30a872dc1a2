"""Issue 16 through the API: an applications import keeps, but warns about, numbers a caller can not key on
the phone and numbers whose digits another application shares; the search finds an application by the
digits a caller would key."""

from __future__ import annotations

from tests.web.conftest import Web
from tests.web.test_imports_api import _form, wait_job

CSV = (
    "application_number,applicant_name,phone,status\n"
    "2027-00010,Иванов Иван,+79161234567,ready\n"
    "МС/2027/00010,Петров Пётр,+79161234568,processing\n"  # line 3: the same digits as line 2
    "АБВ-ГД,Сидоров,+79161234569,ready\n"  # line 4: no digits at all
    "2027 00020,Козлов,+79161234570,submitted\n"
)


async def test_import_warns_about_numbers_callers_can_not_tell_apart_or_key(web: Web) -> None:
    r = await web.admin("POST", "/applications/import", data=_form(CSV.encode()))
    assert r.status == 202, await r.text()
    job = await wait_job(web, await r.json())
    assert (job["state"], job["accepted"], job["rejected"], job["warnings"]) == ("done", 4, 0, 2)
    r = await web.admin("GET", f"/imports/{job['id']}/warnings")
    page = await r.json()
    assert page["total"] == 2
    assert [(w["line"], w["reason"]) for w in page["items"]] == [
        (
            3,
            "application МС/2027/00010 has the same digits (202700010) as 2027-00010: "
            "a caller keying them is sent to an operator",
        ),
        (4, "application 'АБВ-ГД' has no digits: callers can not find it by phone"),
    ]
    r = await web.admin("GET", "/applications?q=202700020")
    assert [a["number"] for a in (await r.json())["items"]] == ["2027 00020"]
