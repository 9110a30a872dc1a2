"""Wires the dialer engine into the service: AMI handlers, the tick loop, the FastAGI routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dialer.engine.engine import Engine
from dialer.engine.routes import Routes

if TYPE_CHECKING:
    from dialer.service import Service


def setup(service: Service) -> None:
    engine = Engine(service)
    service.dialer = engine
    routes = Routes(engine)
    service.fastagi.add_route("answered", routes.answered)
    service.fastagi.add_route("inbound", routes.inbound)

    async def start(_svc: Any) -> None:
        await engine.start()

    async def stop(_svc: Any) -> None:
        await engine.stop()

    service.on_start.append(start)
    service.on_stop.append(stop)
