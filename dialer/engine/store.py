"""The engine's database work: the hopper query, writing an attempt before it is sent, finishing it.

Every attempt is committed (with its number in ``inflight_numbers``) before the Originate goes out, so a
crash can neither lose it nor dial it twice: the primary key on the number refuses a second call while one
is in flight, and the contact's state/attempt count is changed with a compare-and-set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.callrecords.fate import CallFate
from dialer.db.models import (
    Agent,
    AgentCampaign,
    Application,
    CallAttempt,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    DoNotCall,
    InflightNumber,
)
from dialer.engine.outcomes import CallFacts, NextStep, Outcome, next_step
from dialer.engine.tracker import PREFIX
from dialer.engine.window import CallingWindow, day_start_utc

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class CampaignRuntime:
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


@dataclass
class Placed:
    """An attempt written and ready to be sent."""

    attempt_id: int
    key: str
    campaign_id: int
    contact_id: int
    phone: str
    attempts: int
    reserved_agent: str | None
    label: str  # caller ID name for the agent's phone: applicant and application number
    application: dict[str, Any] | None = field(default=None)


def new_key() -> str:
    return PREFIX + uuid.uuid4().hex[:20]


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
            out.append(
                CampaignRuntime(
                    id=c.id,
                    name=c.name,
                    state=c.state,
                    caller_id=c.caller_id,
                    mode=c.pacing_mode,
                    params=dict(c.pacing_params or {}),
                    max_attempts=c.max_attempts,
                    retry_delays=dict(c.retry_delays or {}),
                    abandon_cap=c.abandon_cap,
                    window=CallingWindow.build(
                        tz,
                        win.get("hours") or default_window["hours"],
                        campaign_holidays(win, default_window),
                    ),
                    timezone=tz,
                    weight=c.weight,
                    ring_timeout=max(15, c.ring_timeout),
                    wrapup_seconds=c.wrapup_seconds,
                    amd=c.amd,
                )
            )
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


async def fetch_due(
    session: AsyncSession, camp: CampaignRuntime, now: datetime, limit: int, *, reserved: bool
) -> list[Contact]:
    """Contacts due now, by priority then due time; never on the do-not-call list, never over the attempt
    limit, never a number with a call in flight (in any campaign)."""
    flag = Contact.needs_reserved_agent.is_(True) | Contact.callback_agent_id.is_not(None)
    q = (
        select(Contact)
        .where(
            Contact.campaign_id == camp.id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at <= now,
            Contact.attempts < camp.max_attempts,
            flag if reserved else ~flag,
            ~exists().where(DoNotCall.phone == Contact.phone),
            ~exists().where(InflightNumber.phone == Contact.phone),
        )
        .order_by(Contact.priority, Contact.next_attempt_at)
        .limit(limit)
    )
    return list((await session.execute(q)).scalars())


async def place(
    sessions: Sessions, camp: CampaignRuntime, contact: Contact, now: datetime, reserved_agent: str | None
) -> Placed | None:
    """Write the attempt and claim the number; None if someone else got there first."""
    key = new_key()
    async with sessions() as s:
        res = await s.execute(
            update(Contact)
            .where(
                Contact.id == contact.id,
                Contact.state == ContactState.PENDING,
                Contact.attempts == contact.attempts,
                Contact.attempts < camp.max_attempts,
            )
            .values(state=ContactState.DIALING, attempts=Contact.attempts + 1, last_attempt_at=now)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            await s.rollback()
            return None
        attempt = CallAttempt(
            campaign_id=camp.id,
            contact_id=contact.id,
            phone=contact.phone,
            action_id=key,
            uniqueid=key,
            state="created",
            originated_at=now,
            created_at=now,
        )
        s.add(attempt)
        try:
            await s.flush()
            s.add(InflightNumber(phone=contact.phone, attempt_id=attempt.id, since=now))
            await s.flush()
        except IntegrityError:
            await s.rollback()
            return None
        app = await s.get(Application, contact.application_id) if contact.application_id else None
        await s.commit()
    app_info = None
    label = contact.name or contact.phone
    if app is not None:
        app_info = {
            "number": app.number,
            "applicant_name": app.applicant_name,
            "status": app.status,
            "pickup_office": app.pickup_office,
            "pickup_from": app.pickup_from.isoformat() if app.pickup_from else None,
        }
        label = f"{app.applicant_name or contact.name or ''} {app.number}".strip()
    return Placed(
        attempt_id=attempt.id,
        key=key,
        campaign_id=camp.id,
        contact_id=contact.id,
        phone=contact.phone,
        attempts=contact.attempts + 1,
        reserved_agent=reserved_agent,
        label=label[:80],
        application=app_info,
    )


async def mark_sent(sessions: Sessions, attempt_id: int, state: str = "sent") -> None:
    """Asterisk accepted the Originate. Never touches an attempt already ended (a late write after the call
    was finished must not reopen it), nor one already further along."""
    async with sessions() as s:
        await s.execute(
            update(CallAttempt)
            .where(
                CallAttempt.id == attempt_id, CallAttempt.ended_at.is_(None), CallAttempt.state == "created"
            )
            .values(state=state)
        )
        await s.commit()


async def mark_bridged(sessions: Sessions, attempt_id: int, agent_ext: str, at: datetime | None) -> None:
    async with sessions() as s:
        agent_id = (
            await s.execute(select(Agent.id).where(Agent.extension == agent_ext))
        ).scalar_one_or_none()
        await s.execute(
            update(CallAttempt)
            .where(CallAttempt.id == attempt_id, CallAttempt.ended_at.is_(None))
            .values(agent_id=agent_id, bridged_at=at, state="bridged")
        )
        await s.commit()


@dataclass
class Finish:
    attempt_id: int
    outcome: Outcome
    facts: CallFacts
    ended_at: datetime
    answered_at: datetime | None
    bridged_at: datetime | None
    agent_ext: str | None
    ring_seconds: float | None
    wait_seconds: float | None
    talk_seconds: float | None
    decided_at: datetime | None = None  # the engine's clock: base of the retry delay


async def finish(sessions: Sessions, f: Finish, camp: CampaignRuntime | None) -> NextStep | None:
    """Record the outcome, free the number, and schedule the contact's next step, in one transaction.

    The contact is changed with a compare-and-set on its state (still ``dialing``) and attempt count, so a
    disposition saved at the same moment (a callback, an appointment) is never overwritten. The retry rules
    come from the campaign as stored when the caller's copy is gone (a stopped campaign is no longer loaded:
    its contacts must not be labelled exhausted for want of its attempt limit)."""
    async with sessions() as s:
        attempt = await s.get(CallAttempt, f.attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return None
        if camp is None and attempt.campaign_id is not None:
            row = await s.get(Campaign, attempt.campaign_id)
            max_attempts = row.max_attempts if row else 1
            delays = dict(row.retry_delays or {}) if row else {}
        else:
            max_attempts = camp.max_attempts if camp else 1
            delays = camp.retry_delays if camp else {}
        agent_id = None
        if f.agent_ext:
            agent_id = (
                await s.execute(select(Agent.id).where(Agent.extension == f.agent_ext))
            ).scalar_one_or_none()
        attempt.state = "ended"
        attempt.outcome = f.outcome.value
        attempt.originate_reason = f.facts.originate_reason
        attempt.hangup_cause = f.facts.hangup_cause
        attempt.amd_status = f.facts.amd_status
        # what the database already knows (an agent, a bridge time) is never erased by a vaguer verdict
        attempt.answered_at = f.answered_at or attempt.answered_at
        attempt.bridged_at = f.bridged_at or attempt.bridged_at
        attempt.ended_at = f.ended_at
        attempt.agent_id = agent_id or attempt.agent_id
        attempt.ring_seconds = f.ring_seconds
        attempt.wait_seconds = f.wait_seconds
        attempt.talk_seconds = f.talk_seconds
        await s.execute(delete(InflightNumber).where(InflightNumber.attempt_id == f.attempt_id))
        step = None
        row_c = (
            (
                await s.execute(
                    select(Contact.id, Contact.state, Contact.attempts, Contact.campaign_id).where(
                        Contact.id == attempt.contact_id
                    )
                )
            ).first()
            if attempt.contact_id
            else None
        )
        if row_c is not None and row_c.state == ContactState.DIALING:
            step = next_step(f.outcome, row_c.attempts, max_attempts, delays, f.decided_at or f.ended_at)
            campaign_state = (
                await s.execute(select(Campaign.state).where(Campaign.id == row_c.campaign_id))
            ).scalar_one_or_none()
            state = step.state
            if campaign_state == CampaignState.STOPPED and state == ContactState.PENDING:
                state = ContactState.CANCELLED
            values: dict[str, Any] = {
                "last_outcome": f.outcome.value,
                "state": state,
                "priority": step.priority,
                "needs_reserved_agent": step.needs_reserved_agent,
            }
            if step.next_attempt_at is not None:
                values["next_attempt_at"] = step.next_attempt_at
            if state != ContactState.PENDING:
                values["callback_agent_id"] = None
            await s.execute(
                update(Contact)
                .where(
                    Contact.id == row_c.id,
                    Contact.state == ContactState.DIALING,
                    Contact.attempts == row_c.attempts,
                )
                .values(**values)
            )
        elif row_c is not None:
            await s.execute(
                update(Contact).where(Contact.id == row_c.id).values(last_outcome=f.outcome.value)
            )
        await s.commit()
        return step


async def unfinished_attempts(sessions: Sessions) -> list[CallAttempt]:
    async with sessions() as s:
        return list((await s.execute(select(CallAttempt).where(CallAttempt.ended_at.is_(None)))).scalars())


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


async def flush_agents(sessions: Sessions, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    async with sessions() as s:
        for r in rows:
            await s.execute(update(Agent).where(Agent.extension == r.pop("extension")).values(**r))
        await s.commit()


async def cancel_unsent(sessions: Sessions, attempt_id: int) -> None:
    """The Originate never left the process: undo the attempt so it neither counts nor blocks the number."""
    async with sessions() as s:
        attempt = await s.get(CallAttempt, attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return
        attempt.state = "not_sent"
        attempt.ended_at = attempt.created_at
        await s.execute(delete(InflightNumber).where(InflightNumber.attempt_id == attempt_id))
        if attempt.contact_id:
            await s.execute(
                update(Contact)
                .where(Contact.id == attempt.contact_id, Contact.state == ContactState.DIALING)
                .values(state=ContactState.PENDING, attempts=Contact.attempts - 1)
            )
        await s.commit()


async def close_lost(
    sessions: Sessions,
    attempt: CallAttempt,
    fate: CallFate | None,
    camp: CampaignRuntime | None,
    now: datetime,
) -> Outcome | None:
    """Close an attempt from a previous process whose call no longer exists, by what Asterisk recorded.

    - Asterisk has a record: its verdict (connected to which agent, abandoned, busy, ...).
    - No record and the database saw it bridged: connected, with the agent and bridge time it has; never
      retried (a person who talked to an agent is not called again because the service crashed).
    - No record and it was never acknowledged by Asterisk (``created``): Asterisk never placed it; given
      back as if never tried.
    - No record otherwise (records lost, or none kept): failed, counted as tried, retry rules apply.
    Returns the outcome recorded, or None when the attempt was given back."""
    if fate is None and attempt.state == "created":
        await cancel_unsent(sessions, attempt.id)
        return None
    if fate is not None:
        outcome, agent = fate.outcome, fate.agent
        f = Finish(
            attempt_id=attempt.id,
            outcome=outcome,
            facts=CallFacts(answered=fate.answered_at is not None, agent_connected=fate.connected),
            ended_at=fate.ended_at or now,
            answered_at=fate.answered_at,
            bridged_at=fate.bridged_at,
            agent_ext=agent,
            ring_seconds=_seconds(fate.started_at, fate.answered_at or fate.ended_at),
            wait_seconds=None,
            talk_seconds=fate.talk_seconds,
            decided_at=now,
        )
    else:
        bridged = attempt.state == "bridged" or attempt.bridged_at is not None
        outcome = Outcome.CONNECTED if bridged else Outcome.FAILED
        f = Finish(
            attempt_id=attempt.id,
            outcome=outcome,
            facts=CallFacts(answered=bridged, agent_connected=bridged),
            ended_at=now,
            answered_at=None,
            bridged_at=None,
            agent_ext=None,
            ring_seconds=None,
            wait_seconds=None,
            talk_seconds=None,
            decided_at=now,
        )
    await finish(sessions, f, camp)
    return outcome


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return max(0.0, (b - a).total_seconds()) if a and b else None
