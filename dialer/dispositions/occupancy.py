"""Agents' occupancy: the share of their logged-in time spent talking, the figure a call-centre manager
runs a predictive dialer for (a progressive dialer leaves agents idle between calls; pacing raises it).

- **today**: talk time since local midnight / logged-in time since local midnight (paused counts as
  logged in: the agent is at work, and pauses are part of what occupancy shows).
- **now**: agents talking now / agents logged in now.

Per campaign, the talk is that campaign's calls and the logged-in time is that of the agents allowed to
take its calls (all agents unless they are limited to some campaigns), so when every agent takes every
campaign's calls the campaigns' figures add up to the total.

Logged-in time comes from the presence changes in the audit log (every log-in, pause and log-out goes
through ``agents.services.set_presence``, which records it); talk time from the call attempts (bridged to
an agent until the hang-up, or until now for a call still going on). The interval arithmetic is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.db.models import Agent, AgentCampaign, AgentPresence, AuditLog, CallAttempt

Sessions = async_sessionmaker[AsyncSession]
PRESENCE_ACTIONS = tuple(f"agent.{p}" for p in AgentPresence)
LOGGED_OUT_ACTION = f"agent.{AgentPresence.LOGGED_OUT}"


class Occupancy(BaseModel):
    today: float | None  # None: nobody was logged in today
    talk_seconds_today: float
    logged_in_seconds_today: float
    now: float | None  # None: nobody is logged in now
    talking_now: int
    logged_in_now: int


def logged_in_seconds(
    was_in: bool, changes: Iterable[tuple[datetime, bool]], start: datetime, end: datetime
) -> float:
    """Seconds logged in within [start, end): ``was_in`` is the state at ``start``, ``changes`` are
    (instant, logged in after it) in time order."""
    total = 0.0
    since = start if was_in else None
    for at, logged_in in changes:
        at = min(max(at, start), end)
        if logged_in and since is None:
            since = at
        elif not logged_in and since is not None:
            total += (at - since).total_seconds()
            since = None
    if since is not None:
        total += (end - since).total_seconds()
    return total


def talk_overlap(bridged: datetime, ended: datetime, start: datetime, end: datetime) -> float:
    """Seconds of a call's talk [bridged, ended) inside [start, end)."""
    return max(0.0, (min(ended, end) - max(bridged, start)).total_seconds())


def ratio(part: float, whole: float) -> float | None:
    return min(1.0, part / whole) if whole > 0 else None


@dataclass(frozen=True)
class Call:
    agent_id: int
    campaign_id: int | None
    bridged: datetime
    ended: datetime | None  # None: still talking


@dataclass(frozen=True)
class Day:
    """What occupancy is computed from: per agent the logged-in seconds in [start, now] and whether the
    agent is logged in now; the calls talked in that span; which campaigns each agent may take."""

    start: datetime
    now: datetime
    logged_in: dict[int, float]
    in_now: frozenset[int]
    calls: Sequence[Call]
    allowed: dict[int, frozenset[int]]  # agent -> campaigns; empty = all

    def figures(self, campaign_id: int | None = None) -> Occupancy:
        """For one campaign, or for the whole centre (None)."""

        def mine(agent: int) -> bool:
            allowed = self.allowed.get(agent, frozenset())
            return campaign_id is None or not allowed or campaign_id in allowed

        calls = [c for c in self.calls if campaign_id is None or c.campaign_id == campaign_id]
        talk = sum(talk_overlap(c.bridged, c.ended or self.now, self.start, self.now) for c in calls)
        logged = sum(s for a, s in self.logged_in.items() if mine(a))
        talking_now = len({c.agent_id for c in calls if c.ended is None})
        in_now = sum(1 for a in self.in_now if mine(a))
        return Occupancy(
            today=ratio(talk, logged),
            talk_seconds_today=round(talk, 1),
            logged_in_seconds_today=round(logged, 1),
            now=ratio(talking_now, in_now),
            talking_now=talking_now,
            logged_in_now=in_now,
        )


async def load_day(sessions: Sessions, start: datetime, now: datetime) -> Day:
    """Read the presence changes, agents and calls of [start, now] (a handful of indexed queries)."""
    async with sessions() as s:
        agents = {
            str(ext): (aid, presence)
            for aid, ext, presence in (
                await s.execute(select(Agent.id, Agent.extension, Agent.presence))
            ).tuples()
        }
        last_before = (
            select(AuditLog.target, func.max(AuditLog.at).label("at"))
            .where(AuditLog.action.in_(PRESENCE_ACTIONS), AuditLog.at < start)
            .group_by(AuditLog.target)
            .subquery()
        )
        at_start = {
            str(t): a != LOGGED_OUT_ACTION
            for t, a in (
                await s.execute(
                    select(AuditLog.target, AuditLog.action).join(
                        last_before,
                        and_(AuditLog.target == last_before.c.target, AuditLog.at == last_before.c.at),
                    )
                )
            ).tuples()
        }
        changes: dict[str, list[tuple[datetime, bool]]] = {}
        for target, action, at in (
            await s.execute(
                select(AuditLog.target, AuditLog.action, AuditLog.at)
                .where(AuditLog.action.in_(PRESENCE_ACTIONS), AuditLog.at >= start, AuditLog.at <= now)
                .order_by(AuditLog.at, AuditLog.id)
            )
        ).tuples():
            changes.setdefault(str(target), []).append((at, action != LOGGED_OUT_ACTION))
        rows = (
            await s.execute(
                select(
                    CallAttempt.agent_id,
                    CallAttempt.campaign_id,
                    CallAttempt.bridged_at,
                    CallAttempt.talk_seconds,
                    CallAttempt.ended_at,
                ).where(
                    CallAttempt.agent_id.is_not(None),
                    CallAttempt.bridged_at.is_not(None),
                    CallAttempt.bridged_at <= now,
                    or_(CallAttempt.ended_at.is_(None), CallAttempt.ended_at >= start),
                )
            )
        ).tuples()
        calls = []
        for agent_id, campaign_id, bridged, talk, ended in rows:
            assert agent_id is not None and bridged is not None
            # the talk ends at the hang-up (talk_seconds after the bridge); ended_at may lag it a little
            end = bridged + timedelta(seconds=talk) if ended is not None and talk is not None else ended
            calls.append(Call(agent_id, campaign_id, bridged, end))
        allowed: dict[int, set[int]] = {}
        for agent_id, campaign_id in (
            await s.execute(select(AgentCampaign.agent_id, AgentCampaign.campaign_id))
        ).tuples():
            allowed.setdefault(agent_id, set()).add(campaign_id)
    logged_in = {
        aid: logged_in_seconds(at_start.get(ext, False), changes.get(ext, []), start, now)
        for ext, (aid, _presence) in agents.items()
    }
    in_now = frozenset(aid for aid, presence in agents.values() if presence != AgentPresence.LOGGED_OUT)
    return Day(
        start=start,
        now=now,
        logged_in=logged_in,
        in_now=in_now,
        calls=calls,
        allowed={a: frozenset(c) for a, c in allowed.items()},
    )
