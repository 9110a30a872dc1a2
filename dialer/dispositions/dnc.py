"""Reading and removing do-not-call entries (adding is dialer.campaigns.services.add_dnc)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auditlog import audit
from dialer.db.models import DoNotCall
from dialer.db.paging import fetch_page
from dialer.errors import NotFound
from dialer.likes import ESCAPE, contains

Sessions = async_sessionmaker[AsyncSession]


class DncOut(BaseModel):
    phone: str
    reason: str | None
    added_by: str | None
    added_at: datetime


async def search(sessions: Sessions, q: str | None, page: int, per_page: int) -> tuple[list[DncOut], int]:
    query = select(DoNotCall)
    if q:
        query = query.where(DoNotCall.phone.like(contains(q), escape=ESCAPE))
    async with sessions() as s:
        rows, total = await fetch_page(s, query, DoNotCall.added_at.desc(), page, per_page)
        return [DncOut.model_validate(r, from_attributes=True) for (r,) in rows], total


async def remove(sessions: Sessions, phone: str, *, actor: str) -> None:
    """Allow calls to a number again. Contacts withdrawn as ``dnc`` stay withdrawn: re-import them to call."""
    async with sessions() as s:
        row = await s.get(DoNotCall, phone)
        if row is None:
            raise NotFound(f"{phone} is not on the do-not-call list", field="phone")
        await s.delete(row)
        await audit(s, actor, "dnc.remove", phone)
        await s.commit()
