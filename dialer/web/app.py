"""The aiohttp application: operations endpoints (/healthz, /metrics) and the feature routes."""

from __future__ import annotations

import hmac
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dialer.metrics import REGISTRY

if TYPE_CHECKING:
    from dialer.config import Settings
    from dialer.service import Service

SERVICE_KEY = web.AppKey("service", object)
# uploads are streamed part by part (dialer.web.jobs); JSON bodies have their own caps (dialer.web.api)
CLIENT_MAX_SIZE = 1024 * 1024


def _service(request: web.Request) -> Service:
    return request.app[SERVICE_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers; the AMI link state is reported, and a down link is 'degraded'
    (the service keeps running and retrying), not a failure of the service itself."""
    svc = _service(request)
    health = await svc.health()
    status = 200 if health["database"] == "ok" else 503
    return web.json_response(health, status=status)


async def metrics(request: web.Request) -> web.Response:
    """Loopback (``http.metrics_allow``) or ``Authorization: Bearer <http.metrics_token>`` only: the
    figures tell an outsider how busy the centre is and when the AMI link is down."""
    from dialer.web import auth

    cfg = _service(request).settings.http
    token = cfg.metrics_token.get_secret_value() if cfg.metrics_token else ""
    sent = request.headers.get("Authorization", "").partition(" ")[2].strip()
    allowed = bool(token) and hmac.compare_digest(sent.encode(), token.encode())
    if not allowed and not auth.in_networks(request.remote or "", list(cfg.metrics_allow)):
        return web.Response(
            status=403, text="forbidden: /metrics is open to http.metrics_allow or its token\n"
        )
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class HttpLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, with a malformed request from a client said in one WARNING line instead of
    an ERROR with a traceback: it is the client's mistake, not the service's."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            said = str(exc_info.message or "").strip().splitlines() or [type(exc_info).__name__]
            first = said[0][:200].rstrip(": ")
            text = str(msg) % args if args else str(msg)
            self.logger.warning("%s: bad HTTP request: %s", text, first)
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


def runner_options(settings: Settings) -> dict[str, Any]:
    """Options of the AppRunner: idle (and slow-header) connections end after ``http.keepalive_timeout``."""
    return {
        "keepalive_timeout": settings.http.keepalive_timeout,
        "logger": HttpLog(logging.getLogger("aiohttp.server"), {}),
        "access_log": None,
    }


def create_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=CLIENT_MAX_SIZE)
    app[SERVICE_KEY] = service
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
