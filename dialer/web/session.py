"""Log in and out (browser sessions), and the OpenAPI document."""

from __future__ import annotations

import logging
import math
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from dialer.web import auth, openapi, users
from dialer.web.api import ANYONE, API, PUBLIC, ApiRequest
from dialer.web.errors import ApiError, error_response
from dialer.web.schemas import Model, Ok
from dialer.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

THROTTLE = web.AppKey("login_throttle", LoginThrottle)


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
async def login(call: ApiRequest) -> web.StreamResponse:
    """The body must be JSON, which a form on another site can not send: that is the login's CSRF guard.
    After a few failed logins for one user name, or many from one address, the answer is 429 with
    ``Retry-After`` (seconds) until the window has passed; failed logins are logged and audited."""
    name, address = call.body.username, auth.client_address(call.request)
    throttle = call.request.app[THROTTLE]
    wait = throttle.retry_after(name, address)
    if wait > 0:
        log.info("login for %r from %s throttled for %.0f s", name, address, wait)
        resp = error_response(429, "too many failed logins; try again later", "username")
        resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return resp
    user = await users.authenticate(call.service.sessions, name, call.body.password)
    if user is None:
        throttle.failed(name, address)
        log.warning("failed login for %r from %s", name, address)
        await users.login_failed(call.service.sessions, name, address)
        raise ApiError(401, "wrong user name or password", "password")
    throttle.succeeded(name)
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
async def logout(call: ApiRequest) -> web.StreamResponse:
    if call.user.session_id is not None:
        await users.close_session(call.service.sessions, call.user.session_id)
    resp = web.json_response(Ok(message="logged out").model_dump())
    auth.clear_cookie(resp)
    return resp


@API.route("GET", "/openapi.json", summary="This document", tag="session", roles=PUBLIC)
async def openapi_document(call: ApiRequest) -> web.StreamResponse:
    return web.json_response(openapi.build(API))


def install(app: web.Application, throttle: LoginThrottle) -> None:
    app[THROTTLE] = throttle
