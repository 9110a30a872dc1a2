"""Wires the web feature into the service (see dialer.service.PLUGINS): the REST API under /api/v1, its
OpenAPI document, the server-sent event streams and the browser pages."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from dialer.web import (  # noqa: F401  (importing a module registers its routes in API)
    agents,
    applications,
    attempts,
    calls,
    campaigns,
    dashboard,
    dnc,
    imports,
    jobs,
    me,
    offices,
    pages,
    reports,
    session,
    sse,
    tokens,
)
from dialer.web.api import API, json_errors
from dialer.web.passwords import HASHER, dummy_hash
from dialer.web.throttle import LoginThrottle

if TYPE_CHECKING:
    from dialer.service import Service


def setup(service: Service) -> None:
    app = service.app
    app.middlewares.append(json_errors)
    http = service.settings.http
    session.install(
        app, LoginThrottle(http.login_failures_per_user, http.login_failures_per_address, http.login_window)
    )

    async def warm_dummy_hash(_app: web.Application) -> None:
        # made before the first login, so an unknown name never costs more than a known one
        await asyncio.get_running_loop().run_in_executor(HASHER, dummy_hash)

    app.on_startup.append(warm_dummy_hash)
    sse.install(app, service.sessions)
    jobs.install(app)
    calls.install(app, service.bus)
    dashboard.install(app, service)
    API.mount(app, service)
    pages.add_routes(app, service)
