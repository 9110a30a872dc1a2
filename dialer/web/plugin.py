"""Wires the web feature into the service (see dialer.service.PLUGINS): the REST API under /api/v1, its
OpenAPI document, the server-sent event streams and the browser pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    pages,
    reports,
    session,
    sse,
)
from dialer.web.api import API, json_errors

if TYPE_CHECKING:
    from dialer.service import Service


def setup(service: Service) -> None:
    app = service.app
    app.middlewares.append(json_errors)
    sse.install(app)
    jobs.install(app)
    calls.install(app, service.bus)
    dashboard.install(app)
    API.mount(app, service)
    pages.add_routes(app, service)
