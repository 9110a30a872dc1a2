"""Campaign logic shared by the CLI and the web API: create, import contacts, lifecycle, status.

The running engine reads campaign states from the database, so a state change made here (by any front
end, in any process) takes effect at the engine's next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auditlog import audit
from dialer.campaigns import settings
from dialer.campaigns.schemas import CampaignSpec, CampaignStatus, ImportReport, RejectedRow
from dialer.db.models import (
    Application,
    ApplicationStatus,
    CallAttempt,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    DoNotCall,
)
from dialer.db.types import utcnow
from dialer.engine.window import day_start_utc
from dialer.errors import Conflict, NotFound, ServiceError
from dialer.imports.csvfile import CsvFormatError, Row, read_rows
from dialer.phones import InvalidPhone, normalize

Sessions = async_sessionmaker[AsyncSession]

BATCH = 1000
LIVE_OUTCOMES = ("connected", "abandoned")
FINAL_CONTACT_STATES = (
    ContactState.DONE,
    ContactState.EXHAUSTED,
    ContactState.INVALID,
    ContactState.DNC,
    ContactState.CANCELLED,
)


# state machine: action -> (allowed from, to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((CampaignState.DRAFT,), CampaignState.RUNNING),
    "pause": ((CampaignState.RUNNING,), CampaignState.PAUSED),
    "resume": ((CampaignState.PAUSED,), CampaignState.RUNNING),
    "stop": ((CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED), CampaignState.STOPPED),
}


async def get_campaign(session: AsyncSession, name: str) -> Campaign:
    camp = (await session.execute(select(Campaign).where(Campaign.name == name))).scalar_one_or_none()
    if camp is None:
        raise NotFound(f"no campaign named {name!r}", field="name")
    return camp


async def create_campaign(
    sessions: Sessions, spec: CampaignSpec, *, actor: str, default_tz: str, default_caller_id: str
) -> Campaign:
    async with sessions() as s:
        camp = Campaign(
            name=spec.name,
            state=CampaignState.DRAFT,
            **settings.to_columns(spec, timezone=default_tz, caller_id=default_caller_id),
        )
        s.add(camp)
        try:
            await s.flush()
        except IntegrityError:
            raise Conflict(f"a campaign named {spec.name!r} already exists", field="name") from None
        await audit(s, actor, "campaign.create", spec.name, spec=spec.model_dump(mode="json"))
        await s.commit()
        return camp


async def edit_campaign(sessions: Sessions, name: str, changes: dict[str, Any], *, actor: str) -> Campaign:
    """Edit settings while the campaign is a draft or paused (never while it is dialling)."""
    async with sessions() as s:
        camp = await get_campaign(s, name)
        if camp.state not in (CampaignState.DRAFT, CampaignState.PAUSED):
            raise Conflict(f"campaign {name!r} is {camp.state}; pause it before editing", field="state")
        current = {"name": camp.name, **settings.editable(camp)}
        spec = CampaignSpec.model_validate({**current, **changes})
        camp.name = spec.name
        for column, value in settings.to_columns(
            spec, timezone=camp.timezone, caller_id=camp.caller_id
        ).items():
            setattr(camp, column, value)
        await audit(s, actor, "campaign.edit", name, changes=changes)
        try:
            await s.commit()
        except IntegrityError:
            raise Conflict(f"a campaign named {spec.name!r} already exists", field="name") from None
        return camp


async def change_state(sessions: Sessions, name: str, action: str, *, actor: str) -> Campaign:
    if action not in TRANSITIONS:
        raise ServiceError(f"unknown action {action!r}; use {', '.join(TRANSITIONS)}", field="action")
    allowed, target = TRANSITIONS[action]
    async with sessions() as s:
        camp = await get_campaign(s, name)
        if camp.state not in allowed:
            raise Conflict(f"cannot {action} campaign {name!r}: it is {camp.state}", field="state")
        camp.state = target
        now = utcnow()
        if action == "start":
            camp.started_at = now
        if target == CampaignState.STOPPED:
            camp.finished_at = now
            # pending contacts will never be called; calls in flight finish normally
            await s.execute(
                update(Contact)
                .where(Contact.campaign_id == camp.id, Contact.state == ContactState.PENDING)
                .values(state=ContactState.CANCELLED)
            )
        await audit(s, actor, f"campaign.{action}", name)
        await s.commit()
        return camp


ParsedRow = tuple[int, str, str, str, dict[str, str]]


def _parse_batch(
    rows: Iterator[Row], region: str, size: int
) -> tuple[list[ParsedRow], list[RejectedRow], int]:
    """Read up to ``size`` rows: (good rows, rejected rows, rows read)."""
    good: list[ParsedRow] = []
    bad: list[RejectedRow] = []
    seen = 0
    for row in rows:
        seen += 1
        d = row.data
        if row.error is not None:  # unreadable (broken quoting, NUL, mixed encodings): reported, never stored
            bad.append(RejectedRow(line=row.line, reason=row.error))
            if seen >= size:
                break
            continue
        try:
            phone = normalize(d.get("phone", ""), region)
        except InvalidPhone as e:
            bad.append(RejectedRow(line=row.line, reason=f"bad phone {d.get('phone', '')!r}: {e}"))
        else:
            app_no = d.get("application_number", "").strip()
            if not app_no:
                bad.append(RejectedRow(line=row.line, reason="missing application_number"))
            elif len(app_no) > 32:
                bad.append(RejectedRow(line=row.line, reason="application_number longer than 32"))
            else:
                good.append((row.line, phone, app_no, d.get("name", "")[:200], d))
        if seen >= size:
            break
    return good, bad, seen


def _key(phone: str, app_id: int | None) -> tuple[str, int | None]:
    return (phone, app_id)


async def import_contacts(
    sessions: Sessions,
    name: str,
    stream: IO[bytes],
    *,
    actor: str,
    region: str = "RU",
    on_progress: Any = None,
) -> ImportReport:
    """Stream a contacts CSV (header with at least phone, application_number, name) into a campaign.

    Bad rows are reported with their line numbers and reasons; every good row is kept. A number on the
    do-not-call list is kept with state ``dnc`` (visible, never called). An application number not yet
    known creates the application as ready for pickup, with the row's name and phone.
    """
    report = ImportReport()
    async with sessions() as s:
        camp = await get_campaign(s, name)
        if camp.state in (CampaignState.STOPPED, CampaignState.COMPLETED):
            raise Conflict(
                f"campaign {name!r} is {camp.state}; contacts can no longer be added", field="state"
            )
        campaign_id = camp.id
    try:
        rows = read_rows(stream, required=("phone", "application_number", "name"))
        while True:
            # parsing and phone validation run in a worker thread: the engine shares this event loop
            batch, rejected, seen = await asyncio.to_thread(_parse_batch, rows, region, BATCH)
            report.total_rows += seen
            report.rejected.extend(rejected)
            if batch:
                await _store_batch(sessions, campaign_id, batch, report)
                if on_progress:
                    on_progress(report)
            if seen < BATCH:
                break
    except CsvFormatError as e:
        raise ServiceError(f"contacts file: {e}", field="contacts") from None
    async with sessions() as s:
        await audit(
            s,
            actor,
            "campaign.import",
            name,
            accepted=report.accepted,
            rejected=len(report.rejected),
            total=report.total_rows,
        )
        await s.commit()
    if on_progress:
        on_progress(report)
    return report


async def _store_batch(
    sessions: Sessions,
    campaign_id: int,
    batch: list[tuple[int, str, str, str, dict[str, str]]],
    report: ImportReport,
) -> None:
    async with sessions() as s:
        numbers = {b[2] for b in batch}
        apps = {
            a.number: a.id
            for a in (await s.execute(select(Application).where(Application.number.in_(numbers)))).scalars()
        }
        new_apps: dict[str, dict[str, Any]] = {}
        now = utcnow()
        for _line, phone, app_no, nm, d in batch:
            if app_no not in apps and app_no not in new_apps:
                new_apps[app_no] = {
                    "number": app_no,
                    "applicant_name": nm,
                    "phone": phone,
                    "status": ApplicationStatus.READY,
                    "pickup_office": d.get("pickup_office") or None,
                    "created_at": now,
                    "updated_at": now,
                }
        if new_apps:
            created = await s.execute(
                insert(Application).returning(Application.id, Application.number), list(new_apps.values())
            )
            for app_id, number in created.tuples():
                apps[number] = app_id
            report.applications_created += len(new_apps)
        phones = {b[1] for b in batch}
        existing = {
            _key(p, a): ln
            for p, a, ln in (
                await s.execute(
                    select(Contact.phone, Contact.application_id, Contact.source_line).where(
                        Contact.campaign_id == campaign_id, Contact.phone.in_(phones)
                    )
                )
            ).all()
        }
        dnc = set((await s.execute(select(DoNotCall.phone).where(DoNotCall.phone.in_(phones)))).scalars())
        values = []
        for line, phone, app_no, nm, _d in batch:
            key = _key(phone, apps[app_no])
            if key in existing:
                first = existing[key]
                where = f" (line {first})" if first else ""
                report.rejected.append(
                    RejectedRow(
                        line=line, reason=f"duplicate: {phone} for application {app_no} already listed{where}"
                    )
                )
                continue
            existing[key] = line
            on_dnc = phone in dnc
            report.dnc += on_dnc
            values.append(
                {
                    "campaign_id": campaign_id,
                    "application_id": apps[app_no],
                    "phone": phone,
                    "name": nm or None,
                    "state": ContactState.DNC if on_dnc else ContactState.PENDING,
                    "priority": 5,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "needs_reserved_agent": False,
                    "source_line": line,
                    "created_at": now,
                }
            )
        if values:
            await s.execute(insert(Contact), values)
        report.accepted += len(values)
        await s.commit()


async def campaign_status(sessions: Sessions, name: str, now: datetime | None = None) -> CampaignStatus:
    now = now or utcnow()
    async with sessions() as s:
        camp = await get_campaign(s, name)
        by_state: dict[str, int] = dict(
            (
                await s.execute(
                    select(Contact.state, func.count())
                    .where(Contact.campaign_id == camp.id)
                    .group_by(Contact.state)
                )
            )
            .tuples()
            .all()
        )
        by_outcome: dict[str | None, int] = dict(
            (
                await s.execute(
                    select(CallAttempt.outcome, func.count())
                    .where(CallAttempt.campaign_id == camp.id, CallAttempt.outcome.is_not(None))
                    .group_by(CallAttempt.outcome)
                )
            )
            .tuples()
            .all()
        )
        in_flight = (
            await s.execute(
                select(func.count()).where(CallAttempt.campaign_id == camp.id, CallAttempt.ended_at.is_(None))
            )
        ).scalar_one()
        since = day_start_utc(now, camp.timezone)
        today: dict[str | None, int] = dict(
            (
                await s.execute(
                    select(CallAttempt.outcome, func.count())
                    .where(
                        and_(
                            CallAttempt.campaign_id == camp.id,
                            CallAttempt.originated_at >= since,
                            CallAttempt.outcome.in_(LIVE_OUTCOMES),
                        )
                    )
                    .group_by(CallAttempt.outcome)
                )
            )
            .tuples()
            .all()
        )
    total = sum(by_state.values())
    answered = sum(today.values())
    abandoned = today.get("abandoned", 0)
    final = sum(by_state.get(st, 0) for st in FINAL_CONTACT_STATES)
    return CampaignStatus(
        name=camp.name,
        state=camp.state,
        mode=camp.pacing_mode,
        weight=camp.weight,
        max_attempts=camp.max_attempts,
        abandon_cap=camp.abandon_cap,
        contacts_total=total,
        contacts_by_state={str(k): int(v) for k, v in by_state.items()},
        attempts_by_outcome={str(k): int(v) for k, v in by_outcome.items()},
        calls_in_flight=int(in_flight),
        answered_today=answered,
        abandoned_today=abandoned,
        abandon_rate_today=(abandoned / answered) if answered else 0.0,
        progress=(final / total) if total else 0.0,
        created_at=camp.created_at,
        started_at=camp.started_at,
        finished_at=camp.finished_at,
    )


async def list_campaigns(sessions: Sessions) -> list[Campaign]:
    async with sessions() as s:
        return list((await s.execute(select(Campaign).order_by(Campaign.id))).scalars())


async def add_dnc(
    sessions: Sessions, phones: Iterable[str], *, actor: str, reason: str | None, region: str
) -> int:
    """Put numbers on the do-not-call list; pending contacts with them are withdrawn at once."""
    added = 0
    async with sessions() as s:
        for raw in phones:
            p = normalize(raw, region)
            if await s.get(DoNotCall, p) is None:
                s.add(DoNotCall(phone=p, reason=reason, added_by=actor))
                added += 1
            await s.execute(
                update(Contact)
                .where(Contact.phone == p, Contact.state == ContactState.PENDING)
                .values(state=ContactState.DNC)
            )
        await audit(s, actor, "dnc.add", None, count=added, reason=reason)
        await s.commit()
    return added
