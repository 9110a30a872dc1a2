"""Agent endpoints for admins: the board, one agent, pause/unpause with a reason, log out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from dialer.agents import services as agents
from dialer.db.models import Agent, AgentPresence
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.schemas import Model, Text


class ExtParam(Model):
    extension: str = Field(pattern=r"^[0-9]{1,32}$")


class PauseIn(Model):
    reason: Text = Field("break", min_length=1, max_length=100)


class AgentOut(BaseModel):
    extension: str
    name: str
    presence: str
    state: str
    pause_reason: str | None
    since: datetime
    registered: bool
    device_state: str | None


class AgentList(BaseModel):
    items: list[AgentOut]


def agent_out(a: Agent) -> AgentOut:
    return AgentOut(
        extension=a.extension,
        name=a.name,
        presence=a.presence,
        state=a.state,
        pause_reason=a.pause_reason,
        since=a.state_since,
        registered=a.registered,
        device_state=a.device_state,
    )


@API.route(
    "GET",
    "/agents",
    summary="All agents with presence and live state",
    tag="agents",
    roles=ADMIN,
    response=AgentList,
)
async def list_agents(call: ApiRequest) -> AgentList:
    return AgentList(items=[agent_out(a) for a in await agents.list_agents(call.service.sessions)])


@API.route(
    "GET",
    "/agents/{extension}",
    summary="One agent",
    tag="agents",
    roles=ADMIN,
    path_model=ExtParam,
    response=AgentOut,
)
async def get_agent(call: ApiRequest) -> AgentOut:
    async with call.service.sessions() as s:
        return agent_out(await agents.get_agent(s, call.path.extension))


@API.route(
    "POST",
    "/agents/{extension}/pause",
    summary="Pause an agent (after the current call)",
    tag="agents",
    roles=ADMIN,
    path_model=ExtParam,
    body=PauseIn,
    response=AgentOut,
)
async def pause_agent(call: ApiRequest) -> AgentOut:
    a = await agents.set_presence(
        call.service.sessions,
        call.path.extension,
        AgentPresence.PAUSED,
        actor=call.actor,
        reason=call.body.reason,
    )
    return agent_out(a)


@API.route(
    "POST",
    "/agents/{extension}/unpause",
    summary="Make a paused agent ready again",
    tag="agents",
    roles=ADMIN,
    path_model=ExtParam,
    response=AgentOut,
)
async def unpause_agent(call: ApiRequest) -> AgentOut:
    a = await agents.set_presence(
        call.service.sessions, call.path.extension, AgentPresence.READY, actor=call.actor
    )
    return agent_out(a)


@API.route(
    "POST",
    "/agents/{extension}/logout",
    summary="Log an agent out (after the current call)",
    tag="agents",
    roles=ADMIN,
    path_model=ExtParam,
    response=AgentOut,
)
async def logout_agent(call: ApiRequest) -> AgentOut:
    a = await agents.set_presence(
        call.service.sessions, call.path.extension, AgentPresence.LOGGED_OUT, actor=call.actor
    )
    return agent_out(a)
