"""The browser pages: login, admin dashboard, imports, agent page. Plain HTML with a little JavaScript
that talks to the same /api/v1 as scripts do; nothing is fetched from outside (the site has no internet).

Each page is sent in its user's language (dialer.web.i18n; Russian unless the user chose English) and
carries the call centre's time zone, in which its JavaScript shows every time (the header says which)."""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from dialer.web import auth, i18n
from dialer.web.models import Role, User
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


@functools.cache
def _translated(name: str, language: str) -> str:
    """A template in one language, read and translated once (not on the event loop at every request)."""
    return i18n.translate_template((TEMPLATES / name).read_text(encoding="utf-8"), language, html.escape)


def render(name: str, language: str, raw: dict[str, str] | None = None, **values: str) -> str:
    """The template with its {{text}} markers in ``language``, then $values (escaped) and raw HTML/JSON."""
    text = _translated(name, language)
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    return Template(text).substitute({**escaped, **(raw or {})})


def tz_label(tz: str, now: datetime | None = None) -> str:
    """ "Europe/Moscow (UTC+03:00)": the zone by name and its offset now."""
    at = (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz))
    off = at.strftime("%z")
    return f"{tz} (UTC{off[:3]}:{off[3:]})"


def _lang_select(lang: str) -> str:
    options = "".join(
        f'<option value="{code}"{" selected" if code == lang else ""}>{html.escape(name)}</option>'
        for code, name in i18n.NAMES.items()
    )
    label = html.escape(i18n.catalogue(lang).gettext("Language"), quote=True)
    return f'<select id="lang" aria-label="{label}" title="{label}">{options}</select>'


def _page(name: str, identity: Identity | None, lang: str, tz: str) -> web.Response:
    values = {
        "lang": lang,
        "tz": tz,
        "tz_label": tz_label(tz),
        "csrf": (identity.csrf_token or "") if identity else "",
        "username": identity.username if identity else "",
        "extension": (identity.extension or "") if identity else "",
    }
    raw = {"i18n": i18n.js_block(lang), "lang_select": _lang_select(lang)}
    headers = {**SECURITY_HEADERS, "Content-Language": lang}
    return web.Response(text=render(name, lang, raw, **values), content_type="text/html", headers=headers)


async def _language(service: Service, identity: Identity) -> str:
    async with service.sessions() as s:
        found = (await s.execute(select(User.language).where(User.id == identity.user_id))).scalar()
    return i18n.normalise(found)


def _home(identity: Identity) -> str:
    return "/admin" if identity.role is Role.ADMIN else "/agent"


def add_routes(app: web.Application, service: Service) -> None:
    async def who(request: web.Request) -> Identity | None:
        return await auth.identify(request, service)

    tz = service.settings.timezone

    def page(name: str, role: Role | None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            identity = await who(request)
            if role is None:  # the login page: Russian unless ?lang=en
                if identity is not None and identity.csrf_token:
                    raise web.HTTPFound(_home(identity))
                return _page(name, None, i18n.normalise(request.query.get("lang")), tz)
            if identity is None or identity.csrf_token is None:
                raise web.HTTPFound("/login")
            if identity.role is not role:
                raise web.HTTPFound(_home(identity))
            return _page(name, identity, await _language(service, identity), tz)

        return view

    async def root(request: web.Request) -> web.StreamResponse:
        identity = await who(request)
        raise web.HTTPFound(_home(identity) if identity is not None else "/login")

    async def favicon(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "favicon.ico", headers={"Content-Type": "image/x-icon"})

    for lang in i18n.LANGUAGES:  # catalogues and pages read now, before the service answers anyone
        i18n.js_block(lang)
        for name in ("login.html", "admin.html", "imports.html", "agent.html"):
            _translated(name, lang)
    app.middlewares.insert(0, i18n.translate_errors)  # outermost: it sees the router's own errors too
    app.router.add_get("/", root)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/login", page("login.html", None))
    app.router.add_get("/admin", page("admin.html", Role.ADMIN))
    app.router.add_get("/admin/imports", page("imports.html", Role.ADMIN))
    app.router.add_get("/agent", page("agent.html", Role.AGENT))
    app.router.add_static("/static", STATIC, append_version=False)
