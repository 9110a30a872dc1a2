"""The aiohttp application: operations endpoints (/healthz, /metrics) and the feature routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dialer.metrics import REGISTRY

if TYPE_CHECKING:
    from dialer.service import Service

SERVICE_KEY = web.AppKey("service", object)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers; the AMI link state is reported, and a down link is 'degraded'
    (the service keeps running and retrying), not a failure of the service itself."""
    svc = _service(request)
    health = await svc.health()
    status = 200 if health["database"] == "ok" else 503
    return web.json_response(health, status=status)


async def metrics(_request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SERVICE_KEY] = service
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
