"""Offices, slots and appointments as the CLI, the API and the agent page send and receive them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from dialer.config import WEEKDAYS, validate_hours
from dialer.offices.slots import Closure


def _plain(v: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in v):
        raise ValueError("control characters are not allowed")
    return v


def _tz(v: str) -> str:
    if len(v) > 64:
        raise ValueError("time zone names are at most 64 characters")
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {v!r}") from None
    return v


def _closures(v: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in v:
        unknown = set(c) - {"day", "hours", "reason"}
        if unknown:
            raise ValueError(f"closure: unknown key(s) {sorted(unknown)}; use day, hours, reason")
        try:
            Closure.parse(c)
        except (TypeError, ValueError) as e:
            raise ValueError(f"closure {c!r}: {e}") from None
        out.append({k: str(c[k]) for k in ("day", "hours", "reason") if c.get(k) is not None})
    return out


def _hours(v: dict[str, str]) -> dict[str, str]:
    for day, spec in v.items():
        try:
            validate_hours({day: spec})  # the calling window's rule: one definition
        except ValueError as e:
            raise ValueError(f"{day}: {e}") from None
    return {d: v.get(d, "closed").strip().lower() for d in WEEKDAYS}


Plain = Annotated[str, AfterValidator(_plain)]
Zone = Annotated[str, AfterValidator(_tz)]
Hours = Annotated[dict[str, str], AfterValidator(_hours)]
Closures = Annotated[list[dict[str, Any]], AfterValidator(_closures)]


class OfficeIn(BaseModel):
    """A new office. ``hours``: weekday (mon..sun) -> "HH:MM-HH:MM" or "closed" (a missing day is closed);
    ``holidays``: whole days closed; ``closures``: one-off closures ``{"day": "2027-03-05", "hours":
    "12:00-14:00"}`` (hours omitted = the whole day)."""

    model_config = ConfigDict(extra="forbid")

    name: Plain = Field(min_length=1, max_length=200)
    address: Plain = Field(min_length=1, max_length=1000)
    directions: Plain = Field(min_length=1, max_length=4000, description="how to get there, in Russian")
    directions_en: Plain = Field("", max_length=4000, description="how to get there, in English")
    timezone: Zone = "Europe/Moscow"
    hours: Hours
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    closures: Closures = Field(default_factory=list, max_length=1000)
    slot_minutes: int = Field(15, ge=5, le=480)
    capacity: int = Field(ge=1, le=1000, description="people seen at once (desks)")
    horizon_days: int = Field(14, ge=0, le=366, description="how many days ahead booking opens")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("name must not be blank")
        return v


class OfficeEdit(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Plain | None = Field(None, min_length=1, max_length=200)
    address: Plain | None = Field(None, min_length=1, max_length=1000)
    directions: Plain | None = Field(None, min_length=1, max_length=4000)
    directions_en: Plain | None = Field(None, max_length=4000)
    timezone: Zone | None = None
    hours: Hours | None = None
    holidays: list[date] | None = Field(None, max_length=1000)
    closures: Closures | None = Field(None, max_length=1000)
    slot_minutes: int | None = Field(None, ge=5, le=480)
    capacity: int | None = Field(None, ge=1, le=1000)
    horizon_days: int | None = Field(None, ge=0, le=366)


class OfficeOut(BaseModel):
    id: int
    name: str
    address: str
    directions: str
    directions_en: str
    timezone: str
    hours: dict[str, str]
    holidays: list[date]
    closures: list[dict[str, str]]
    slot_minutes: int
    capacity: int
    horizon_days: int


class SlotOut(BaseModel):
    start: datetime = Field(description="ISO 8601 with the office's UTC offset")
    end: datetime
    capacity: int
    free: int


class DaySlots(BaseModel):
    office_id: int
    date: date
    timezone: str
    slots: list[SlotOut]


class AppointmentIn(BaseModel):
    """Book ``start`` (a slot start, with its offset) at the office for the application. An application
    with an active booking is moved: the old place is freed in the same transaction."""

    model_config = ConfigDict(extra="forbid")

    application_number: Plain = Field(min_length=1, max_length=32)
    office_id: int = Field(ge=1, le=2**31 - 1)
    start: datetime
    attempt_id: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="the call during which it was agreed: records its 'appointment agreed' disposition",
    )

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give the UTC offset (e.g. 2027-03-01T10:00:00+03:00)")
        if not 2000 <= v.year <= 2100:
            raise ValueError("year must be between 2000 and 2100")
        return v


class AppointmentOut(BaseModel):
    id: int
    application_number: str
    office_id: int
    office: str
    start: datetime = Field(description="in the office's local time, with offset")
    end: datetime
    state: str
    source: str
    booked_by: str
    created_at: datetime
    cancelled_at: datetime | None
    moved_from: int | None = Field(None, description="the booking this one replaced")
    phone: str | None = None
    applicant_name: str | None = None


class LinkReport(BaseModel):
    """Applications' free-text ``pickup_office`` matched to offices by name."""

    linked: int = 0
    already: int = 0
    unmatched: dict[str, int] = Field(default_factory=dict, description="office text -> applications")


class DayLoad(BaseModel):
    office_id: int
    office: str
    date: date
    booked: int
    places: int = Field(description="slots x capacity that day")


class NoShow(BaseModel):
    appointment_id: int
    application_number: str
    office: str
    start: datetime
    status: str


class ImportRejected(BaseModel):
    line: int
    reason: str


class OfficeImportReport(BaseModel):
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[ImportRejected] = Field(default_factory=list)
