"""Application endpoints: CSV import (background job), list/search, one, edit."""

from __future__ import annotations

from typing import IO, Any

from pydantic import Field

from dialer.applications import services
from dialer.applications.schemas import ApplicationEdit, ApplicationOut, StatusName
from dialer.web import jobs
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.schemas import Model, Page, PageQuery, Text


class NumberParam(Model):
    number: Text = Field(min_length=1, max_length=32)


class ApplicationQuery(PageQuery):
    q: Text | None = Field(None, max_length=100, description="number prefix, part of the name or phone")
    status: StatusName | None = None


@API.route(
    "POST",
    "/applications/import",
    summary="Upload an applications CSV",
    tag="applications",
    roles=ADMIN,
    upload=True,
    response=jobs.ImportJobOut,
    status=202,
)
async def import_applications(call: ApiRequest) -> jobs.ImportJobOut:
    """Columns: application_number, applicant_name, phone, status (required), pickup_office, pickup_from,
    expected_date; UTF-8 or cp1251, ';' or ','. Known numbers are updated, new ones created. Follow the
    job at /imports/{id}; rejected rows come with line number and reason."""
    path, filename, size = await jobs.receive_upload(call.request, call.service.settings.data_dir / "uploads")
    try:
        jobs.check_header(path, services.REQUIRED)
    except Exception:
        jobs.discard(path)
        raise
    region = call.service.settings.outbound.default_region
    actor = call.actor
    sessions = call.service.sessions

    async def run(stream: IO[bytes], job: jobs.ImportJob) -> Any:
        return await services.import_applications(
            sessions, stream, actor=actor, region=region, on_progress=job.progress
        )

    job = jobs.ImportJob("applications", None, filename, actor, size)
    return jobs.start(call.request.app, job, path, run).out()


@API.route(
    "GET",
    "/applications",
    summary="List and search applications",
    tag="applications",
    roles=ADMIN,
    query=ApplicationQuery,
    response=Page[ApplicationOut],
)
async def list_applications(call: ApiRequest) -> Page[ApplicationOut]:
    q = call.query
    items, total = await services.search(call.service.sessions, q.q, q.status, q.page, q.per_page)
    return Page[ApplicationOut](items=items, total=total, page=q.page, per_page=q.per_page)


@API.route(
    "GET",
    "/applications/{number}",
    summary="One application",
    tag="applications",
    roles=ADMIN,
    path_model=NumberParam,
    response=ApplicationOut,
)
async def get_application(call: ApiRequest) -> ApplicationOut:
    return await services.get(call.service.sessions, call.path.number)


@API.route(
    "PATCH",
    "/applications/{number}",
    summary="Edit an application",
    tag="applications",
    roles=ADMIN,
    path_model=NumberParam,
    body=ApplicationEdit,
    response=ApplicationOut,
)
async def edit_application(call: ApiRequest) -> ApplicationOut:
    region = call.service.settings.outbound.default_region
    return await services.edit(
        call.service.sessions, call.path.number, call.body, actor=call.actor, region=region
    )
