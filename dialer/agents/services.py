"""Agent presence (log in, ready, pause, log out) as agents and admins ask for it.

The engine owns the live call state (ringing/talking/wrap-up) and reads presence from here; an agent on
a call who pauses or logs out does so when the call and its wrap-up end.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auditlog import audit
from dialer.db.models import Agent, AgentCampaign, AgentPresence, Campaign
from dialer.db.types import utcnow
from dialer.errors import NotFound, ServiceError

Sessions = async_sessionmaker[AsyncSession]


async def get_agent(session: AsyncSession, extension: str) -> Agent:
    agent = (await session.execute(select(Agent).where(Agent.extension == extension))).scalar_one_or_none()
    if agent is None:
        raise NotFound(f"no agent with extension {extension!r}", field="extension")
    return agent


async def ensure_agent(sessions: Sessions, extension: str, name: str | None = None) -> Agent:
    if not extension.isdigit() or len(extension) > 32:
        raise ServiceError(f"agent extension must be digits, got {extension!r}", field="extension")
    async with sessions() as s:
        agent = (await s.execute(select(Agent).where(Agent.extension == extension))).scalar_one_or_none()
        if agent is None:
            agent = Agent(extension=extension, name=name or f"Agent {extension}")
            s.add(agent)
        elif name:
            agent.name = name
        await s.commit()
        return agent


async def set_presence(
    sessions: Sessions,
    extension: str,
    presence: AgentPresence,
    *,
    actor: str,
    reason: str | None = None,
    campaigns: list[str] | None = None,
) -> Agent:
    async with sessions() as s:
        agent = await get_agent(s, extension)
        agent.presence = presence
        agent.pause_reason = reason if presence == AgentPresence.PAUSED else None
        agent.state_since = utcnow()
        if campaigns is not None:
            ids = []
            for name in campaigns:
                camp = (await s.execute(select(Campaign).where(Campaign.name == name))).scalar_one_or_none()
                if camp is None:
                    raise NotFound(f"no campaign named {name!r}", field="campaigns")
                ids.append(camp.id)
            for link in (
                await s.execute(select(AgentCampaign).where(AgentCampaign.agent_id == agent.id))
            ).scalars():
                await s.delete(link)
            for cid in ids:
                s.add(AgentCampaign(agent_id=agent.id, campaign_id=cid))
        await audit(s, actor, f"agent.{presence}", extension, reason=reason)
        await s.commit()
        return agent


async def list_agents(sessions: Sessions) -> list[Agent]:
    async with sessions() as s:
        return list((await s.execute(select(Agent).order_by(Agent.extension))).scalars())
