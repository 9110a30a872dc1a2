"""The admin dashboard's figures: per campaign (progress, calls in flight, answered, connected,
abandoned, abandon rate against its cap, pacing level) and the agents' board.

Database figures (campaign_status, the agents table) are cached for a moment and shared by every open
dashboard, so ten admins watching cost the database what one does; the engine's live figures
(service.live_snapshot) are read fresh and win where both exist.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from dialer.agents import services as agents
from dialer.campaigns import services as campaigns
from dialer.campaigns.services import FINAL_CONTACT_STATES
from dialer.db.types import utcnow
from dialer.web import sse
from dialer.web.agents import AgentOut, agent_out
from dialer.web.api import ADMIN, API, SSE, Call

CACHE = web.AppKey("dashboard_cache", dict)
DB_TTL = 1.5
PUSH_EVERY = 1.0


class CampaignCard(BaseModel):
    name: str
    state: str
    mode: str
    contacts_total: int
    contacts_done: int
    progress: float
    calls_in_flight: int
    waiting_for_agent: int
    answered_today: int
    connected_today: int
    abandoned_today: int
    abandon_rate: float
    abandon_cap: float
    dial_level: float | None
    pacing_reason: str | None


class Dashboard(BaseModel):
    at: datetime
    ami: str
    calls_in_flight: int
    campaigns: list[CampaignCard]
    agents: list[AgentOut]
    agents_by_state: dict[str, int]


async def _db_part(call: Call) -> tuple[list[Any], list[AgentOut]]:
    cache: dict[str, Any] = call.request.app[CACHE]
    now = time.monotonic()
    if cache.get("at", -1e9) + DB_TTL > now:
        return cache["statuses"], cache["agents"]
    sessions = call.service.sessions
    statuses = [
        await campaigns.campaign_status(sessions, c.name) for c in await campaigns.list_campaigns(sessions)
    ]
    board = [agent_out(a) for a in await agents.list_agents(sessions)]
    cache.update(at=now, statuses=statuses, agents=board)
    return statuses, board


def _card(st: Any, live: dict[str, Any]) -> CampaignCard:
    done = sum(st.contacts_by_state.get(s, 0) for s in FINAL_CONTACT_STATES)
    answered = int(live.get("answered_today", st.answered_today))
    abandoned = int(live.get("abandoned_today", st.abandoned_today))
    return CampaignCard(
        name=st.name,
        state=st.state,
        mode=st.mode,
        contacts_total=st.contacts_total,
        contacts_done=done,
        progress=st.progress,
        calls_in_flight=int(live.get("in_flight", st.calls_in_flight)),
        waiting_for_agent=int(live.get("waiting_for_agent", 0)),
        answered_today=answered,
        connected_today=answered - abandoned,
        abandoned_today=abandoned,
        abandon_rate=float(live.get("abandon_rate", st.abandon_rate_today)),
        abandon_cap=float(live.get("abandon_cap", st.abandon_cap)),
        dial_level=float(live["dial_level"]) if live.get("dial_level") is not None else None,
        pacing_reason=str(live["pacing_reason"]) if live.get("pacing_reason") else None,
    )


async def build(call: Call) -> Dashboard:
    statuses, board = await _db_part(call)
    snap = call.service.live_snapshot()
    live_camps: dict[str, Any] = snap.get("campaigns") or {}
    cards = [_card(st, live_camps.get(st.name) or {}) for st in statuses]
    by_state: dict[str, int] = {}
    for a in board:
        by_state[a.state] = by_state.get(a.state, 0) + 1
    live_agents = snap.get("agents") or {}
    if live_agents:
        by_state = {str(k): int(v) for k, v in live_agents.items()}
    in_flight = snap.get("calls_in_flight")
    return Dashboard(
        at=utcnow(),
        ami=str(snap.get("ami", "unknown")),
        calls_in_flight=int(in_flight) if in_flight is not None else sum(c.calls_in_flight for c in cards),
        campaigns=cards,
        agents=board,
        agents_by_state=by_state,
    )


@API.route(
    "GET",
    "/dashboard",
    summary="Live figures for the dashboard",
    tag="dashboard",
    roles=ADMIN,
    response=Dashboard,
)
async def dashboard(call: Call) -> Dashboard:
    return await build(call)


@API.route(
    "GET",
    "/dashboard/events",
    summary="Live figures pushed about once a second (server-sent events 'dashboard')",
    tag="dashboard",
    roles=ADMIN,
    media=SSE,
)
async def dashboard_events(call: Call) -> web.StreamResponse:
    async with sse.open_stream(call.request) as out:
        while out.open:
            await out.send("dashboard", (await build(call)).model_dump(mode="json"))
            await out.sleep(PUSH_EVERY)
        return out.response


def install(app: web.Application) -> None:
    app[CACHE] = {}
