"""A campaign's contact list: search it and correct single contacts (the bulk import is the campaign
service's ``import_contacts``)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.applications.keys import search_key
from dialer.applications.schemas import ContactEdit, ContactOut
from dialer.auditlog import audit
from dialer.campaigns.services import get_campaign
from dialer.db.models import Application, Campaign, Contact, ContactState
from dialer.db.paging import fetch_page
from dialer.errors import Conflict, NotFound, ServiceError
from dialer.likes import ESCAPE, contains, starts_with
from dialer.phones import InvalidPhone, normalize

Sessions = async_sessionmaker[AsyncSession]


def _out(c: Contact, campaign: str, app_no: str | None) -> ContactOut:
    return ContactOut(
        id=c.id,
        campaign=campaign,
        phone=c.phone,
        name=c.name,
        state=c.state,
        priority=c.priority,
        attempts=c.attempts,
        next_attempt_at=c.next_attempt_at,
        last_attempt_at=c.last_attempt_at,
        last_outcome=c.last_outcome,
        application_number=app_no,
        source_line=c.source_line,
    )


async def search(
    sessions: Sessions, campaign: str, state: str | None, q: str | None, page: int, per_page: int
) -> tuple[list[ContactOut], int]:
    async with sessions() as s:
        camp = await get_campaign(s, campaign)
        query = (
            select(Contact, Application.number)
            .outerjoin(Application, Application.id == Contact.application_id)
            .where(Contact.campaign_id == camp.id)
        )
        if state:
            query = query.where(Contact.state == state)
        if q:
            like = contains(q)
            matches = [
                Contact.phone.like(like, escape=ESCAPE),
                Contact.name.ilike(like, escape=ESCAPE),
                Application.number.like(starts_with(q), escape=ESCAPE),
            ]
            if search_key(q):
                matches.append(Application.search_key.like(f"{search_key(q)}%"))
            query = query.where(or_(*matches))
        rows, total = await fetch_page(s, query, Contact.id, page, per_page)
        return [_out(c, camp.name, n) for c, n in rows], total


async def edit(
    sessions: Sessions, contact_id: int, changes: ContactEdit, *, actor: str, region: str
) -> ContactOut:
    data = changes.model_dump(exclude_unset=True)
    async with sessions() as s:
        contact = await s.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}", field="id")
        camp = await s.get(Campaign, contact.campaign_id)
        assert camp is not None
        if contact.state == ContactState.DIALING:
            raise Conflict("the contact is being called right now; try again after the call", field="state")
        if data.get("phone") is not None:
            try:
                contact.phone = normalize(data["phone"], region)
            except InvalidPhone as e:
                raise ServiceError(f"bad phone: {e}", field="phone") from None
        if "name" in data:
            contact.name = data["name"]
        if data.get("state") is not None:
            contact.state = data["state"]
        if data.get("priority") is not None:
            contact.priority = data["priority"]
        if data.get("next_attempt_at") is not None:
            contact.next_attempt_at = data["next_attempt_at"]
        await audit(
            s,
            actor,
            "contact.edit",
            f"{camp.name}/{contact_id}",
            changes=changes.model_dump(mode="json", exclude_unset=True),
        )
        try:
            await s.commit()
        except IntegrityError:
            raise Conflict(
                "this number is already listed for the application in this campaign", field="phone"
            ) from None
        app_no = None
        if contact.application_id is not None:
            app_no = (
                await s.execute(select(Application.number).where(Application.id == contact.application_id))
            ).scalar_one_or_none()
        return _out(contact, camp.name, app_no)
