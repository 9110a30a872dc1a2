"""Report endpoints (hourly outcomes of a day, period summary) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from dialer.db.models import AuditLog
from dialer.db.paging import fetch_page
from dialer.db.types import utcnow
from dialer.dispositions import reports
from dialer.dispositions.reports import HourlyReport, SummaryReport
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.schemas import Day, Model, Page, PageQuery, Text


class HourlyQuery(Model):
    day: Day | None = Field(None, description="YYYY-MM-DD, local; default today")
    campaign: Text | None = Field(None, max_length=100)


class SummaryQuery(Model):
    date_from: Day | None = Field(None, description="default today")
    date_to: Day | None = Field(None, description="default date_from")
    campaign: Text | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _order(self) -> SummaryQuery:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to: must not be before date_from")
        return self


class AuditQuery(PageQuery):
    action: Text | None = Field(None, max_length=64, description="e.g. campaign.start")
    actor: Text | None = Field(None, max_length=100)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


def _today(call: ApiRequest) -> Any:
    return utcnow().astimezone(call.service.settings.tz).date()


@API.route(
    "GET",
    "/reports/hourly",
    summary="Outcomes per hour of a day",
    tag="reports",
    roles=ADMIN,
    query=HourlyQuery,
    response=HourlyReport,
)
async def hourly_report(call: ApiRequest) -> HourlyReport:
    q = call.query
    return await reports.hourly(
        call.service.sessions, q.day or _today(call), call.service.settings.timezone, q.campaign
    )


@API.route(
    "GET",
    "/reports/summary",
    summary="Attempts, abandon rate, dispositions and agents over days",
    tag="reports",
    roles=ADMIN,
    query=SummaryQuery,
    response=SummaryReport,
)
async def summary_report(call: ApiRequest) -> SummaryReport:
    q = call.query
    start = q.date_from or (q.date_to if q.date_to and q.date_to < _today(call) else _today(call))
    end = q.date_to or start
    if end < start:
        start = end
    return await reports.summary(
        call.service.sessions, start, end, call.service.settings.timezone, q.campaign
    )


@API.route(
    "GET",
    "/audit",
    summary="Who did what, when",
    tag="audit",
    roles=ADMIN,
    query=AuditQuery,
    response=Page[AuditOut],
)
async def audit_log(call: ApiRequest) -> Page[AuditOut]:
    q = call.query
    query = select(AuditLog)
    if q.action:
        query = query.where(AuditLog.action == q.action)
    if q.actor:
        query = query.where(AuditLog.actor == q.actor)
    async with call.service.sessions() as s:
        rows, total = await fetch_page(s, query, AuditLog.id.desc(), q.page, q.per_page)
        items = [AuditOut.model_validate(r, from_attributes=True) for (r,) in rows]
    return Page[AuditOut](items=items, total=total, page=q.page, per_page=q.per_page)
