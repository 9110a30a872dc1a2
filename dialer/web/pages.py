"""The browser pages: login, admin dashboard, imports, agent page. Plain HTML with a little JavaScript
that talks to the same /api/v1 as scripts do; nothing is fetched from outside (the site has no internet)."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from aiohttp import web

from dialer.web import auth
from dialer.web.models import Role
from dialer.web.users import Identity

if TYPE_CHECKING:
    from dialer.service import Service

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(name: str, **values: str) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    return Template(text).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def _page(name: str, identity: Identity | None, title: str) -> web.Response:
    values = {
        "title": title,
        "csrf": (identity.csrf_token or "") if identity else "",
        "username": identity.username if identity else "",
        "extension": (identity.extension or "") if identity else "",
    }
    return web.Response(text=render(name, **values), content_type="text/html", headers=SECURITY_HEADERS)


def _home(identity: Identity) -> str:
    return "/admin" if identity.role is Role.ADMIN else "/agent"


def add_routes(app: web.Application, service: Service) -> None:
    async def who(request: web.Request) -> Identity | None:
        return await auth.identify(request, service)

    def page(
        name: str, title: str, role: Role | None
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            identity = await who(request)
            if role is None:  # the login page
                if identity is not None and identity.csrf_token:
                    raise web.HTTPFound(_home(identity))
                return _page(name, None, title)
            if identity is None or identity.csrf_token is None:
                raise web.HTTPFound("/login")
            if identity.role is not role:
                raise web.HTTPFound(_home(identity))
            return _page(name, identity, title)

        return view

    async def root(request: web.Request) -> web.StreamResponse:
        identity = await who(request)
        raise web.HTTPFound(_home(identity) if identity is not None else "/login")

    app.router.add_get("/", root)
    app.router.add_get("/login", page("login.html", "Log in", None))
    app.router.add_get("/admin", page("admin.html", "Dashboard", Role.ADMIN))
    app.router.add_get("/admin/imports", page("imports.html", "Imports", Role.ADMIN))
    app.router.add_get("/agent", page("agent.html", "Agent", Role.AGENT))
    app.router.add_static("/static", STATIC, append_version=False)
