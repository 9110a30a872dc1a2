"""Do-not-call list endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from dialer.campaigns import services
from dialer.dispositions import dnc
from dialer.dispositions.dnc import DncOut
from dialer.phones import InvalidPhone, normalize
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.errors import ApiError
from dialer.web.schemas import Model, Ok, Page, PageQuery, Text


class DncQuery(PageQuery):
    q: Text | None = Field(None, max_length=40, description="part of the number")


class DncAdd(Model):
    phones: list[Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()-]{2,39}$")]] = Field(
        min_length=1,
        max_length=1000,
        description="phone numbers (E.164, or national with the default region)",
    )
    reason: Text | None = Field(None, max_length=200)


class DncAdded(BaseModel):
    added: int
    phones: list[str]


class PhoneParam(Model):
    phone: Text = Field(min_length=1, max_length=40)


@API.route(
    "GET",
    "/dnc",
    summary="The do-not-call list",
    tag="dnc",
    roles=ADMIN,
    query=DncQuery,
    response=Page[DncOut],
)
async def list_dnc(call: ApiRequest) -> Page[DncOut]:
    q = call.query
    items, total = await dnc.search(call.service.sessions, q.q, q.page, q.per_page)
    return Page[DncOut](items=items, total=total, page=q.page, per_page=q.per_page)


@API.route(
    "POST", "/dnc", summary="Never call these numbers", tag="dnc", roles=ADMIN, body=DncAdd, response=DncAdded
)
async def add_dnc(call: ApiRequest) -> DncAdded:
    """Pending contacts with these numbers are withdrawn at once, in every campaign."""
    region = call.service.settings.outbound.default_region
    phones = []
    for i, raw in enumerate(call.body.phones):
        try:
            phones.append(normalize(raw, region))
        except InvalidPhone as e:
            raise ApiError(422, f"phones.{i}: bad phone {raw!r}: {e}", f"phones.{i}") from None
    n = await services.add_dnc(
        call.service.sessions, phones, actor=call.actor, reason=call.body.reason, region=region
    )
    return DncAdded(added=n, phones=phones)


@API.route(
    "DELETE",
    "/dnc/{phone}",
    summary="Take a number off the list",
    tag="dnc",
    roles=ADMIN,
    path_model=PhoneParam,
    response=Ok,
)
async def remove_dnc(call: ApiRequest) -> Ok:
    region = call.service.settings.outbound.default_region
    try:
        phone = normalize(call.path.phone, region)
    except InvalidPhone as e:  # no such number can be on the list
        raise ApiError(
            404, f"{call.path.phone} is not on the do-not-call list (not a phone number: {e})", "phone"
        ) from None
    await dnc.remove(call.service.sessions, phone, actor=call.actor)
    return Ok(message=f"{phone} may be called again")
