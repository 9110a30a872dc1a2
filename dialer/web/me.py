"""The agent's own endpoints: ready/pause/log out, own call history, the screen-pop event stream, and
saving a disposition (which tells the engine, over the bus, that wrap-up may end)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select, update

from dialer.agents import services as agents
from dialer.db.models import Agent, AgentPresence, Campaign
from dialer.dispositions import history
from dialer.dispositions import services as dispositions
from dialer.dispositions.history import AttemptRow
from dialer.dispositions.schemas import DispositionIn, DispositionOut
from dialer.engine.notifier import Notifier
from dialer.web import i18n, sse
from dialer.web.agents import AgentOut, PauseIn, agent_out
from dialer.web.api import AGENT, ANYONE, API, SSE, ApiRequest
from dialer.web.calls import tracker
from dialer.web.errors import ApiError
from dialer.web.models import User
from dialer.web.schemas import IdParam, Model, Ok, Page, PageQuery


class MeOut(BaseModel):
    username: str
    role: str
    extension: str | None
    language: str
    agent: AgentOut | None


class LanguageIn(Model):
    language: Literal["ru", "en"]


async def _language(call: ApiRequest) -> str:
    async with call.service.sessions() as s:
        found = (await s.execute(select(User.language).where(User.id == call.user.user_id))).scalar()
    return i18n.normalise(found)


def _ext(call: ApiRequest) -> str:
    ext = call.user.extension
    if ext is None:
        raise ApiError(409, "this user is not linked to an agent extension", "extension")
    return ext


async def _agent(call: ApiRequest) -> Agent | None:
    if call.user.extension is None:
        return None
    async with call.service.sessions() as s:
        return await agents.get_agent(s, call.user.extension)


@API.route("GET", "/me", summary="Who I am (and my agent state)", tag="me", roles=ANYONE, response=MeOut)
async def me(call: ApiRequest) -> MeOut:
    a = await _agent(call)
    return MeOut(
        username=call.user.username,
        role=str(call.user.role),
        extension=call.user.extension,
        language=await _language(call),
        agent=agent_out(a) if a else None,
    )


@API.route(
    "PUT",
    "/me/language",
    summary="My web interface's language (ru or en)",
    tag="me",
    roles=ANYONE,
    body=LanguageIn,
    response=Ok,
)
async def me_language(call: ApiRequest) -> Ok:
    async with call.service.sessions() as s:
        await s.execute(update(User).where(User.id == call.user.user_id).values(language=call.body.language))
        await s.commit()
    return Ok(message=f"language: {call.body.language}")


def shown_state(a: Agent) -> dict[str, Any]:
    """The agent's state as the page shows it: the engine's live state while the agent is ready (a
    logged-out live state means no engine has seen them yet: their presence then), else their presence."""
    state = a.state if a.presence == AgentPresence.READY and a.state != "logged_out" else a.presence
    return {
        "agent": a.extension,
        "state": str(state),
        "pause_reason": a.pause_reason,
        "since": a.state_since.isoformat(),
    }


async def _presence(call: ApiRequest, presence: AgentPresence, reason: str | None = None) -> AgentOut:
    a = await agents.set_presence(
        call.service.sessions, _ext(call), presence, actor=call.actor, reason=reason
    )
    return agent_out(a)


@API.route("POST", "/me/ready", summary="Ready for calls", tag="me", roles=AGENT, response=AgentOut)
async def me_ready(call: ApiRequest) -> AgentOut:
    return await _presence(call, AgentPresence.READY)


@API.route(
    "POST", "/me/pause", summary="Pause with a reason", tag="me", roles=AGENT, body=PauseIn, response=AgentOut
)
async def me_pause(call: ApiRequest) -> AgentOut:
    return await _presence(call, AgentPresence.PAUSED, call.body.reason)


@API.route(
    "POST", "/me/logout", summary="Stop taking calls (logged out)", tag="me", roles=AGENT, response=AgentOut
)
async def me_logout(call: ApiRequest) -> AgentOut:
    return await _presence(call, AgentPresence.LOGGED_OUT)


@API.route(
    "GET",
    "/me/calls",
    summary="My call history",
    tag="me",
    roles=AGENT,
    query=PageQuery,
    response=Page[AttemptRow],
)
async def my_calls(call: ApiRequest) -> Page[AttemptRow]:
    if call.user.agent_id is None:
        raise ApiError(409, "this user is not linked to an agent extension", "extension")
    q = call.query
    f = history.Filter(agent_id=call.user.agent_id)
    items, total = await history.list_attempts(
        call.service.sessions, f, call.service.settings.timezone, q.page, q.per_page
    )
    return Page[AttemptRow](items=items, total=total, page=q.page, per_page=q.per_page)


async def _wrapup_seconds(call: ApiRequest, campaign: Any) -> int | None:
    if not campaign:
        return None
    async with call.service.sessions() as s:
        found = (
            await s.execute(select(Campaign.wrapup_seconds).where(Campaign.name == str(campaign)))
        ).scalar()
        return int(found) if found is not None else None


@API.route(
    "GET",
    "/me/events",
    summary="My screen pops and state (server-sent events)",
    tag="me",
    roles=AGENT,
    media=SSE,
    events=(("call", None), ("ended", None), ("state", None), ("saved", None)),
)
async def my_events(call: ApiRequest) -> web.StreamResponse:
    """Events: ``call`` (a customer was just connected to me: the screen pop), ``ended`` (the customer hung
    up: wrap-up runs, with ``wrapup_seconds``), ``state`` (my agent state), ``saved`` (disposition stored)."""
    ext = _ext(call)
    async with call.service.bus.subscribe() as q, sse.open_stream(call.request) as out:
        # first the state as it is now: a page that was disconnected may have missed changes
        a = await _agent(call)
        if a is not None:
            await out.send("state", shown_state(a))
        pending = tracker(call.request.app).pending(ext)
        if pending is not None:
            await out.send("call", pending)
        while out.open:
            ev = await out.get(q)
            if ev is None or str(ev.get("agent")) != ext:
                continue
            kind = ev.get("type")
            if kind == "call.bridged":
                await out.send("call", ev)
            elif kind == "call.ended":
                await out.send(
                    "ended", {**ev, "wrapup_seconds": await _wrapup_seconds(call, ev.get("campaign"))}
                )
            elif kind == "agent.state":
                await out.send("state", ev)
            elif kind == "disposition.saved":
                await out.send("saved", ev)
        return out.response


@API.route(
    "POST",
    "/attempts/{id}/disposition",
    summary="Save the disposition of a call",
    tag="dispositions",
    roles=ANYONE,
    path_model=IdParam,
    body=DispositionIn,
    response=DispositionOut,
    status=201,
)
async def save_disposition(call: ApiRequest) -> DispositionOut:
    """An agent may dispose only of their own calls. The contact moves on at once (see
    dialer.dispositions.services), which also tells the engine to end the agent's wrap-up."""
    agent_id = None if call.user.is_admin else call.user.agent_id
    if not call.user.is_admin and agent_id is None:
        raise ApiError(409, "this user is not linked to an agent extension", "extension")
    saved = await dispositions.record(
        call.service.sessions,
        call.path.id,
        call.body,
        actor=call.actor,
        agent_id=agent_id,
        region=call.service.settings.outbound.default_region,
        notifier=Notifier(call.service.bus),
    )
    d = saved.disposition
    return DispositionOut(
        id=d.id,
        attempt_id=d.attempt_id,
        contact_id=d.contact_id,
        agent=saved.agent_extension,
        campaign=saved.campaign,
        phone=saved.phone,
        kind=d.kind,
        appointment_at=d.appointment_at,
        pickup_office=d.pickup_office,
        route=d.route,
        callback_at=d.callback_at,
        callback_same_agent=d.callback_same_agent,
        notes=d.notes,
        created_at=d.created_at,
        contact_state=saved.contact_state,
    )
