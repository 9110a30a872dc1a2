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

from dialer.campaigns.services import day_start_utc
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
from dialer.engine.window import CallingWindow

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
                        tz, win.get("hours") or default_window["hours"], win.get("holidays", [])
                    ),
                    timezone=tz,
                    weight=c.weight,
                    ring_timeout=max(15, c.ring_timeout),
                    wrapup_seconds=c.wrapup_seconds,
                    amd=c.amd,
                )
            )
        return out


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
    async with sessions() as s:
        await s.execute(update(CallAttempt).where(CallAttempt.id == attempt_id).values(state=state))
        await s.commit()


async def mark_bridged(sessions: Sessions, attempt_id: int, agent_ext: str, at: datetime | None) -> None:
    async with sessions() as s:
        agent_id = (
            await s.execute(select(Agent.id).where(Agent.extension == agent_ext))
        ).scalar_one_or_none()
        await s.execute(
            update(CallAttempt)
            .where(CallAttempt.id == attempt_id)
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
    """Record the outcome, free the number, and schedule the contact's next step, in one transaction."""
    async with sessions() as s:
        attempt = await s.get(CallAttempt, f.attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return None
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
        attempt.answered_at = f.answered_at
        attempt.bridged_at = f.bridged_at
        attempt.ended_at = f.ended_at
        attempt.agent_id = agent_id
        attempt.ring_seconds = f.ring_seconds
        attempt.wait_seconds = f.wait_seconds
        attempt.talk_seconds = f.talk_seconds
        await s.execute(delete(InflightNumber).where(InflightNumber.attempt_id == f.attempt_id))
        step = None
        contact = await s.get(Contact, attempt.contact_id) if attempt.contact_id else None
        if contact is not None and contact.state == ContactState.DIALING:
            max_attempts = camp.max_attempts if camp else 1
            delays = camp.retry_delays if camp else {}
            step = next_step(f.outcome, contact.attempts, max_attempts, delays, f.decided_at or f.ended_at)
            contact.last_outcome = f.outcome.value
            contact.state = step.state
            if step.next_attempt_at is not None:
                contact.next_attempt_at = step.next_attempt_at
            contact.priority = step.priority
            contact.needs_reserved_agent = step.needs_reserved_agent
            if step.state != ContactState.PENDING:
                contact.callback_agent_id = None
            campaign_state = (
                await s.execute(select(Campaign.state).where(Campaign.id == contact.campaign_id))
            ).scalar_one_or_none()
            if campaign_state == CampaignState.STOPPED and contact.state == ContactState.PENDING:
                contact.state = ContactState.CANCELLED
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


async def finish_lost(sessions: Sessions, attempt_id: int, camp: CampaignRuntime | None) -> None:
    """An attempt from a previous process whose call no longer exists: it counts as tried (it may well have
    rung), is recorded as failed, and follows the retry rules — it is never re-sent as it was."""
    from datetime import UTC
    from datetime import datetime as _dt

    async with sessions() as s:
        attempt = await s.get(CallAttempt, attempt_id)
        if attempt is None:
            return
        ended = attempt.originated_at or attempt.created_at or _dt.now(UTC)
    await finish(
        sessions,
        Finish(
            attempt_id=attempt_id,
            outcome=Outcome.FAILED,
            facts=CallFacts(),
            ended_at=max(ended, _dt.now(UTC)),
            answered_at=None,
            bridged_at=None,
            agent_ext=None,
            ring_seconds=None,
            wait_seconds=None,
            talk_seconds=None,
        ),
        camp,
    )
