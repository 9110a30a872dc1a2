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

from sqlalchemy import exists, func, select

from dialer.campaigns import services
from dialer.campaigns.schemas import CampaignStatus
from dialer.campaigns.waiting import Activity, Facts, LinkFact, explain
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
from dialer.engine.window import CallingWindow, day_start_utc

# the pacing reasons that say the abandon cap holds the dialling back: the predictive pacer's own fallback,
# and the cap guard every mode goes through (dialer/pacing/guard.py)
CAP_REASONS = ("progressive: budget", "held to the abandon cap")


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
            cap = any(r in str(live["pacing_reason"]) for r in CAP_REASONS)
        level = live.get("dial_level")
        return CampaignEngineFacts(
            cap_reached=None if cap is None else bool(cap),
            dial_level=float(level) if level is not None else None,
        )


class LinkOnly:
    """A running service seen from outside (its /healthz): the link, nothing per campaign."""

    def __init__(self, ami: str, reconciled: bool | None = None) -> None:
        self.ami = ami
        self.reconciled = reconciled

    def link(self) -> LinkFact:
        if self.ami != "up":
            return "down"
        return "reconciling" if self.reconciled is False else "up"

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
    reconciled = health.get("reconciled")
    return LinkOnly(str(health.get("ami", "down")), reconciled if isinstance(reconciled, bool) else None)


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


@dataclass(frozen=True)
class Counts:
    """A campaign's figures the caller already has (live from the engine where it knows them)."""

    in_flight: int
    answered_today: int
    abandoned_today: int


async def explain_running(
    sessions: services.Sessions,
    counts: Mapping[str, Counts],
    *,
    engine: EngineFacts,
    default_window: Mapping[str, Any],
    now: datetime,
) -> dict[str, Activity]:
    """What each running campaign is doing, by name. Four queries whatever the number of campaigns:
    running campaigns, agents' presence, which campaigns agents are limited to, and contacts callable with
    the earliest next attempt per campaign."""
    async with sessions() as s:
        camps = list(
            (await s.execute(select(Campaign).where(Campaign.state == CampaignState.RUNNING))).scalars()
        )
        if not camps:
            return {}
        presence = dict((await s.execute(select(Agent.id, Agent.presence))).tuples().all())
        limited: dict[int, set[int]] = {}
        for agent_id, campaign_id in (
            await s.execute(select(AgentCampaign.agent_id, AgentCampaign.campaign_id))
        ).tuples():
            limited.setdefault(agent_id, set()).add(campaign_id)
        due = {
            cid: (int(n), first)
            for cid, n, first in (
                await s.execute(
                    select(Contact.campaign_id, func.count(), func.min(Contact.next_attempt_at))
                    .join(Campaign, Campaign.id == Contact.campaign_id)
                    .where(
                        Campaign.state == CampaignState.RUNNING,
                        Contact.state == ContactState.PENDING,
                        Contact.attempts < Campaign.max_attempts,
                        ~exists().where(DoNotCall.phone == Contact.phone),
                    )
                    .group_by(Contact.campaign_id)
                )
            ).tuples()
        }
    link = engine.link()
    out: dict[str, Activity] = {}
    for camp in camps:
        mine = [p for a, p in presence.items() if not limited.get(a) or camp.id in limited[a]]
        on_duty = sum(1 for p in mine if p == AgentPresence.READY)
        paused = sum(1 for p in mine if p == AgentPresence.PAUSED)
        n = counts.get(camp.name) or Counts(0, 0, 0)
        rate = n.abandoned_today / n.answered_today if n.answered_today else 0.0
        live = engine.campaign(camp.name)
        cap = live.cap_reached if live is not None else None
        if cap is None:  # the engine has not said: the day's figures
            cap = n.answered_today > 0 and rate >= camp.abandon_cap
        level = live.dial_level if live is not None else None
        if level is None and on_duty:  # the engine's definition, from the database: lines per agent on duty
            level = n.in_flight / on_duty
        callable_, next_due = due.get(camp.id, (0, None))
        out[camp.name] = explain(
            Facts(
                now=now,
                mode=camp.pacing_mode,
                window=window_of(camp, default_window),
                timezone=camp.timezone,
                agents_on_duty=on_duty,
                agents_paused=paused,
                callable_contacts=callable_,
                next_due=next_due,
                calls_in_flight=n.in_flight,
                link=link,
                cap_reached=cap,
                abandon_rate=rate,
                abandon_cap=camp.abandon_cap,
                dial_level=level,
            )
        )
    return out


class Days:
    """Occupancy days shared by the campaigns of one request (one read per time zone)."""

    def __init__(self, sessions: services.Sessions, now: datetime) -> None:
        self.sessions, self.now, self.days = sessions, now, dict[str, Day]()

    async def get(self, tz: str) -> Day:
        if tz not in self.days:
            self.days[tz] = await load_day(self.sessions, day_start_utc(self.now, tz), self.now)
        return self.days[tz]


async def campaign_status(
    sessions: services.Sessions,
    name: str,
    *,
    engine: EngineFacts,
    default_window: Mapping[str, Any],
    now: datetime | None = None,
) -> CampaignStatus:
    """services.campaign_status plus ``activity`` (running campaigns) and ``occupancy``."""
    now = now or utcnow()
    st = await services.campaign_status(sessions, name, now)
    counts = {name: Counts(st.calls_in_flight, st.answered_today, st.abandoned_today)}
    activities = await explain_running(
        sessions, counts, engine=engine, default_window=default_window, now=now
    )
    async with sessions() as s:
        camp = await services.get_campaign(s, name)
    occupancy = (await Days(sessions, now).get(camp.timezone)).figures(camp.id)
    return st.model_copy(update={"activity": activities.get(name), "occupancy": occupancy})


async def occupancies(
    sessions: services.Sessions, centre_tz: str, now: datetime
) -> tuple[Occupancy, dict[str, Occupancy]]:
    """The centre's occupancy (the day from midnight in its time zone) and each campaign's (in the
    campaign's zone), reading presence and calls once per time zone."""
    days = Days(sessions, now)
    async with sessions() as s:
        camps = (await s.execute(select(Campaign.id, Campaign.name, Campaign.timezone))).tuples().all()
    per = {name: (await days.get(tz)).figures(cid) for cid, name, tz in camps}
    return (await days.get(centre_tz)).figures(None), per
