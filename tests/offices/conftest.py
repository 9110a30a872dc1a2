"""Helpers for the offices tests: an office open every day and ready applications."""

from __future__ import annotations

from datetime import date
from typing import Any

from dialer.db.models import Application
from dialer.offices import services
from dialer.offices.schemas import OfficeIn, OfficeOut

ALL_WEEK = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def make_office(sessions: Any, name: str = "МФЦ Тверской", **kw: Any) -> OfficeOut:
    spec: dict[str, Any] = {
        "name": name,
        "address": "ул. Тверская, 8",
        "directions": "Метро Охотный ряд, выход 3, направо 200 метров",
        "directions_en": "Okhotny Ryad metro, exit 3, turn right, 200 m",
        "timezone": "Europe/Moscow",
        "hours": ALL_WEEK,
        "slot_minutes": 30,
        "capacity": 2,
        **kw,
    }
    return await services.create_office(sessions, OfficeIn.model_validate(spec), actor="test")


async def make_applications(
    sessions: Any,
    numbers: list[str],
    *,
    status: str = "ready",
    office_id: int | None = None,
    pickup_office: str | None = None,
    pickup_from: date | None = None,
) -> None:
    async with sessions() as s:
        for i, n in enumerate(numbers):
            s.add(
                Application(
                    number=n,
                    applicant_name=f"Заявитель {i}",
                    phone=f"+7999000{i:04d}",
                    status=status,
                    office_id=office_id,
                    pickup_office=pickup_office,
                    pickup_from=pickup_from,
                )
            )
        await s.commit()
