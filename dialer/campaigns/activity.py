"""Campaign status with what it is doing and the agents' occupancy, for the CLI, the API and the dashboard.

Gathers the facts :func:`dialer.campaigns.waiting.explain` reasons from: the campaign's window, agents and
contacts from the database, and what only the running engine knows through :class:`EngineFacts`, a small
read-only view (the web reads it from the service's live snapshot; the CLI, in another process, asks the
running service's ``/healthz`` for the link and falls back to the database for the abandon cap).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import exists, func, or_, select

from dialer.campaigns import services
from dialer.campaigns.schemas import CampaignStatus
from dialer.campaigns.waiting import Facts, LinkFact, explain
from dialer.config import Settings, split_bind
from dialer.db.models import (
    Agent,
    AgentCampaign,
    AgentPresence,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    DoNotCall,
)
from dialer.db.types import utcnow
from dialer.dispositions.occupancy import Day, Occupancy, load_day
from dialer.engine.window import CallingWindow

PREDICTIVE_CAP_FALLBACK = "progressive: budget"  # the predictive pacer's reason when the cap is at risk


@dataclass(frozen=True)
class CampaignEngineFacts:
    cap_reached: bool | None  # None: the engine has not decided yet
    dial_level: float | None


class EngineFacts(Protocol):
    """What only the running engine knows. Read-only; any front end may hold one."""

    def link(self) -> LinkFact: ...

    def campaign(self, name: str) -> CampaignEngineFacts | None: ...


class NoService:
    """No dialer service answered: nothing is dialling whatever the database says."""

    def link(self) -> LinkFact:
        return "unknown"

    def campaign(self, name: str) -> CampaignEngineFacts | None:
        return None


class SnapshotFacts:
    """The engine's facts from ``Service.live_snapshot()`` (the dict ``Engine.snapshot()`` returns)."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        self.snap = snapshot

    def link(self) -> LinkFact:
        if self.snap.get("ami") != "up":
            return "down"
        return "reconciling" if self.snap.get("reconciled") is False else "up"

    def campaign(self, name: str) -> CampaignEngineFacts | None:
        live = (self.snap.get("campaigns") or {}).get(name)
        if not live:
            return None
        cap = live.get("cap_reached")
        if cap is None and live.get("pacing_reason"):
            cap = str(live["pacing_reason"]).startswith(PREDICTIVE_CAP_FALLBACK)
        level = live.get("dial_level")
        return CampaignEngineFacts(
            cap_reached=None if cap is None else bool(cap),
            dial_level=float(level) if level is not None else None,
        )


class LinkOnly:
    """A running service seen from outside (its /healthz): the link, nothing per campaign."""

    def __init__(self, ami: str) -> None:
        self.ami = ami

    def link(self) -> LinkFact:
        return "up" if self.ami == "up" else "down"

    def campaign(self, name: str) -> CampaignEngineFacts | None:
        return None


def _get_health(bind: str, timeout: float) -> dict[str, Any]:
    host, port = split_bind(bind)
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as r:
        data: dict[str, Any] = json.loads(r.read())
        return data


async def probe_service(bind: str, timeout: float = 1.0) -> EngineFacts:
    """The running service's view of the AMI link, for a CLI in another process."""
    try:
        health = await asyncio.to_thread(_get_health, bind, timeout)
    except Exception:  # refused, timed out, not our service: no service to dial
        return NoService()
    return LinkOnly(str(health.get("ami", "down")))


def default_window(settings: Settings) -> dict[str, Any]:
    """The service's calling window (config ``calling_window``), used by campaigns without their own."""
    return {
        "hours": dict(settings.calling_window.hours),
        "holidays": [d.isoformat() for d in settings.calling_window.holidays],
    }


def window_of(camp: Campaign, default_window: Mapping[str, Any]) -> CallingWindow:
    """The campaign's calling window, as the engine builds it (an empty window is the service default)."""
    win = camp.window or default_window
    return CallingWindow.build(
        camp.timezone, win.get("hours") or default_window["hours"], win.get("holidays", [])
    )


async def _facts(
    sessions: services.Sessions,
    camp: Campaign,
    st: CampaignStatus,
    engine: EngineFacts,
    default_window: Mapping[str, Any],
    now: datetime,
) -> Facts:
    async with sessions() as s:
        eligible = or_(
            ~exists().where(AgentCampaign.agent_id == Agent.id),
            exists().where(AgentCampaign.agent_id == Agent.id, AgentCampaign.campaign_id == camp.id),
        )
        presence = dict(
            (await s.execute(select(Agent.presence, func.count()).where(eligible).group_by(Agent.presence)))
            .tuples()
            .all()
        )
        callable_, next_due = (
            await s.execute(
                select(func.count(), func.min(Contact.next_attempt_at)).where(
                    Contact.campaign_id == camp.id,
                    Contact.state == ContactState.PENDING,
                    Contact.attempts < camp.max_attempts,
                    ~exists().where(DoNotCall.phone == Contact.phone),
                )
            )
        ).one()
    live = engine.campaign(camp.name)
    cap = live.cap_reached if live is not None else None
    if cap is None:  # the engine has not said: the day's figures from the database
        cap = st.answered_today > 0 and st.abandon_rate_today >= st.abandon_cap
    on_duty = int(presence.get(AgentPresence.READY, 0))
    level = live.dial_level if live is not None else None
    if level is None and on_duty:  # the engine's definition, from the database: lines per agent on duty
        level = st.calls_in_flight / on_duty
    return Facts(
        now=now,
        mode=camp.pacing_mode,
        window=window_of(camp, default_window),
        timezone=camp.timezone,
        agents_on_duty=on_duty,
        agents_paused=int(presence.get(AgentPresence.PAUSED, 0)),
        callable_contacts=int(callable_),
        next_due=next_due,
        calls_in_flight=st.calls_in_flight,
        link=engine.link(),
        cap_reached=cap,
        abandon_rate=st.abandon_rate_today,
        abandon_cap=st.abandon_cap,
        dial_level=level,
    )


class Days:
    """Occupancy days shared by the campaigns of one request (one read per time zone)."""

    def __init__(self, sessions: services.Sessions, now: datetime) -> None:
        self.sessions, self.now, self.days = sessions, now, dict[str, Day]()

    async def get(self, tz: str) -> Day:
        if tz not in self.days:
            self.days[tz] = await load_day(self.sessions, services.day_start_utc(self.now, tz), self.now)
        return self.days[tz]


async def campaign_status(
    sessions: services.Sessions,
    name: str,
    *,
    engine: EngineFacts,
    default_window: Mapping[str, Any],
    now: datetime | None = None,
    days: Days | None = None,
) -> CampaignStatus:
    """services.campaign_status plus ``activity`` (running campaigns) and ``occupancy``."""
    now = now or utcnow()
    days = days or Days(sessions, now)
    st = await services.campaign_status(sessions, name, now)
    async with sessions() as s:
        camp = await services.get_campaign(s, name)
    activity = None
    if camp.state == CampaignState.RUNNING:
        activity = explain(await _facts(sessions, camp, st, engine, default_window, now))
    occupancy = (await days.get(camp.timezone)).figures(camp.id)
    return st.model_copy(update={"activity": activity, "occupancy": occupancy})


async def centre_occupancy(
    sessions: services.Sessions, tz: str, now: datetime | None = None, days: Days | None = None
) -> Occupancy:
    """Occupancy of all agents on all calls, the day starting at midnight in the centre's time zone."""
    now = now or utcnow()
    return (await (days or Days(sessions, now)).get(tz)).figures(None)
