"""Who is calling: a browser session cookie or a bearer token, and the CSRF rule for browsers.

A browser's unsafe request (POST, PATCH, ...) must carry the session's CSRF token in ``X-CSRF-Token``:
a page on another site can make the browser send the cookie, but can not read the token from our pages.
Bearer-token callers are scripts; no other site can make them send the token, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from aiohttp import web

from dialer.web import users
from dialer.web.users import Identity

if TYPE_CHECKING:
    from dialer.service import Service

COOKIE = "dialer_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDENTITY = web.RequestKey("identity", object)


async def identify(request: web.Request, service: Service) -> Identity | None:
    if _IDENTITY in request:
        found = request[_IDENTITY]
        return found if isinstance(found, Identity) else None
    identity: Identity | None = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip() and token.isascii():
            identity = await users.resolve_token(service.sessions, token.strip())
    else:
        cookie = request.cookies.get(COOKIE, "")
        if cookie and cookie.isascii() and len(cookie) < 200:
            identity = await users.resolve_session(service.sessions, cookie)
    request[_IDENTITY] = identity
    return identity


def csrf_ok(request: web.Request, identity: Identity) -> bool:
    """True when the request needs no CSRF token or carries the right one."""
    if identity.csrf_token is None or request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), identity.csrf_token.encode())


def set_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(users.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
