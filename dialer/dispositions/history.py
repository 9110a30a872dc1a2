"""Call attempts and dispositions as people look for them: filtered by campaign, day, outcome and agent,
a page at a time, or all of them streamed for a CSV export (never loaded into memory at once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from dialer.db.models import Agent, Application, CallAttempt, Campaign, Contact, Disposition
from dialer.db.paging import fetch_page

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Filter:
    campaign: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    outcome: str | None = None  # attempts: the call's outcome; dispositions: the kind
    agent: str | None = None  # extension
    agent_id: int | None = None  # restrict to one agent's own calls (an agent's view)


def day_range(
    date_from: date | None, date_to: date | None, tz: str
) -> tuple[datetime | None, datetime | None]:
    """[start of date_from, start of the day after date_to) in UTC, the days being local to ``tz``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(date_from, time(0), zone).astimezone(UTC) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(0), zone).astimezone(UTC) if date_to else None
    return start, end


class AttemptRow(BaseModel):
    id: int
    campaign: str | None
    contact_id: int | None
    phone: str
    agent: str | None
    state: str
    outcome: str | None
    hangup_cause: int | None
    amd_status: str | None
    created_at: datetime
    originated_at: datetime | None
    answered_at: datetime | None
    bridged_at: datetime | None
    ended_at: datetime | None
    ring_seconds: float | None
    wait_seconds: float | None
    talk_seconds: float | None
    application_number: str | None
    applicant_name: str | None
    disposition: str | None


class DispositionRow(BaseModel):
    id: int
    attempt_id: int | None
    campaign: str | None
    phone: str | None
    agent: str | None
    kind: str
    appointment_at: datetime | None
    pickup_office: str | None
    route: str | None
    callback_at: datetime | None
    callback_same_agent: bool
    notes: str | None
    created_at: datetime
    application_number: str | None
    applicant_name: str | None


def _attempts(f: Filter, tz: str) -> Select[Any]:
    disp = (
        select(Disposition.attempt_id, func.min(Disposition.kind).label("kind"))
        .group_by(Disposition.attempt_id)
        .subquery()
    )
    q = (
        select(
            CallAttempt,
            Campaign.name,
            Agent.extension,
            Application.number,
            Application.applicant_name,
            disp.c.kind,
        )
        .outerjoin(Campaign, Campaign.id == CallAttempt.campaign_id)
        .outerjoin(Agent, Agent.id == CallAttempt.agent_id)
        .outerjoin(Contact, Contact.id == CallAttempt.contact_id)
        .outerjoin(Application, Application.id == Contact.application_id)
        .outerjoin(disp, disp.c.attempt_id == CallAttempt.id)
    )
    start, end = day_range(f.date_from, f.date_to, tz)
    if f.campaign is not None:
        q = q.where(Campaign.name == f.campaign)
    if start is not None:
        q = q.where(CallAttempt.created_at >= start)
    if end is not None:
        q = q.where(CallAttempt.created_at < end)
    if f.outcome is not None:
        q = q.where(CallAttempt.outcome == f.outcome)
    if f.agent is not None:
        q = q.where(Agent.extension == f.agent)
    if f.agent_id is not None:
        q = q.where(CallAttempt.agent_id == f.agent_id)
    return q


def _attempt_row(row: Any) -> AttemptRow:
    a, camp, ext, app_no, app_name, kind = row
    return AttemptRow(
        id=a.id,
        campaign=camp,
        contact_id=a.contact_id,
        phone=a.phone,
        agent=ext,
        state=a.state,
        outcome=a.outcome,
        hangup_cause=a.hangup_cause,
        amd_status=a.amd_status,
        created_at=a.created_at,
        originated_at=a.originated_at,
        answered_at=a.answered_at,
        bridged_at=a.bridged_at,
        ended_at=a.ended_at,
        ring_seconds=a.ring_seconds,
        wait_seconds=a.wait_seconds,
        talk_seconds=a.talk_seconds,
        application_number=app_no,
        applicant_name=app_name,
        disposition=kind,
    )


def _dispositions(f: Filter, tz: str) -> Select[Any]:
    attempt = aliased(CallAttempt)
    q = (
        select(
            Disposition,
            Campaign.name,
            attempt.phone,
            Agent.extension,
            Application.number,
            Application.applicant_name,
        )
        .outerjoin(attempt, attempt.id == Disposition.attempt_id)
        .outerjoin(Campaign, Campaign.id == attempt.campaign_id)
        .outerjoin(Agent, Agent.id == Disposition.agent_id)
        .outerjoin(Contact, Contact.id == Disposition.contact_id)
        .outerjoin(Application, Application.id == Contact.application_id)
    )
    start, end = day_range(f.date_from, f.date_to, tz)
    if f.campaign is not None:
        q = q.where(Campaign.name == f.campaign)
    if start is not None:
        q = q.where(Disposition.created_at >= start)
    if end is not None:
        q = q.where(Disposition.created_at < end)
    if f.outcome is not None:
        q = q.where(Disposition.kind == f.outcome)
    if f.agent is not None:
        q = q.where(Agent.extension == f.agent)
    if f.agent_id is not None:
        q = q.where(Disposition.agent_id == f.agent_id)
    return q


def _disposition_row(row: Any) -> DispositionRow:
    d, camp, phone, ext, app_no, app_name = row
    return DispositionRow(
        id=d.id,
        attempt_id=d.attempt_id,
        campaign=camp,
        phone=phone,
        agent=ext,
        kind=d.kind,
        appointment_at=d.appointment_at,
        pickup_office=d.pickup_office,
        route=d.route,
        callback_at=d.callback_at,
        callback_same_agent=d.callback_same_agent,
        notes=d.notes,
        created_at=d.created_at,
        application_number=app_no,
        applicant_name=app_name,
    )


async def _page(
    sessions: Sessions, q: Select[Any], order: Any, page: int, per_page: int
) -> tuple[list[Any], int]:
    async with sessions() as s:
        return await fetch_page(s, q, order, page, per_page)


async def list_attempts(
    sessions: Sessions, f: Filter, tz: str, page: int = 1, per_page: int = 50
) -> tuple[list[AttemptRow], int]:
    rows, total = await _page(sessions, _attempts(f, tz), CallAttempt.id.desc(), page, per_page)
    return [_attempt_row(r) for r in rows], total


async def list_dispositions(
    sessions: Sessions, f: Filter, tz: str, page: int = 1, per_page: int = 50
) -> tuple[list[DispositionRow], int]:
    rows, total = await _page(sessions, _dispositions(f, tz), Disposition.id.desc(), page, per_page)
    return [_disposition_row(r) for r in rows], total


async def iter_attempts(sessions: Sessions, f: Filter, tz: str) -> AsyncIterator[AttemptRow]:
    async with sessions() as s:
        result = await s.stream(_attempts(f, tz).order_by(CallAttempt.id).execution_options(yield_per=1000))
        async for row in result:
            yield _attempt_row(row)


async def iter_dispositions(sessions: Sessions, f: Filter, tz: str) -> AsyncIterator[DispositionRow]:
    async with sessions() as s:
        result = await s.stream(
            _dispositions(f, tz).order_by(Disposition.id).execution_options(yield_per=1000)
        )
        async for row in result:
            yield _disposition_row(row)
