"""Applications: CSV import (streamed, in batches), search and edit.

An import upserts by application number: the passport office re-exports its list as statuses change, so
a known number is updated and a new one created. A number twice in one file is a duplicate and rejected.
Duplicates are detected through the database (rows this import wrote carry its own timestamp), so memory
does not grow with the file: a million rows import in the memory of one batch.

Callers find an application by the digits of its number (``search_key``, dialer.applications.keys): the
import warns, without rejecting the row, about numbers a caller can not key (no digits, too few or too many)
and about numbers whose digits equal another application's (``2027-00010`` and ``202700010``): the IVR sends
a caller who keys such digits to an operator rather than guess whose status to read out.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.applications.keys import phone_problem, search_key
from dialer.applications.schemas import ApplicationEdit, ApplicationImportReport, ApplicationOut
from dialer.auditlog import audit
from dialer.campaigns.schemas import RejectedRow
from dialer.db.models import Application, ApplicationStatus
from dialer.db.paging import fetch_page
from dialer.db.types import utcnow
from dialer.errors import NotFound, ServiceError
from dialer.imports.csvfile import CsvFormatError, Row, read_rows
from dialer.likes import ESCAPE, contains, starts_with
from dialer.phones import InvalidPhone, normalize

Sessions = async_sessionmaker[AsyncSession]

REQUIRED = ("application_number", "applicant_name", "phone", "status")
COLUMNS = (*REQUIRED, "pickup_office", "pickup_from", "expected_date")
BATCH = 2000
STATUSES = {s.value for s in ApplicationStatus}

Record = dict[str, Any]


def parse_day(text: str) -> date:
    """ISO (2027-03-01) or Russian (01.03.2027) dates, as spreadsheets write them."""
    text = text.strip()
    try:
        if "." in text:
            d, m, y = text.split(".")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad date {text!r} (use YYYY-MM-DD or DD.MM.YYYY)") from None


def check_row(row: Row, region: str) -> Record:
    """The application a CSV row describes, or ValueError with the reason for the report."""
    if row.error is not None:  # unreadable (broken quoting, NUL, mixed encodings): reported, never stored
        raise ValueError(row.error)
    d = {k: v.replace("\x00", "") for k, v in row.data.items()}
    missing = [c for c in REQUIRED if not d.get(c)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    number = d["application_number"]
    if len(number) > 32:
        raise ValueError("application_number longer than 32 characters")
    status = d["status"].lower()
    if status not in STATUSES:
        raise ValueError(f"unknown status {d['status']!r} (use {', '.join(sorted(STATUSES))})")
    try:
        phone = normalize(d["phone"], region)
    except InvalidPhone as e:
        raise ValueError(f"bad phone {d['phone']!r}: {e}") from None
    rec: Record = {
        "number": number,
        "applicant_name": d["applicant_name"][:200],
        "phone": phone,
        "status": status,
        "pickup_office": (d.get("pickup_office") or "")[:200] or None,
    }
    for col in ("pickup_from", "expected_date"):
        try:
            rec[col] = parse_day(d[col]) if d.get(col) else None
        except ValueError as e:
            raise ValueError(f"{col}: {e}") from None
        if rec[col] is not None and not 1900 < rec[col].year < 2200:
            raise ValueError(f"{col}: year out of range")
    return rec


def _next_batch(
    rows: Iterator[Row], region: str, report: ApplicationImportReport
) -> list[tuple[int, Record]] | None:
    """Parse and check up to BATCH rows (run in a worker thread: phone parsing is CPU work that must not
    stall the event loop, where the dialer engine runs)."""
    good: list[tuple[int, Record]] = []
    try:
        for row in rows:
            report.total_rows += 1
            try:
                rec = check_row(row, region)
            except ValueError as e:
                report.rejected.append(RejectedRow(line=row.line, reason=str(e)))
                continue
            good.append((row.line, rec))
            problem = phone_problem(rec["number"])
            if problem is not None:
                report.warnings.append(RejectedRow(line=row.line, reason=problem))
            if len(good) >= BATCH:
                return good
    except csv.Error as e:
        raise ServiceError(f"applications file: line {report.total_rows + 1}: {e}", field="file") from None
    except CsvFormatError as e:
        raise ServiceError(f"applications file: {e}", field="file") from None
    return good or None


async def _store(
    sessions: Sessions, batch: list[tuple[int, Record]], stamp: datetime, report: ApplicationImportReport
) -> None:
    async with sessions() as s:
        numbers = {r["number"] for _, r in batch}
        existing = {
            n: (i, upd)
            for n, i, upd in (
                await s.execute(
                    select(Application.number, Application.id, Application.updated_at).where(
                        Application.number.in_(numbers)
                    )
                )
            ).tuples()
        }
        inserts: list[Record] = []
        updates: list[Record] = []
        seen: set[str] = set()
        for line, rec in batch:
            n = rec["number"]
            if n in seen or (n in existing and existing[n][1] == stamp):
                report.rejected.append(
                    RejectedRow(line=line, reason=f"duplicate: application {n} is listed earlier in the file")
                )
                continue
            seen.add(n)
            if n in existing:
                updates.append({**rec, "id": existing[n][0], "updated_at": stamp})
            else:
                inserts.append({**rec, "search_key": search_key(n), "created_at": stamp, "updated_at": stamp})
        await _warn_same_digits(s, [(line, rec["number"]) for line, rec in batch], seen, report)
        if inserts:
            await s.execute(insert(Application), inserts)
        if updates:
            await s.execute(
                update(Application), [{k: v for k, v in u.items() if k != "number"} for u in updates]
            )
        await s.commit()
    report.created += len(inserts)
    report.updated += len(updates)


async def _warn_same_digits(
    s: AsyncSession, rows: list[tuple[int, str]], accepted: set[str], report: ApplicationImportReport
) -> None:
    """Warn about each accepted row whose digits another application (stored, or earlier in this batch)
    shares. Rows of earlier batches are in the database already, so one indexed query per batch finds
    every clash in the file, whatever its size."""
    keyed = [(line, n, search_key(n)) for line, n in rows if n in accepted]
    keys = {k for _, _, k in keyed if k}
    if not keys:
        return
    others: dict[str, set[str]] = {}
    for n, k in (
        await s.execute(
            select(Application.number, Application.search_key).where(Application.search_key.in_(keys))
        )
    ).tuples():
        others.setdefault(k, set()).add(n)
    reported: set[frozenset[str]] = set()  # a pair is reported once, on the later of its lines
    for line, n, k in keyed:
        if not k:
            continue
        clash = sorted(o for o in others.get(k, set()) - {n} if frozenset((n, o)) not in reported)
        reported.update(frozenset((n, o)) for o in clash)
        if clash:
            report.warnings.append(
                RejectedRow(
                    line=line,
                    reason=f"application {n} has the same digits ({k}) as {', '.join(clash[:3])}: "
                    "a caller keying them is sent to an operator",
                )
            )
        others.setdefault(k, set()).add(n)


async def import_applications(
    sessions: Sessions,
    stream: IO[bytes],
    *,
    actor: str,
    region: str = "RU",
    on_progress: Callable[[ApplicationImportReport], None] | None = None,
) -> ApplicationImportReport:
    """Stream an applications CSV (header naming at least application_number, applicant_name, phone,
    status) into the database. Bad rows are reported with line and reason; good rows are kept."""
    report = ApplicationImportReport()
    stamp = utcnow()
    try:
        rows = await asyncio.to_thread(lambda: read_rows(stream, required=REQUIRED))
        # read_rows checks the header on the first next(); do it here so a bad file fails before any work
        first = await asyncio.to_thread(next, rows, None)
    except CsvFormatError as e:
        raise ServiceError(f"applications file: {e}", field="file") from None

    def chained() -> Iterator[Row]:
        if first is not None:
            yield first
        yield from rows

    it = chained()
    while (batch := await asyncio.to_thread(_next_batch, it, region, report)) is not None:
        await _store(sessions, batch, stamp, report)
        report.warnings.sort(key=lambda w: w.line)  # parse and clash warnings of a batch, in file order
        if on_progress:
            on_progress(report)
    async with sessions() as s:
        await audit(
            s,
            actor,
            "applications.import",
            None,
            total=report.total_rows,
            created=report.created,
            updated=report.updated,
            rejected=len(report.rejected),
            warnings=len(report.warnings),
        )
        await s.commit()
    # the file names the pickup office as text: point the applications at the office it names (issue 14)
    from dialer.offices.services import link_applications

    await link_applications(sessions, actor=actor)
    if on_progress:
        on_progress(report)
    return report


def to_out(a: Application) -> ApplicationOut:
    return ApplicationOut.model_validate(a, from_attributes=True)


async def search(
    sessions: Sessions, q: str | None, status: str | None, page: int, per_page: int
) -> tuple[list[ApplicationOut], int]:
    """By number (prefix, as written or by its digits: ``202700010`` finds ``2027-00010``), applicant name
    (part) or phone (part); newest first."""
    query = select(Application)
    if q:
        like = contains(q)
        matches = [
            Application.number.like(starts_with(q), escape=ESCAPE),
            Application.applicant_name.ilike(like, escape=ESCAPE),
            Application.phone.like(like, escape=ESCAPE),
        ]
        key = search_key(q)
        if key:
            matches.append(Application.search_key.like(f"{key}%"))
        query = query.where(or_(*matches))
    if status:
        query = query.where(Application.status == status)
    async with sessions() as s:
        rows, total = await fetch_page(s, query, Application.id.desc(), page, per_page)
        return [to_out(a) for (a,) in rows], total


async def get(sessions: Sessions, number: str) -> ApplicationOut:
    async with sessions() as s:
        return to_out(await _get(s, number))


async def _get(s: AsyncSession, number: str) -> Application:
    """The application with this number as written, else the only one with these digits (an agent may type
    ``202700010`` for ``2027-00010``; when two share the digits, only the exact number finds one)."""
    app = (await s.execute(select(Application).where(Application.number == number))).scalar_one_or_none()
    key = search_key(number)
    if app is None and key:
        same = (await s.execute(select(Application).where(Application.search_key == key).limit(2))).scalars()
        found = list(same)
        app = found[0] if len(found) == 1 else None
    if app is None:
        raise NotFound(f"no application {number!r}", field="number")
    return app


async def edit(
    sessions: Sessions, number: str, changes: ApplicationEdit, *, actor: str, region: str
) -> ApplicationOut:
    data = changes.model_dump(exclude_unset=True)
    if "phone" in data and data["phone"] is not None:
        try:
            data["phone"] = normalize(data["phone"], region)
        except InvalidPhone as e:
            raise ServiceError(f"bad phone: {e}", field="phone") from None
    if data.get("applicant_name", "") is None or data.get("status", "") is None:
        raise ServiceError("applicant_name and status can not be empty", field="applicant_name")
    async with sessions() as s:
        app = await _get(s, number)
        for k, v in data.items():
            setattr(app, k, v)
        app.updated_at = utcnow()
        await audit(
            s, actor, "application.edit", number, changes=changes.model_dump(mode="json", exclude_unset=True)
        )
        await s.commit()
        return to_out(app)
