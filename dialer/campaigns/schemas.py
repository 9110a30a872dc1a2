"""Campaign requests and answers, shared by the CLI and the web API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict, JsonValue

from dialer.campaigns.waiting import Activity
from dialer.config import validate_hours
from dialer.dispositions.occupancy import Occupancy

PacingMode = Literal["progressive", "ratio", "predictive"]

DEFAULT_RETRY_DELAYS: dict[str, int] = {
    "busy": 600,  # 10 min
    "noanswer": 3600,  # 1 h
    "congestion": 300,  # network trouble clears quickly
    "failed": 900,
    "abandoned": 1800,  # re-called with an agent reserved for it
    "machine": 7200,
}


# The validators' rules, said in the OpenAPI document too (what the document allows, the code accepts).
_HOURS_DOC: JsonDict = {
    "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    "additionalProperties": {
        "type": "string",
        "pattern": "^(closed|([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00))$",
    },
}
_OUTCOMES: list[JsonValue] = [*sorted(DEFAULT_RETRY_DELAYS)]
_ZONES: list[JsonValue] = [*sorted(available_timezones())]
_RETRY_DOC: JsonDict = {
    "propertyNames": {"enum": _OUTCOMES},
    "additionalProperties": {"type": "integer", "minimum": 60},
}
_TIMEZONES_DOC: JsonDict = {"anyOf": [{"enum": _ZONES}, {"type": "null"}]}


class WindowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: dict[str, str] = Field(
        default_factory=dict,
        description="weekday -> 'HH:MM-HH:MM' (the end after the start) or 'closed'",
        json_schema_extra=_HOURS_DOC,
    )
    holidays: list[date] = Field(default_factory=list)
    service_holidays: bool = Field(
        True, description="also closed on the service-wide holidays (calling_window.holidays)"
    )

    _v = field_validator("hours")(lambda cls, v: validate_hours(v))


class CampaignSpec(BaseModel):
    """What an admin sets when creating (or editing) a campaign; unset fields take the defaults."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    mode: PacingMode = "predictive"
    ratio: float = Field(2.0, ge=1.0, le=5.0, description="calls per free agent in ratio mode")
    max_attempts: int = Field(3, ge=1, le=20)
    retry_delays: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_RETRY_DELAYS),
        description="seconds before the next try, per outcome (at least 60)",
        json_schema_extra=_RETRY_DOC,
    )
    abandon_cap: float = Field(0.03, gt=0, le=0.05, description="abandoned / live-answered, per day")
    window: WindowSpec | None = None
    timezone: str | None = Field(None, description="IANA time zone", json_schema_extra=_TIMEZONES_DOC)
    caller_id: str | None = Field(None, pattern=r"^\+?[0-9]{1,32}$")
    weight: int = Field(1, ge=1, le=100)
    ring_timeout: int = Field(30, ge=15, le=120)
    wrapup_seconds: int = Field(15, ge=0, le=600)
    amd: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("retry_delays")
    @classmethod
    def _delays(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = set(v) - set(DEFAULT_RETRY_DELAYS)
        if unknown:
            raise ValueError(f"unknown outcome(s) {sorted(unknown)}; use {sorted(DEFAULT_RETRY_DELAYS)}")
        if any(d < 60 for d in v.values()):
            raise ValueError("retry delays must be at least 60 seconds")
        return {**DEFAULT_RETRY_DELAYS, **v}

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class RejectedRow(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    accepted: int = 0
    rejected: list[RejectedRow] = Field(default_factory=list)
    dnc: int = 0  # accepted, but on the do-not-call list: kept and never called
    applications_created: int = 0
    total_rows: int = 0

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)


class CampaignStatus(BaseModel):
    name: str
    state: str
    mode: str
    weight: int
    max_attempts: int
    abandon_cap: float
    contacts_total: int
    contacts_by_state: dict[str, int]
    attempts_by_outcome: dict[str, int]
    calls_in_flight: int
    answered_today: int
    abandoned_today: int
    abandon_rate_today: float
    progress: float = Field(description="share of contacts that can not be called again (done, invalid, ...)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    activity: Activity | None = Field(
        None, description="a running campaign: dialling, or why not ('waiting: window opens at 09:00 ...')"
    )
    occupancy: Occupancy | None = Field(None, description="agents' talk / logged-in time, today and now")
