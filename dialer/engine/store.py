"""The hopper and the promise: whom to call now, and writing an attempt before it is sent.

Every attempt is committed (with its number in ``inflight_numbers``) before the Originate goes out, so a
crash can neither lose it nor dial it twice: the primary key on the number refuses a second call while one
is in flight, and the contact's state/attempt count is changed with a compare-and-set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.applications.card import application_card
from dialer.db.models import (
    Application,
    CallAttempt,
    Contact,
    ContactState,
    DoNotCall,
    InflightNumber,
)
from dialer.engine.runtime import CampaignRuntime, Sessions
from dialer.engine.tracker import PREFIX

__all__ = ["CampaignRuntime", "Placed", "Sessions", "cancel_unsent", "fetch_due", "new_key", "place"]


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
        app_info = application_card(app)
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


async def cancel_unsent(sessions: Sessions, attempt_id: int, retry_at: datetime | None = None) -> None:
    """Asterisk never placed the call (the Originate never left the process, was refused, or was never
    acknowledged and left no record): undo the attempt so it neither counts nor blocks the number. With
    ``retry_at``, the contact waits until then (an Asterisk that refuses calls is not hammered)."""
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
                .values(
                    state=ContactState.PENDING,
                    attempts=Contact.attempts - 1,
                    **({"next_attempt_at": retry_at} if retry_at is not None else {}),
                )
            )
        await s.commit()
