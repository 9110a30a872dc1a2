"""Record an agent's disposition and apply it to the contact, in one transaction.

- appointment agreed -> contact done;
- call back at T -> contact pending at T with priority 0 (before everything else), for the same agent
  when asked (callback_agent_id);
- wrong number -> contact invalid (never retried);
- refused -> contact done and the number on the do-not-call list (every campaign stops calling it);
- no answer on the line -> retried per the campaign's rules (its "noanswer" delay), or exhausted when
  the campaign's attempt limit is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auditlog import audit
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import DEFAULT_RETRY_DELAYS
from dialer.db.models import Agent, CallAttempt, Campaign, Contact, ContactState, Disposition
from dialer.db.types import utcnow
from dialer.dispositions.schemas import DispositionIn
from dialer.engine.notifier import Notifier
from dialer.errors import Conflict, NotFound, ServiceError

Sessions = async_sessionmaker[AsyncSession]

MAX_CALLBACK_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Saved:
    disposition: Disposition
    contact_state: str | None
    agent_extension: str | None
    campaign: str | None
    phone: str


def _check_times(data: DispositionIn) -> None:
    now = utcnow()
    if data.callback_at is not None and data.kind == "callback":
        if data.callback_at <= now:
            raise ServiceError("callback_at must be in the future", field="callback_at")
        if data.callback_at > now + MAX_CALLBACK_AHEAD:
            raise ServiceError("callback_at must be within a year", field="callback_at")
    past = now - timedelta(hours=12)
    if data.kind == "appointment" and data.appointment_at is not None and data.appointment_at < past:
        raise ServiceError("appointment_at must not be in the past", field="appointment_at")


def _apply(data: DispositionIn, contact: Contact, camp: Campaign | None, attempt: CallAttempt) -> None:
    now = utcnow()
    revivable = contact.state not in (ContactState.CANCELLED, ContactState.DNC)
    if data.kind == "appointment" or data.kind == "refused":
        contact.state = ContactState.DONE
    elif data.kind == "wrong_number":
        contact.state = ContactState.INVALID
    elif data.kind == "callback" and revivable:
        assert data.callback_at is not None
        contact.state = ContactState.PENDING
        contact.next_attempt_at = data.callback_at
        contact.priority = 0
        contact.callback_agent_id = attempt.agent_id if data.callback_same_agent else None
    elif data.kind == "no_answer_on_line" and revivable:
        max_attempts = camp.max_attempts if camp is not None else 3
        delays = {**DEFAULT_RETRY_DELAYS, **(camp.retry_delays if camp is not None else {})}
        if contact.attempts >= max_attempts:
            contact.state = ContactState.EXHAUSTED
        else:
            contact.state = ContactState.PENDING
            contact.next_attempt_at = now + timedelta(seconds=int(delays["noanswer"]))
            contact.priority = 5
            contact.callback_agent_id = None


async def open_call(s: AsyncSession, attempt_id: int, agent_id: int | None) -> CallAttempt:
    """The call to dispose of: it exists, it is the agent's own (``agent_id`` set; anyone else's is reported
    as not found, so agents learn nothing about other calls), and it has no disposition yet."""
    attempt = await s.get(CallAttempt, attempt_id)
    if attempt is None or (agent_id is not None and attempt.agent_id != agent_id):
        raise NotFound(f"no call {attempt_id} of yours", field="attempt_id")
    taken = (
        await s.execute(select(Disposition.id).where(Disposition.attempt_id == attempt_id).limit(1))
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"call {attempt_id} already has a disposition", field="attempt_id")
    return attempt


async def record(
    sessions: Sessions,
    attempt_id: int,
    data: DispositionIn,
    *,
    actor: str,
    agent_id: int | None,
    region: str = "RU",
    notifier: Notifier | None = None,
) -> Saved:
    """Save the disposition of one call. ``agent_id`` set: only that agent's own call may be disposed
    (anyone else's is reported as not found, so agents learn nothing about other calls)."""
    _check_times(data)
    async with sessions() as s:
        attempt = await open_call(s, attempt_id, agent_id)
        contact = await s.get(Contact, attempt.contact_id) if attempt.contact_id is not None else None
        camp = await s.get(Campaign, attempt.campaign_id) if attempt.campaign_id is not None else None
        agent = await s.get(Agent, attempt.agent_id) if attempt.agent_id is not None else None
        if contact is not None:
            _apply(data, contact, camp, attempt)
        row = Disposition(
            attempt_id=attempt.id,
            contact_id=attempt.contact_id,
            agent_id=attempt.agent_id,
            kind=data.kind,
            appointment_at=data.appointment_at if data.kind == "appointment" else None,
            pickup_office=data.pickup_office,
            route=data.route,
            callback_at=data.callback_at if data.kind == "callback" else None,
            callback_same_agent=data.callback_same_agent and data.kind == "callback",
            notes=data.notes,
        )
        s.add(row)
        await audit(s, actor, "disposition.save", f"attempt {attempt.id}", kind=data.kind)
        await s.commit()
        saved = Saved(
            row,
            contact.state if contact is not None else None,
            agent.extension if agent is not None else None,
            camp.name if camp is not None else None,
            attempt.phone,
        )
    if data.kind == "refused":
        await campaigns.add_dnc(
            sessions, [attempt.phone], actor=actor, reason=f"refused on call {attempt.id}", region=region
        )
    if notifier is not None and saved.agent_extension:
        notifier.disposition_saved(agent=saved.agent_extension, attempt_id=attempt.id)
    return saved
