"""Import job endpoints: progress (JSON or live events) and the report of rejected rows."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from dialer.campaigns.schemas import RejectedRow
from dialer.web import jobs, sse
from dialer.web.api import ADMIN, API, CSV, SSE, ApiRequest
from dialer.web.csvdownload import stream_csv
from dialer.web.errors import ApiError
from dialer.web.schemas import Model, Page, PageQuery


class JobParam(Model):
    id: str = Field(pattern=r"^[0-9a-f]{1,32}$")


class JobList(BaseModel):
    items: list[jobs.ImportJobOut]


def _job(call: ApiRequest) -> jobs.ImportJob:
    job: jobs.ImportJob | None = call.request.app[jobs.JOBS].get(call.path.id)
    if job is None:
        raise ApiError(404, f"no import job {call.path.id}", "id")
    return job


@API.route("GET", "/imports", summary="Recent import jobs", tag="imports", roles=ADMIN, response=JobList)
async def list_imports(call: ApiRequest) -> JobList:
    return JobList(items=[j.out() for j in reversed(call.request.app[jobs.JOBS].values())])


@API.route(
    "GET",
    "/imports/{id}",
    summary="Progress of an import",
    tag="imports",
    roles=ADMIN,
    path_model=JobParam,
    response=jobs.ImportJobOut,
)
async def get_import(call: ApiRequest) -> jobs.ImportJobOut:
    return _job(call).out()


@API.route(
    "GET",
    "/imports/{id}/rejected",
    summary="Rejected rows with line number and reason",
    tag="imports",
    roles=ADMIN,
    path_model=JobParam,
    query=PageQuery,
    response=Page[RejectedRow],
)
async def import_rejected(call: ApiRequest) -> Page[RejectedRow]:
    rows = _job(call).rejected
    q = call.query
    start = (q.page - 1) * q.per_page
    return Page[RejectedRow](
        items=rows[start : start + q.per_page], total=len(rows), page=q.page, per_page=q.per_page
    )


@API.route(
    "GET",
    "/imports/{id}/warnings",
    summary="Rows kept with a warning (line number and reason)",
    tag="imports",
    roles=ADMIN,
    path_model=JobParam,
    query=PageQuery,
    response=Page[RejectedRow],
)
async def import_warnings(call: ApiRequest) -> Page[RejectedRow]:
    """E.g. application numbers a caller can not key, or whose digits another application shares."""
    rows = _job(call).warnings
    q = call.query
    start = (q.page - 1) * q.per_page
    return Page[RejectedRow](
        items=rows[start : start + q.per_page], total=len(rows), page=q.page, per_page=q.per_page
    )


@API.route(
    "GET",
    "/imports/{id}/rejected.csv",
    summary="Rejected rows as CSV",
    tag="imports",
    roles=ADMIN,
    path_model=JobParam,
    media=CSV,
)
async def import_rejected_csv(call: ApiRequest) -> web.StreamResponse:
    job = _job(call)
    rows = [(r.line, r.reason) for r in list(job.rejected)]
    return await stream_csv(call.request, f"rejected-{job.id}.csv", ("line", "reason"), rows)


@API.route(
    "GET",
    "/imports/{id}/events",
    summary="Live progress (server-sent events 'progress')",
    tag="imports",
    roles=ADMIN,
    path_model=JobParam,
    media=SSE,
    events=(("progress", jobs.ImportJobOut),),
)
async def import_events(call: ApiRequest) -> web.StreamResponse:
    job = _job(call)
    async with sse.open_stream(call.request) as out:
        while out.open:
            await out.send("progress", job.out().model_dump(mode="json"))
            if job.state != "running":
                break
            await out.sleep(0.5)
        return out.response
