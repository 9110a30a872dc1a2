"""Wires the ivr feature into the service (see dialer.service.PLUGINS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialer.ivr.fastagi import route_for

if TYPE_CHECKING:
    from dialer.service import Service

ROUTE = "ivr"  # AGI(agi://HOST:4573/ivr) in [ivr-505]


def setup(service: Service) -> None:
    """Serve the 505 call flow on the FastAGI route ``ivr``, looking applications up in the service's DB."""
    service.fastagi.add_route(ROUTE, route_for(service.sessions))
