"""Wires the offices feature into ``dialer serve``: the evening reminder timer (the API routes live in
dialer.web.offices, the IVR menu in dialer.ivr.booking)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialer.offices.reminders import EveningTimer

if TYPE_CHECKING:
    from dialer.service import Service


def setup(service: Service) -> None:
    timer = EveningTimer(service)
    service.on_start.append(timer.start)
    service.on_stop.append(timer.stop)
