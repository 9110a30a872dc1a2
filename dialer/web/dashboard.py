"""The admin dashboard's figures: per campaign (progress, calls in flight, answered, connected,
abandoned, abandon rate against its cap, pacing level, what it is doing or why it waits, agents'
occupancy), the centre's occupancy, and the agents' board.

The figures are computed once per interval by one task and shared by every open dashboard: 200 admins
watching cost the database and the CPU what one does (a computation is a handful of grouped queries on
indexed columns, whatever the number of campaigns). The engine's live figures (service.live_snapshot) are
read at each computation and win where both exist. Each version is serialised once and the same bytes
are written to every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select

from dialer.agents import services as agents
from dialer.campaigns import activity as activities
from dialer.campaigns.services import FINAL_CONTACT_STATES, LIVE_OUTCOMES
from dialer.campaigns.waiting import Activity
from dialer.db.models import CallAttempt, Campaign, Contact, InflightNumber
from dialer.db.types import utcnow
from dialer.dispositions.occupancy import Occupancy
from dialer.engine.window import day_start_utc
from dialer.web import sse
from dialer.web.agents import AgentOut, agent_out
from dialer.web.api import ADMIN, API, SSE, ApiRequest

if TYPE_CHECKING:
    from dialer.service import Service

log = logging.getLogger(__name__)

FEED = web.AppKey("dashboard_feed", object)
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
    activity: Activity | None  # a running campaign: dialling (the pacing level explained) or why not
    occupancy: Occupancy | None


class Dashboard(BaseModel):
    at: datetime
    ami: str
    calls_in_flight: int
    campaigns: list[CampaignCard]
    agents: list[AgentOut]
    agents_by_state: dict[str, int]
    occupancy: Occupancy  # every agent on every call, the day from midnight in the centre's time zone


@dataclass
class CampaignFigures:
    """What the database says about one campaign (the engine's live figures may override some)."""

    name: str
    state: str
    mode: str
    abandon_cap: float
    contacts_total: int = 0
    contacts_done: int = 0
    in_flight: int = 0
    answered_today: int = 0
    abandoned_today: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def campaign_figures(service: Service, now: datetime | None = None) -> list[CampaignFigures]:
    """Every campaign's figures in four grouped queries: contacts by state (the ``ix_contacts_due``
    index covers campaign and state), today's live outcomes (``ix_call_attempts_campaign_time``, one query
    per distinct time zone), and calls in flight (the small ``inflight_numbers`` table)."""
    now = now or utcnow()
    final = {str(s) for s in FINAL_CONTACT_STATES}
    async with service.sessions() as s:
        camps = (
            await s.execute(
                select(
                    Campaign.id,
                    Campaign.name,
                    Campaign.state,
                    Campaign.pacing_mode,
                    Campaign.abandon_cap,
                    Campaign.timezone,
                ).order_by(Campaign.id)
            )
        ).all()
        figs = {c.id: CampaignFigures(c.name, c.state, c.pacing_mode, c.abandon_cap) for c in camps}
        counts = await s.execute(
            select(Contact.campaign_id, Contact.state, func.count()).group_by(
                Contact.campaign_id, Contact.state
            )
        )
        for cid, state, n in counts.tuples():
            f = figs.get(cid)
            if f is not None:
                f.contacts_total += int(n)
                if str(state) in final:
                    f.contacts_done += int(n)
        by_tz: dict[str, list[int]] = defaultdict(list)
        for c in camps:
            by_tz[c.timezone].append(c.id)
        for tz, ids in by_tz.items():
            today = await s.execute(
                select(CallAttempt.campaign_id, CallAttempt.outcome, func.count())
                .where(
                    CallAttempt.campaign_id.in_(ids),
                    CallAttempt.originated_at >= day_start_utc(now, tz),
                    CallAttempt.outcome.in_(LIVE_OUTCOMES),
                )
                .group_by(CallAttempt.campaign_id, CallAttempt.outcome)
            )
            for camp_id, outcome, n in today.tuples():
                f = figs.get(camp_id) if camp_id is not None else None
                if f is not None:
                    f.answered_today += int(n)
                    if outcome == "abandoned":
                        f.abandoned_today += int(n)
        flying = await s.execute(
            select(CallAttempt.campaign_id, func.count())
            .join(InflightNumber, InflightNumber.attempt_id == CallAttempt.id)
            .group_by(CallAttempt.campaign_id)
        )
        for flying_id, n in flying.tuples():
            if flying_id is not None and flying_id in figs:
                figs[flying_id].in_flight = int(n)
    return list(figs.values())


def _card(
    f: CampaignFigures, live: dict[str, Any], activity: Activity | None, occupancy: Occupancy | None
) -> CampaignCard:
    answered = int(live.get("answered_today", f.answered_today))
    abandoned = int(live.get("abandoned_today", f.abandoned_today))
    db_rate = (f.abandoned_today / f.answered_today) if f.answered_today else 0.0
    return CampaignCard(
        name=f.name,
        state=f.state,
        mode=f.mode,
        contacts_total=f.contacts_total,
        contacts_done=f.contacts_done,
        progress=(f.contacts_done / f.contacts_total) if f.contacts_total else 0.0,
        calls_in_flight=int(live.get("in_flight", f.in_flight)),
        waiting_for_agent=int(live.get("waiting_for_agent", 0)),
        answered_today=answered,
        connected_today=answered - abandoned,
        abandoned_today=abandoned,
        abandon_rate=float(live.get("abandon_rate", db_rate)),
        abandon_cap=float(live.get("abandon_cap", f.abandon_cap)),
        dial_level=float(live["dial_level"]) if live.get("dial_level") is not None else None,
        pacing_reason=str(live["pacing_reason"]) if live.get("pacing_reason") else None,
        activity=activity,
        occupancy=occupancy,
    )


def _counts(f: CampaignFigures, live: dict[str, Any]) -> activities.Counts:
    return activities.Counts(
        in_flight=int(live.get("in_flight", f.in_flight)),
        answered_today=int(live.get("answered_today", f.answered_today)),
        abandoned_today=int(live.get("abandoned_today", f.abandoned_today)),
    )


async def compute(service: Service) -> Dashboard:
    figures = await campaign_figures(service)
    board = [agent_out(a) for a in await agents.list_agents(service.sessions)]
    snap = service.live_snapshot()
    live_camps: dict[str, Any] = snap.get("campaigns") or {}
    lives = {f.name: live_camps.get(f.name) or {} for f in figures}
    now = utcnow()
    doing = await activities.explain_running(
        service.sessions,
        {f.name: _counts(f, lives[f.name]) for f in figures},
        engine=activities.SnapshotFacts(snap),
        default_window=activities.default_window(service.settings),
        now=now,
    )
    total, occupancy = await activities.occupancies(service.sessions, service.settings.timezone, now)
    cards = [_card(f, lives[f.name], doing.get(f.name), occupancy.get(f.name)) for f in figures]
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
        occupancy=total,
    )


class Feed:
    """One computation per interval, shared: a task recomputes while any stream is open, and every
    stream waits for the next version instead of computing its own."""

    def __init__(self, service: Service, every: float = PUSH_EVERY) -> None:
        self.service = service
        self.every = every
        self.dashboard: Dashboard | None = None
        self.payload = b""
        self.computed_at = -1e9
        self.computations = 0
        self.subscribers = 0
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self.computed_at < self.every * 0.5:
                return  # computed while we waited for the lock
            d = await compute(self.service)
            data = json.dumps(d.model_dump(mode="json"), ensure_ascii=False)
            self.dashboard, self.payload = d, f"event: dashboard\ndata: {data}\n\n".encode()
            self.computed_at = time.monotonic()
            self.computations += 1
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def latest(self) -> Dashboard:
        """The current figures, at most one interval old."""
        if self.dashboard is None or time.monotonic() - self.computed_at >= self.every:
            await self._refresh()
        assert self.dashboard is not None
        return self.dashboard

    async def _run(self) -> None:
        while self.subscribers > 0:
            started = time.monotonic()
            try:
                await self._refresh()
            except Exception as e:  # the database may be away for a moment: streams keep the last figures
                log.warning("dashboard: figures not refreshed: %s", e)
            await asyncio.sleep(max(0.1, self.every - (time.monotonic() - started)))

    @contextlib.asynccontextmanager
    async def subscribe(self) -> Any:
        self.subscribers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="dashboard-feed")
        try:
            yield self
        finally:
            self.subscribers -= 1

    async def next_payload(self, out: sse.EventStream, timeout: float = sse.HEARTBEAT) -> bytes | None:
        """The next version's bytes; None when the stream ended or none came in ``timeout``."""
        changed = asyncio.ensure_future(self._changed.wait())
        ended = asyncio.ensure_future(out.ended.wait())
        try:
            done, _ = await asyncio.wait(
                {changed, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:  # also when this handler is cancelled (the client went away): no task left pending
            changed.cancel()
            ended.cancel()
        return self.payload if changed in done and out.open else None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def feed(app: web.Application) -> Feed:
    f: Any = app[FEED]
    assert isinstance(f, Feed)
    return f


@API.route(
    "GET",
    "/dashboard",
    summary="Live figures for the dashboard",
    tag="dashboard",
    roles=ADMIN,
    response=Dashboard,
)
async def dashboard(call: ApiRequest) -> Dashboard:
    return await feed(call.request.app).latest()


@API.route(
    "GET",
    "/dashboard/events",
    summary="Live figures pushed about once a second (server-sent events 'dashboard')",
    tag="dashboard",
    roles=ADMIN,
    media=SSE,
    events=(("dashboard", Dashboard),),
)
async def dashboard_events(call: ApiRequest) -> web.StreamResponse:
    f = feed(call.request.app)
    async with sse.open_stream(call.request) as out, f.subscribe():
        await f.latest()
        payload: bytes | None = f.payload
        while out.open:
            if payload is None:
                await out.ping()
            else:
                await out.send_raw(payload)
            payload = await f.next_payload(out)
        return out.response


def install(app: web.Application, service: Service) -> None:
    app[FEED] = Feed(service)

    async def stop(app: web.Application) -> None:
        await feed(app).stop()

    app.on_shutdown.append(stop)
