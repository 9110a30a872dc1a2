"""Campaign endpoints: create, edit (draft or paused), start/pause/resume/stop, stats, and the contact list.

Everything goes through dialer.campaigns.services, the same functions the CLI calls; this module only
translates HTTP to those calls and back.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from dialer.applications import contacts
from dialer.applications.schemas import ContactEdit, ContactOut
from dialer.campaigns import activity, services, settings
from dialer.campaigns.schemas import CampaignSpec, CampaignStatus
from dialer.campaigns.services import get_campaign
from dialer.campaigns.settings import CampaignSettings
from dialer.db.models import Campaign, CampaignState
from dialer.errors import Conflict
from dialer.web import jobs
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.schemas import IdParam, Model, NameParam, Page, PageQuery, Text


def _edit_model() -> type[BaseModel]:
    """CampaignSpec's fields, each optional to give but never null, with the spec's own constraints: the
    OpenAPI document then says exactly what an edit may contain (the merged result is validated as a
    CampaignSpec by the service)."""
    fields: dict[str, Any] = {}
    for name, spec_field in CampaignSpec.model_fields.items():
        info = FieldInfo.merge_field_infos(spec_field, default=None)
        info.default_factory = None
        fields[name] = (spec_field.annotation, info)
    return create_model(
        "CampaignEdit",
        __base__=Model,
        __doc__="Only the fields given change; the result must still be a valid campaign.",
        **fields,
    )


CampaignEdit = _edit_model()


def _out_model() -> type[BaseModel]:
    """The answer: name, state, every setting as the row holds it (``settings.stored_type``) and the
    status, in that order."""
    fields: dict[str, Any] = {"name": (str, ...), "state": (str, ...)}
    for name, info in CampaignSettings.model_fields.items():
        fields[name] = (settings.stored_type(name), Field(description=info.description))
    fields["status"] = (CampaignStatus, ...)
    return create_model("CampaignOut", **fields)


if TYPE_CHECKING:  # a model made at run time: to the type checker, a model
    CampaignOut = BaseModel
else:
    CampaignOut = _out_model()


class CampaignList(BaseModel):
    items: list[CampaignOut]


class CampaignStats(BaseModel):
    status: CampaignStatus
    live: dict[str, Any] = Field(description="the engine's live figures (dial level, calls waiting, ...)")


class ContactQuery(PageQuery):
    state: Literal["pending", "dialing", "done", "exhausted", "invalid", "dnc", "cancelled"] | None = None
    q: Text | None = Field(
        None, max_length=100, description="part of the phone or name, or an application number"
    )


async def status_of(call: ApiRequest, name: str) -> CampaignStatus:
    """The campaign's status with what it is doing now (the engine's facts from the live snapshot)."""
    return await activity.campaign_status(
        call.service.sessions,
        name,
        engine=activity.SnapshotFacts(call.service.live_snapshot()),
        default_window=activity.default_window(call.service.settings),
    )


async def _out(call: ApiRequest, camp: Campaign) -> CampaignOut:
    status = await status_of(call, camp.name)
    return CampaignOut(name=camp.name, state=camp.state, **settings.of_row(camp), status=status)


async def _load(call: ApiRequest, name: str) -> Campaign:
    async with call.service.sessions() as s:
        return await get_campaign(s, name)


@API.route(
    "GET",
    "/campaigns",
    summary="All campaigns with their status",
    tag="campaigns",
    roles=ADMIN,
    response=CampaignList,
)
async def list_campaigns(call: ApiRequest) -> CampaignList:
    return CampaignList(
        items=[await _out(call, c) for c in await services.list_campaigns(call.service.sessions)]
    )


@API.route(
    "POST",
    "/campaigns",
    summary="Create a campaign (a draft)",
    tag="campaigns",
    roles=ADMIN,
    body=CampaignSpec,
    response=CampaignOut,
    status=201,
)
async def create_campaign(call: ApiRequest) -> CampaignOut:
    st = call.service.settings
    camp = await services.create_campaign(
        call.service.sessions,
        call.body,
        actor=call.actor,
        default_tz=st.timezone,
        default_caller_id=st.caller_id,
    )
    return await _out(call, camp)


@API.route(
    "GET",
    "/campaigns/{name}",
    summary="One campaign",
    tag="campaigns",
    roles=ADMIN,
    path_model=NameParam,
    response=CampaignOut,
)
async def get_campaign_detail(call: ApiRequest) -> CampaignOut:
    return await _out(call, await _load(call, call.path.name))


@API.route(
    "PATCH",
    "/campaigns/{name}",
    summary="Edit a draft or paused campaign",
    tag="campaigns",
    roles=ADMIN,
    path_model=NameParam,
    body=CampaignEdit,
    response=CampaignOut,
)
async def edit_campaign(call: ApiRequest) -> CampaignOut:
    changes = call.body.model_dump(exclude_unset=True)
    if "window" in changes and call.body.window is not None:
        changes["window"] = call.body.window.model_dump(mode="json")
    camp = await services.edit_campaign(call.service.sessions, call.path.name, changes, actor=call.actor)
    return await _out(call, camp)


def _transition(action: str) -> Any:
    async def handler(call: ApiRequest) -> CampaignOut:
        camp = await services.change_state(call.service.sessions, call.path.name, action, actor=call.actor)
        return await _out(call, camp)

    handler.__name__ = f"{action}_campaign"
    return handler


for _action, _text in (
    ("start", "Start dialling a draft campaign"),
    ("pause", "Pause: no new calls; calls in flight finish"),
    ("resume", "Resume a paused campaign"),
    ("stop", "Stop for good; pending contacts are cancelled"),
):
    API.route(
        "POST",
        f"/campaigns/{{name}}/{_action}",
        summary=_text,
        tag="campaigns",
        roles=ADMIN,
        path_model=NameParam,
        response=CampaignOut,
    )(_transition(_action))


@API.route(
    "GET",
    "/campaigns/{name}/stats",
    summary="Contacts by state, attempts by outcome, live figures",
    tag="campaigns",
    roles=ADMIN,
    path_model=NameParam,
    response=CampaignStats,
)
async def campaign_stats(call: ApiRequest) -> CampaignStats:
    status = await status_of(call, call.path.name)
    live = call.service.live_snapshot().get("campaigns", {}).get(status.name, {})
    return CampaignStats(status=status, live=live)


@API.route(
    "POST",
    "/campaigns/{name}/contacts/import",
    summary="Upload a contacts CSV (phone, application_number, name)",
    tag="contacts",
    roles=ADMIN,
    path_model=NameParam,
    upload=True,
    response=jobs.ImportJobOut,
    status=202,
)
async def import_contacts(call: ApiRequest) -> jobs.ImportJobOut:
    """Streams the upload to disk and imports it in the background; follow the job at /imports/{id}.
    Rows are rejected with their line number and reason (bad phone, duplicate, missing field)."""
    name = call.path.name
    camp = await _load(call, name)
    if camp.state in (CampaignState.STOPPED, CampaignState.COMPLETED):
        raise Conflict(f"campaign {name!r} is {camp.state}; contacts can no longer be added", field="state")
    path, filename, size = await jobs.receive_upload(call.request, call.service.settings.data_dir / "uploads")
    try:
        jobs.check_header(path, ("phone", "application_number", "name"))
    except Exception:
        jobs.discard(path)
        raise
    region = call.service.settings.outbound.default_region
    actor = call.actor

    async def run(stream: IO[bytes], job: jobs.ImportJob) -> Any:
        return await services.import_contacts(
            call.service.sessions, name, stream, actor=actor, region=region, on_progress=job.progress
        )

    job = jobs.ImportJob("contacts", name, filename, actor, size)
    return jobs.start(call.request.app, job, path, run).out()


@API.route(
    "GET",
    "/campaigns/{name}/contacts",
    summary="List and search a campaign's contacts",
    tag="contacts",
    roles=ADMIN,
    path_model=NameParam,
    query=ContactQuery,
    response=Page[ContactOut],
)
async def list_contacts(call: ApiRequest) -> Page[ContactOut]:
    q = call.query
    items, total = await contacts.search(
        call.service.sessions, call.path.name, q.state, q.q, q.page, q.per_page
    )
    return Page[ContactOut](items=items, total=total, page=q.page, per_page=q.per_page)


@API.route(
    "PATCH",
    "/contacts/{id}",
    summary="Correct one contact",
    tag="contacts",
    roles=ADMIN,
    path_model=IdParam,
    body=ContactEdit,
    response=ContactOut,
)
async def edit_contact(call: ApiRequest) -> ContactOut:
    region = call.service.settings.outbound.default_region
    return await contacts.edit(
        call.service.sessions, call.path.id, call.body, actor=call.actor, region=region
    )
