"""Who is calling: a browser session cookie or a bearer token, and the CSRF rule for browsers.

A browser's unsafe request (POST, PATCH, ...) must carry the session's CSRF token in ``X-CSRF-Token``:
a page on another site can make the browser send the cookie, but can not read the token from our pages.
Bearer-token callers are scripts; no other site can make them send the token, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any

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


def cached_identity(request: web.Request) -> Identity | None:
    """Who this request was identified as (``identify`` ran earlier in the request), or None."""
    found = request.get(_IDENTITY)
    return found if isinstance(found, Identity) else None


def csrf_ok(request: web.Request, identity: Identity) -> bool:
    """True when the request needs no CSRF token or carries the right one."""
    if identity.csrf_token is None or request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), identity.csrf_token.encode())


def _settings(request: web.Request) -> Any:
    from dialer.web.app import SERVICE_KEY

    return request.app[SERVICE_KEY].settings  # type: ignore[attr-defined]


def _in(address: str, networks: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in ipaddress.ip_network(n, strict=False) for n in networks)


def from_trusted_proxy(request: web.Request) -> bool:
    return _in(request.remote or "", list(_settings(request).http.trusted_proxies))


def client_address(request: web.Request) -> str:
    """The caller's address: the peer, or the last hop a configured proxy put in X-Forwarded-For."""
    remote = request.remote or ""
    if from_trusted_proxy(request):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return remote


def in_networks(address: str, networks: list[str]) -> bool:
    return _in(address, networks)


def is_https(request: web.Request) -> bool:
    """TLS here, or at a configured proxy that says so (X-Forwarded-Proto), or ``http.secure_cookies``."""
    if request.secure or _settings(request).http.secure_cookies:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and from_trusted_proxy(request)


def set_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(users.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
        path="/",
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
