"""Wires the web feature into the service (see dialer.service.PLUGINS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialer.service import Service


def setup(service: Service) -> None:
    """Nothing yet."""
