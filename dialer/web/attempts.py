"""Call attempts and dispositions: filtered pages, and CSV exports streamed row by row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from dialer.dispositions import history
from dialer.dispositions.history import AttemptRow, DispositionRow
from dialer.dispositions.schemas import DispositionKind
from dialer.web.api import ADMIN, API, CSV, ApiRequest
from dialer.web.csvdownload import stream_csv
from dialer.web.schemas import Day, Model, Page, Text


class _Filters(Model):
    campaign: Text | None = Field(None, max_length=100)
    date_from: Day | None = Field(None, description="first day (local to the call centre), YYYY-MM-DD")
    date_to: Day | None = Field(None, description="last day, included")
    agent: str | None = Field(None, pattern=r"^[0-9]{1,32}$", description="agent extension")

    @model_validator(mode="after")
    def _order(self) -> _Filters:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to: must not be before date_from")
        return self


class AttemptFilters(_Filters):
    outcome: Text | None = Field(None, max_length=16, description="connected, abandoned, busy, noanswer, ...")


class DispositionFilters(_Filters):
    kind: DispositionKind | None = None


class AttemptQuery(AttemptFilters):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=500)


class DispositionQuery(DispositionFilters):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=500)


def _filter(q: AttemptFilters | DispositionFilters) -> history.Filter:
    outcome = q.outcome if isinstance(q, AttemptFilters) else q.kind
    return history.Filter(
        campaign=q.campaign, date_from=q.date_from, date_to=q.date_to, outcome=outcome, agent=q.agent
    )


@API.route(
    "GET",
    "/attempts",
    summary="Call attempts",
    tag="attempts",
    roles=ADMIN,
    query=AttemptQuery,
    response=Page[AttemptRow],
)
async def list_attempts(call: ApiRequest) -> Page[AttemptRow]:
    q = call.query
    items, total = await history.list_attempts(
        call.service.sessions, _filter(q), call.service.settings.timezone, q.page, q.per_page
    )
    return Page[AttemptRow](items=items, total=total, page=q.page, per_page=q.per_page)


@API.route(
    "GET",
    "/dispositions",
    summary="Dispositions",
    tag="dispositions",
    roles=ADMIN,
    query=DispositionQuery,
    response=Page[DispositionRow],
)
async def list_dispositions(call: ApiRequest) -> Page[DispositionRow]:
    q = call.query
    items, total = await history.list_dispositions(
        call.service.sessions, _filter(q), call.service.settings.timezone, q.page, q.per_page
    )
    return Page[DispositionRow](items=items, total=total, page=q.page, per_page=q.per_page)


async def _csv(
    call: ApiRequest, name: str, fields: list[str], rows: AsyncIterator[BaseModel]
) -> web.StreamResponse:
    async def cells() -> AsyncIterator[list[Any]]:
        async for row in rows:
            data = row.model_dump(mode="json")
            yield [data[f] for f in fields]

    return await stream_csv(call.request, f"{name}.csv", fields, cells())


@API.route(
    "GET",
    "/attempts/export",
    summary="Call attempts as CSV (streamed)",
    tag="attempts",
    roles=ADMIN,
    query=AttemptFilters,
    media=CSV,
)
async def export_attempts(call: ApiRequest) -> web.StreamResponse:
    rows = history.iter_attempts(call.service.sessions, _filter(call.query), call.service.settings.timezone)
    return await _csv(call, "attempts", list(AttemptRow.model_fields), rows)


@API.route(
    "GET",
    "/dispositions/export",
    summary="Dispositions as CSV (streamed)",
    tag="dispositions",
    roles=ADMIN,
    query=DispositionFilters,
    media=CSV,
)
async def export_dispositions(call: ApiRequest) -> web.StreamResponse:
    rows = history.iter_dispositions(
        call.service.sessions, _filter(call.query), call.service.settings.timezone
    )
    return await _csv(call, "dispositions", list(DispositionRow.model_fields), rows)
