"""Reads both sides for the audit: Asterisk's call records (the witness) and the service's database.

The database side is read in one transaction, so a contact and its attempt are seen at the same moment
(``place`` and ``finish`` change them together).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.audit.judge import AttemptFact, CampaignFact, ContactFact, Facts, Report, audit
from dialer.callrecords.fate import CdrRow
from dialer.callrecords.reader import CdrReader
from dialer.config import Settings
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Agent, CallAttempt, Campaign, Contact, DoNotCall, InflightNumber
from dialer.db.outage import describe
from dialer.engine.window import CallingWindow


class AuditError(Exception):
    """The audit can't run (no witness configured, unknown campaign): one line for the user."""


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def service_window(settings: Settings) -> dict[str, Any]:
    return {
        "hours": dict(settings.calling_window.hours),
        "holidays": [d.isoformat() for d in settings.calling_window.holidays],
    }


def campaign_holidays(window: dict[str, Any], default: dict[str, Any]) -> list[str]:
    """A campaign's own holidays plus the service-wide ones unless it opts out (``service_holidays: false``),
    the engine's rule, read here on its own so the audit does not lean on the engine's code."""
    own = [str(d) for d in window.get("holidays") or []]
    if window is default or window.get("service_holidays", True) is False:
        return own
    return sorted(set(own) | {str(d) for d in default.get("holidays") or []})


def campaign_fact(c: Campaign, settings: Settings) -> CampaignFact:
    """The campaign's window as the engine builds it (store.load_campaigns)."""
    default = service_window(settings)
    win = c.window or default
    tz = c.timezone or settings.timezone
    return CampaignFact(
        id=c.id,
        name=c.name,
        max_attempts=c.max_attempts,
        abandon_cap=c.abandon_cap,
        window=CallingWindow.build(tz, win.get("hours") or default["hours"], campaign_holidays(win, default)),
        timezone=tz,
    )


async def run_audit(
    settings: Settings,
    since: datetime,
    *,
    campaign: str | None = None,
    until: datetime | None = None,
    stuck_after: timedelta = timedelta(hours=2),
    blind: Sequence[tuple[datetime, datetime]] = (),
    outages: Sequence[tuple[datetime, datetime]] = (),
    now: datetime | None = None,
) -> Report:
    reader = CdrReader.from_settings(settings.call_records)
    if reader is None:
        raise AuditError("call_records.url is not set: the audit needs Asterisk's call records (see README)")
    engine = make_engine(settings.database_url)
    try:
        records = await reader.rows_between(since, until)
        report = await _judge(
            engine, settings, since, records, reader, campaign, stuck_after, blind, outages, now
        )
    except DBAPIError as e:
        raise AuditError(f"database unreadable ({describe(e)}); is it migrated (dialer db upgrade)?") from e
    finally:
        await reader.close()
        await engine.dispose()
    return report


async def _judge(
    engine: AsyncEngine,
    settings: Settings,
    since: datetime,
    records: list[CdrRow],
    reader: CdrReader,
    campaign: str | None,
    stuck_after: timedelta,
    blind: Sequence[tuple[datetime, datetime]],
    outages: Sequence[tuple[datetime, datetime]],
    now: datetime | None,
) -> Report:
    async with make_sessionmaker(engine)() as s, s.begin():
        camps = list((await s.execute(select(Campaign))).scalars())
        facts_c = {c.id: campaign_fact(c, settings) for c in camps}
        camp_id: int | None = None
        if campaign is not None:
            match = [c for c in camps if c.name == campaign]
            if not match:
                raise AuditError(f"no campaign named {campaign!r}")
            camp_id = match[0].id
        keys = sorted({r.linkedid or r.uniqueid for r in records})
        key_col = func.coalesce(CallAttempt.uniqueid, CallAttempt.action_id)
        # in scope: placed since, plus every attempt still open (it may be stuck from before)
        conds = [CallAttempt.originated_at >= since, CallAttempt.ended_at.is_(None)]
        rows: list[Any] = []
        q = select(CallAttempt, Agent.extension).outerjoin(Agent, Agent.id == CallAttempt.agent_id)
        rows += list((await s.execute(q.where(or_(*conds)))).all())
        for i in range(0, len(keys), 500):
            rows += list((await s.execute(q.where(key_col.in_(keys[i : i + 500])))).all())
        seen: set[int] = set()
        attempts: list[AttemptFact] = []
        for a, ext in rows:
            if a.id in seen:
                continue
            seen.add(a.id)
            attempts.append(
                AttemptFact(
                    id=a.id,
                    key=a.uniqueid or a.action_id,
                    campaign_id=a.campaign_id,
                    contact_id=a.contact_id,
                    phone=a.phone,
                    state=a.state,
                    outcome=a.outcome,
                    agent=ext,
                    originated_at=_utc(a.originated_at),
                    ended_at=_utc(a.ended_at),
                )
            )
        # every record of the attempts in scope, found by key whatever its times say
        missing = sorted({a.key for a in attempts} - set(keys))
        if missing:
            for rows_of in (await reader.rows_for(missing)).values():
                records = [*records, *rows_of]
            keys = sorted({r.linkedid or r.uniqueid for r in records})
        if camp_id is not None:
            mine = {a.key for a in attempts if a.campaign_id == camp_id}
            known = {a.key for a in attempts}
            # a call with no attempt can't be tied to a campaign: it is reported whatever the filter
            records = [r for r in records if (r.linkedid or r.uniqueid) in mine | (set(keys) - known)]
            attempts = [a for a in attempts if a.campaign_id == camp_id]
        contact_ids = sorted({a.contact_id for a in attempts if a.contact_id is not None})
        placed: dict[int, int] = {}
        for i in range(0, len(contact_ids), 500):
            chunk = contact_ids[i : i + 500]
            for cid, n in (
                await s.execute(
                    select(CallAttempt.contact_id, func.count())
                    .where(CallAttempt.contact_id.in_(chunk), CallAttempt.state != "not_sent")
                    .group_by(CallAttempt.contact_id)
                )
            ).all():
                placed[int(cid)] = int(n)
        cq = select(Contact).where(Contact.state == "dialing")
        if camp_id is not None:
            cq = cq.where(Contact.campaign_id == camp_id)
        contacts = [
            ContactFact(c.id, c.campaign_id, c.phone, c.state) for c in (await s.execute(cq)).scalars()
        ]
        dnc = {d.phone: _utc(d.added_at) for d in (await s.execute(select(DoNotCall))).scalars()}
        inflight = {n.phone: n.attempt_id for n in (await s.execute(select(InflightNumber))).scalars()}
    return audit(
        Facts(
            records=records,
            attempts=attempts,
            campaigns=facts_c,
            contacts=contacts,
            placed_per_contact=placed,
            do_not_call={p: t for p, t in dnc.items() if t is not None},
            inflight=inflight,
            now=now or datetime.now(UTC),
            stuck_after=stuck_after,
            blind=blind,
            outages=outages,
        )
    )
