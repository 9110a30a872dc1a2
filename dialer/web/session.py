"""Log in and out (browser sessions), and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from dialer.web import auth, openapi, users
from dialer.web.api import ANYONE, API, PUBLIC, Call
from dialer.web.errors import ApiError
from dialer.web.schemas import Model, Ok


class LoginIn(Model):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    username: str
    role: str
    extension: str | None
    csrf_token: str = Field(description="send it back in the X-CSRF-Token header on every change")
    expires_at: datetime


@API.route(
    "POST",
    "/session",
    summary="Log in with a password (sets the session cookie)",
    tag="session",
    roles=PUBLIC,
    body=LoginIn,
    response=SessionOut,
)
async def login(call: Call) -> web.StreamResponse:
    """The body must be JSON, which a form on another site can not send: that is the login's CSRF guard."""
    user = await users.authenticate(call.service.sessions, call.body.username, call.body.password)
    if user is None:
        raise ApiError(401, "wrong user name or password", "password")
    cookie, row = await users.open_session(call.service.sessions, user)
    async with call.service.sessions() as s:
        ident = await users.identity_for(s, user, row.csrf_token, row.id)
    body = SessionOut(
        username=user.username,
        role=user.role,
        extension=ident.extension,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )
    resp = web.json_response(body.model_dump(mode="json"))
    auth.set_cookie(resp, call.request, cookie)
    return resp


@API.route("DELETE", "/session", summary="Log out", tag="session", roles=ANYONE, response=Ok)
async def logout(call: Call) -> web.StreamResponse:
    if call.user.session_id is not None:
        await users.close_session(call.service.sessions, call.user.session_id)
    resp = web.json_response(Ok(message="logged out").model_dump())
    auth.clear_cookie(resp)
    return resp


@API.route("GET", "/openapi.json", summary="This document", tag="session", roles=PUBLIC)
async def openapi_document(call: Call) -> web.StreamResponse:
    return web.json_response(openapi.build(API))
