"""What the engine loads about running campaigns and agents each second, and writes back: campaign settings
as the engine runs them, agents' live states, a day's counters, and the verdict that a campaign is done."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.db.models import Agent, AgentCampaign, CallAttempt, Campaign, CampaignState, Contact, ContactState
from dialer.engine.window import CallingWindow, day_start_utc

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class CampaignRuntime:
    """A campaign's settings as the engine runs them; ``load_campaigns`` fills each field from the row's
    column of the same name (the settings declared in ``dialer.campaigns.settings``), but the few shaped
    there."""

    id: int
    name: str
    state: str
    caller_id: str
    mode: str
    params: dict[str, Any]
    max_attempts: int
    retry_delays: dict[str, int]
    abandon_cap: float
    window: CallingWindow
    timezone: str
    weight: int
    ring_timeout: int
    wrapup_seconds: int
    amd: bool


async def load_campaigns(
    sessions: Sessions, default_window: dict[str, Any], default_tz: str
) -> list[CampaignRuntime]:
    async with sessions() as s:
        rows = (
            await s.execute(
                select(Campaign).where(Campaign.state.in_((CampaignState.RUNNING, CampaignState.PAUSED)))
            )
        ).scalars()
        out = []
        for c in rows:
            win = c.window or default_window
            tz = c.timezone or default_tz
            shaped: dict[str, Any] = {  # the settings the engine runs in another shape than the row's
                "mode": c.pacing_mode,
                "params": dict(c.pacing_params or {}),
                "retry_delays": dict(c.retry_delays or {}),
                "window": CallingWindow.build(
                    tz, win.get("hours") or default_window["hours"], campaign_holidays(win, default_window)
                ),
                "timezone": tz,
                "ring_timeout": max(15, c.ring_timeout),
            }
            # every other field is the row's column of that name: a setting the engine runs is a field here
            same = {f.name: getattr(c, f.name) for f in fields(CampaignRuntime) if f.name not in shaped}
            out.append(CampaignRuntime(**same, **shaped))
        return out


def campaign_holidays(window: dict[str, Any], service_window: dict[str, Any]) -> list[str]:
    """A campaign's own holidays plus the service-wide ones, unless the campaign says otherwise."""
    own = [str(d) for d in window.get("holidays") or []]
    if window is service_window or window.get("service_holidays", True) is False:
        return own
    return sorted(set(own) | {str(d) for d in service_window.get("holidays") or []})


async def load_agents(sessions: Sessions) -> list[tuple[int, str, str, str, str | None, frozenset[int]]]:
    async with sessions() as s:
        links: dict[int, set[int]] = {}
        for agent_id, campaign_id in (
            await s.execute(select(AgentCampaign.agent_id, AgentCampaign.campaign_id))
        ).all():
            links.setdefault(agent_id, set()).add(campaign_id)
        rows = (
            await s.execute(select(Agent.id, Agent.extension, Agent.name, Agent.presence, Agent.pause_reason))
        ).all()
        return [(i, e, n, p, r, frozenset(links.get(i, ()))) for i, e, n, p, r in rows]


async def flush_agents(sessions: Sessions, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    async with sessions() as s:
        for r in rows:
            await s.execute(update(Agent).where(Agent.extension == r.pop("extension")).values(**r))
        await s.commit()


async def today_counts(sessions: Sessions, camp: CampaignRuntime, now: datetime) -> tuple[int, int]:
    """(live answered, abandoned) today in the campaign's time zone — the base of the abandon rate."""
    since = day_start_utc(now, camp.timezone)
    async with sessions() as s:
        rows = dict(
            (
                await s.execute(
                    select(CallAttempt.outcome, func.count())
                    .where(
                        and_(
                            CallAttempt.campaign_id == camp.id,
                            CallAttempt.originated_at >= since,
                            CallAttempt.outcome.in_(("connected", "abandoned")),
                        )
                    )
                    .group_by(CallAttempt.outcome)
                )
            )
            .tuples()
            .all()
        )
    return sum(rows.values()), rows.get("abandoned", 0)


async def complete_finished_campaigns(sessions: Sessions, now: datetime) -> list[str]:
    """A running campaign with nothing left that could ever be called, and nothing in flight, is completed."""
    done = []
    async with sessions() as s:
        running = (
            (await s.execute(select(Campaign).where(Campaign.state == CampaignState.RUNNING))).scalars().all()
        )
        for c in running:
            # one row is enough to know (a count would scan a million pending contacts every second)
            open_contact = (
                await s.execute(
                    select(Contact.id)
                    .where(
                        Contact.campaign_id == c.id,
                        or_(
                            and_(Contact.state == ContactState.PENDING, Contact.attempts < c.max_attempts),
                            Contact.state == ContactState.DIALING,
                        ),
                    )
                    .limit(1)
                )
            ).first()
            if open_contact is not None:
                continue
            live = (
                await s.execute(
                    select(func.count()).where(
                        CallAttempt.campaign_id == c.id, CallAttempt.ended_at.is_(None)
                    )
                )
            ).scalar_one()
            if live:
                continue
            c.state = CampaignState.COMPLETED
            c.finished_at = now
            done.append(c.name)
        await s.commit()
    return done
