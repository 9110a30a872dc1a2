"""The evening reminder campaign: everyone booked for tomorrow gets a call (a normal campaign named
``reminders-YYYY-MM-DD``, until an agentless player exists). Generating it twice for the same day does
nothing the second time, so the service's timer, a cron job and an admin can all ask for it safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from dialer.auditlog import audit
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import CampaignSpec
from dialer.db.models import Appointment, Campaign, Contact, ContactState, DoNotCall
from dialer.db.types import utcnow
from dialer.errors import Conflict
from dialer.offices.services import Sessions, day_appointments

if TYPE_CHECKING:
    from dialer.service import Service

log = logging.getLogger(__name__)

EVENING = time(18, 0)  # local (service time zone): when tomorrow's reminders are generated


@dataclass(frozen=True)
class Reminders:
    campaign: str
    contacts: int
    created: bool  # False: already generated, or nobody is booked that day


def campaign_name(day: date) -> str:
    return f"reminders-{day.isoformat()}"


async def generate(
    sessions: Sessions,
    day: date,
    *,
    actor: str,
    default_tz: str,
    caller_id: str,
    start: bool = False,
) -> Reminders:
    """Create the reminder campaign for ``day``'s active bookings (one contact per booking, its
    application attached); ``start`` dials it at once (within the calling window)."""
    name = campaign_name(day)
    async with sessions() as s:
        existing = (await s.execute(select(Campaign.id).where(Campaign.name == name))).scalar_one_or_none()
        if existing is not None:
            n = len((await s.execute(select(Contact.id).where(Contact.campaign_id == existing))).all())
            return Reminders(name, n, False)
    booked = [a for a in await day_appointments(sessions, None, day) if a.phone]
    if not booked:
        return Reminders(name, 0, False)
    spec = CampaignSpec(name=name, mode="progressive", max_attempts=2, wrapup_seconds=5)
    try:
        camp = await campaigns.create_campaign(
            sessions, spec, actor=actor, default_tz=default_tz, default_caller_id=caller_id
        )
    except Conflict:  # generated meanwhile by another caller
        return Reminders(name, 0, False)
    now = utcnow()
    async with sessions() as s:
        ids = dict(
            (
                await s.execute(
                    select(Appointment.id, Appointment.application_id).where(
                        Appointment.id.in_([a.id for a in booked])
                    )
                )
            )
            .tuples()
            .all()
        )
        phones = {a.phone for a in booked}
        dnc = set((await s.execute(select(DoNotCall.phone).where(DoNotCall.phone.in_(phones)))).scalars())
        seen: set[str] = set()
        rows = []
        for a in booked:
            assert a.phone is not None
            if a.phone in seen:
                continue
            seen.add(a.phone)
            rows.append(
                {
                    "campaign_id": camp.id,
                    "application_id": ids.get(a.id),
                    "phone": a.phone,
                    "name": a.applicant_name,
                    "state": ContactState.DNC if a.phone in dnc else ContactState.PENDING,
                    "priority": 5,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "needs_reserved_agent": False,
                    "created_at": now,
                }
            )
        await s.execute(insert(Contact), rows)
        await audit(s, actor, "reminders.generate", name, contacts=len(rows))
        await s.commit()
    if start:
        await campaigns.change_state(sessions, name, "start", actor=actor)
    return Reminders(name, len(rows), True)


def next_run(now: datetime, tz: ZoneInfo) -> datetime:
    """The next EVENING in ``tz`` strictly after ``now`` (UTC)."""
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), EVENING, tzinfo=tz)
    if at.astimezone(UTC) <= now:
        at = datetime.combine(local.date() + timedelta(days=1), EVENING, tzinfo=tz)
    return at.astimezone(UTC)


class EveningTimer:
    """In ``dialer serve``: generates (and starts) tomorrow's reminders every evening; on start-up after
    the evening hour it catches up at once."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime) -> Reminders:
        st = self.service.settings
        tomorrow = now.astimezone(st.tz).date() + timedelta(days=1)
        return await generate(
            self.service.sessions,
            tomorrow,
            actor="reminders",
            default_tz=st.timezone,
            caller_id=st.caller_id,
            start=True,
        )

    async def _loop(self) -> None:
        tz = self.service.settings.tz
        now = utcnow()
        if now.astimezone(tz).time() >= EVENING:
            await self._safely(now)
        while True:
            wake = next_run(utcnow(), tz)
            await asyncio.sleep(max(1.0, (wake - utcnow()).total_seconds()))
            await self._safely(utcnow())

    async def _safely(self, now: datetime) -> None:
        try:
            r = await self.run_once(now)
            if r.created:
                log.info("reminders: campaign %s with %d contacts", r.campaign, r.contacts)
        except Exception:
            log.exception("reminders: could not generate tomorrow's campaign")

    async def start(self, _service: Service) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="reminders")

    async def stop(self, _service: Service) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
