"""Bearer tokens, for admins: which exist (never their values: only hashes are stored) and revoking one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from dialer.web import users
from dialer.web.api import ADMIN, API, ApiRequest
from dialer.web.schemas import IdParam


class TokenOut(BaseModel):
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenList(BaseModel):
    items: list[TokenOut]


def _out(t: users.TokenInfo) -> TokenOut:
    return TokenOut(
        id=t.id,
        username=t.username,
        name=t.name,
        created_at=t.created_at,
        expires_at=t.expires_at,
        last_used_at=t.last_used_at,
    )


@API.route(
    "GET", "/tokens", summary="Bearer tokens of every user", tag="tokens", roles=ADMIN, response=TokenList
)
async def list_tokens(call: ApiRequest) -> TokenList:
    return TokenList(items=[_out(t) for t in await users.list_tokens(call.service.sessions)])


@API.route(
    "DELETE",
    "/tokens/{id}",
    summary="Revoke one bearer token",
    tag="tokens",
    roles=ADMIN,
    path_model=IdParam,
    response=TokenOut,
)
async def revoke_token(call: ApiRequest) -> TokenOut:
    return _out(await users.revoke_token(call.service.sessions, call.path.id, actor=call.actor))
