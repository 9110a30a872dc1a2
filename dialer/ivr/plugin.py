"""Wires the ivr feature into the service (see dialer.service.PLUGINS)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dialer.ivr.fastagi import make_route
from dialer.ivr.flow import IvrConfig
from dialer.ivr.lookup import AsyncDirectory
from dialer.ivr.pickup import async_bookings

if TYPE_CHECKING:
    from dialer.service import Service

ROUTE = "ivr"  # AGI(agi://HOST:4573/ivr) in [ivr-505]
log = logging.getLogger("dialer.ivr")


def setup(service: Service) -> None:
    """Serve the 505 call flow on the FastAGI route ``ivr``, looking applications up in the service's DB.

    At start the look-up limit is seeded from the audit log (a database that is down then is retried at the
    first look-up); at a clean stop the audit rows still queued are written."""
    config = IvrConfig()
    directory = AsyncDirectory(service.sessions)
    service.fastagi.add_route(ROUTE, make_route(directory, config, async_bookings(service.sessions)))

    async def start(_: Service) -> None:
        try:
            await directory.start(config.miss_window_s)
        except Exception as e:
            log.warning("IVR: look-up limit not seeded yet (%s); the first look-up retries", e)

    async def stop(_: Service) -> None:
        try:
            await directory.close()
        except Exception as e:
            log.error("IVR: %d audit rows not written at stop: %s", directory.audit.queued, e)
            return
        log.info("IVR: audit rows written: %d", directory.audit.written)

    service.on_start.append(start)
    service.on_stop.append(stop)
