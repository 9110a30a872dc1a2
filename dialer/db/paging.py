"""One page of a query's rows and the count of all of them: what every paged list (contacts, applications,
do-not-call, attempts, dispositions, the audit log) answers with, counted and cut the same way."""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T", bound=tuple[Any, ...])


class Paged(NamedTuple):
    rows: list[Row[Any]]
    total: int


async def fetch_page(s: AsyncSession, query: Select[T], order: Any, page: int, per_page: int) -> Paged:
    """Rows ``(page - 1) * per_page`` onwards, at most ``per_page``, in ``order`` (pages are 1-based); the
    total counts every row of ``query``, whatever order it had."""
    total = (await s.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = (await s.execute(query.order_by(order).limit(per_page).offset((page - 1) * per_page))).all()
    return Paged(list(rows), int(total))
