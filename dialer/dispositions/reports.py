"""Reports for the dashboard and for managers: outcomes per hour of a day, and a period summary with
per-agent figures. Days are local to the call centre's time zone, as people read them."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.db.models import Agent, CallAttempt, Campaign, Disposition
from dialer.dispositions.history import day_range

Sessions = async_sessionmaker[AsyncSession]
LIVE = ("connected", "abandoned")


class HourBucket(BaseModel):
    hour: int
    outcomes: dict[str, int]


class HourlyReport(BaseModel):
    day: date
    timezone: str
    campaign: str | None
    hours: list[HourBucket]
    outcomes: list[str]


class AgentFigures(BaseModel):
    agent: str
    calls: int
    talk_seconds: float
    dispositions: dict[str, int]


class SummaryReport(BaseModel):
    date_from: date
    date_to: date
    campaign: str | None
    attempts: int
    attempts_by_outcome: dict[str, int]
    answered: int
    abandoned: int
    abandon_rate: float
    avg_wait_seconds: float | None
    avg_talk_seconds: float | None
    dispositions_by_kind: dict[str, int]
    agents: list[AgentFigures]


async def hourly(sessions: Sessions, day: date, tz: str, campaign: str | None = None) -> HourlyReport:
    start, end = day_range(day, day, tz)
    q = select(CallAttempt.created_at, CallAttempt.outcome).where(
        CallAttempt.created_at >= start, CallAttempt.created_at < end, CallAttempt.outcome.is_not(None)
    )
    if campaign is not None:
        q = q.join(Campaign, Campaign.id == CallAttempt.campaign_id).where(Campaign.name == campaign)
    zone = ZoneInfo(tz)
    buckets: list[Counter[str]] = [Counter() for _ in range(24)]
    async with sessions() as s:
        result = await s.stream(q.execution_options(yield_per=2000))
        async for at, outcome in result:
            buckets[at.astimezone(zone).hour][str(outcome)] += 1
    outcomes = sorted({o for b in buckets for o in b})
    return HourlyReport(
        day=day,
        timezone=tz,
        campaign=campaign,
        hours=[HourBucket(hour=h, outcomes=dict(b)) for h, b in enumerate(buckets)],
        outcomes=outcomes,
    )


async def summary(
    sessions: Sessions, date_from: date, date_to: date, tz: str, campaign: str | None = None
) -> SummaryReport:
    start, end = day_range(date_from, date_to, tz)
    where = [CallAttempt.created_at >= start, CallAttempt.created_at < end]
    camp_id = None
    async with sessions() as s:
        if campaign is not None:
            camp_id = (
                await s.execute(select(Campaign.id).where(Campaign.name == campaign))
            ).scalar_one_or_none()
            where.append(CallAttempt.campaign_id == (camp_id if camp_id is not None else -1))
        by_outcome = {
            str(o): int(n)
            for o, n in (
                await s.execute(
                    select(CallAttempt.outcome, func.count()).where(*where).group_by(CallAttempt.outcome)
                )
            ).tuples()
        }
        avg_wait, avg_talk = (
            await s.execute(
                select(func.avg(CallAttempt.wait_seconds), func.avg(CallAttempt.talk_seconds)).where(*where)
            )
        ).one()
        dwhere = [Disposition.created_at >= start, Disposition.created_at < end]
        dq = select(Disposition.kind, func.count()).where(*dwhere)
        if campaign is not None:
            dq = dq.join(CallAttempt, CallAttempt.id == Disposition.attempt_id).where(
                CallAttempt.campaign_id == (camp_id if camp_id is not None else -1)
            )
        by_kind = {str(k): int(n) for k, n in (await s.execute(dq.group_by(Disposition.kind))).tuples()}
        per_agent = (
            (
                await s.execute(
                    select(
                        Agent.extension, func.count(), func.coalesce(func.sum(CallAttempt.talk_seconds), 0.0)
                    )
                    .join(Agent, Agent.id == CallAttempt.agent_id)
                    .where(*where)
                    .group_by(Agent.extension)
                    .order_by(Agent.extension)
                )
            )
            .tuples()
            .all()
        )
        agent_kinds: dict[str, dict[str, int]] = {}
        akq = (
            select(Agent.extension, Disposition.kind, func.count())
            .join(Agent, Agent.id == Disposition.agent_id)
            .where(*dwhere)
        )
        for ext, kind, n in (await s.execute(akq.group_by(Agent.extension, Disposition.kind))).tuples():
            agent_kinds.setdefault(str(ext), {})[str(kind)] = int(n)
    answered = sum(by_outcome.get(o, 0) for o in LIVE)
    abandoned = by_outcome.get("abandoned", 0)
    by_outcome.pop("None", None)
    return SummaryReport(
        date_from=date_from,
        date_to=date_to,
        campaign=campaign,
        attempts=sum(by_outcome.values()),
        attempts_by_outcome=by_outcome,
        answered=answered,
        abandoned=abandoned,
        abandon_rate=abandoned / answered if answered else 0.0,
        avg_wait_seconds=float(avg_wait) if avg_wait is not None else None,
        avg_talk_seconds=float(avg_talk) if avg_talk is not None else None,
        dispositions_by_kind=by_kind,
        agents=[
            AgentFigures(
                agent=str(ext),
                calls=int(n),
                talk_seconds=float(t or 0.0),
                dispositions=agent_kinds.get(str(ext), {}),
            )
            for ext, n, t in per_agent
        ],
    )
