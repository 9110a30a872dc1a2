"""An attempt's life after it is placed: sent, bridged, finished — and, after a crash, closed by what
Asterisk recorded. Every write refuses to touch an attempt already ended, and a contact is changed only by
compare-and-set, so late or concurrent writes can't undo what is already known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from dialer.callrecords.fate import CallFate
from dialer.db.models import (
    Agent,
    CallAttempt,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    InflightNumber,
)
from dialer.engine.outcomes import CallFacts, NextStep, Outcome, next_step
from dialer.engine.runtime import CampaignRuntime, Sessions
from dialer.engine.store import cancel_unsent


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
