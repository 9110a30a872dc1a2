"""The audit log: who did what to what, written in the same transaction as the change itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.db.models import AuditLog


async def audit(session: AsyncSession, actor: str, action: str, target: str | None, **details: Any) -> None:
    session.add(AuditLog(actor=actor, action=action, target=target, details=details))
