"""A campaign's settings, declared once: each with its type, bounds, default and meaning.

Everything else derives from ``CampaignSettings``: the API's request (``CampaignSpec``), edit and answer
models, the CLI's ``create``/``edit`` options, the row's columns on create and edit, and the answer built
from the row. Adding a setting means a column on ``dialer.db.models.Campaign`` (same name) and a field
here; the engine reads the settings it runs by its ``CampaignRuntime`` field names, and
``tests/web/test_campaign_settings.py`` fails until a new setting makes the whole trip.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict, JsonValue

from dialer.config import validate_hours

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


class CampaignSettings(BaseModel):
    """Every setting of a campaign; unset fields take the defaults. The ones that may be None (window,
    time zone, caller ID) then take the service's."""

    model_config = ConfigDict(extra="forbid")

    mode: PacingMode = Field("predictive", description="pacing: progressive, ratio or predictive")
    ratio: float = Field(2.0, ge=1.0, le=5.0, description="calls per free agent in ratio mode")
    max_attempts: int = Field(3, ge=1, le=20, description="calls to one contact at most")
    retry_delays: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_RETRY_DELAYS),
        description="seconds before the next try, per outcome (at least 60)",
        json_schema_extra=_RETRY_DOC,
    )
    abandon_cap: float = Field(0.03, gt=0, le=0.05, description="abandoned / live-answered, per day")
    window: WindowSpec | None = Field(None, description="calling hours and holidays (unset: the service's)")
    timezone: str | None = Field(
        None,
        description="IANA time zone of the calling window, e.g. Asia/Novosibirsk (unset: the service's)",
        json_schema_extra=_TIMEZONES_DOC,
    )
    caller_id: str | None = Field(
        None, pattern=r"^\+?[0-9]{1,32}$", description="number presented (unset: the service's caller_id)"
    )
    weight: int = Field(1, ge=1, le=100, description="share of agents when campaigns run at once")
    ring_timeout: int = Field(30, ge=15, le=120, description="seconds to ring")
    wrapup_seconds: int = Field(15, ge=0, le=600, description="after-call time before the agent's next call")
    amd: bool = Field(False, description="answering-machine detection")

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


# The settings a row holds in another type than the request's: the window as stored JSON ({} when the
# service's), the zone and caller ID filled in from the service's, the ratio only in ratio mode.
STORED_TYPES: dict[str, Any] = {
    "ratio": float | None,
    "window": dict[str, Any],
    "timezone": str,
    "caller_id": str,
}


def stored_type(name: str) -> Any:
    """The type of a setting as the row (and so the API's answer) holds it."""
    return STORED_TYPES.get(name, CampaignSettings.model_fields[name].annotation)


def to_columns(s: CampaignSettings, *, timezone: str, caller_id: str) -> dict[str, Any]:
    """The campaign row's columns for these settings; ``timezone`` and ``caller_id`` fill in unset ones.
    Every setting is the column of its name, but the mode (``pacing_mode``) and the ratio
    (``pacing_params``, in ratio mode only)."""
    cols = s.model_dump(mode="json", include=set(CampaignSettings.model_fields) - {"mode", "ratio"})
    cols["pacing_mode"] = s.mode
    cols["pacing_params"] = {"ratio": s.ratio} if s.mode == "ratio" else {}
    cols["window"] = cols["window"] or {}
    cols["timezone"] = s.timezone or timezone
    cols["caller_id"] = s.caller_id or caller_id
    return cols


def of_row(row: Any) -> dict[str, Any]:
    """A campaign row's settings by their names, as stored (see ``STORED_TYPES``)."""
    out = {
        name: getattr(row, name) for name in CampaignSettings.model_fields if name not in ("mode", "ratio")
    }
    out["mode"] = row.pacing_mode
    out["ratio"] = (row.pacing_params or {}).get("ratio")
    return {name: out[name] for name in CampaignSettings.model_fields}


def editable(row: Any) -> dict[str, Any]:
    """A row's settings as a request would give them, for an edit to merge its changes into: the service's
    window stays unset, the ratio outside ratio mode takes its default."""
    out = of_row(row)
    out["window"] = out["window"] or None
    if out["ratio"] is None:
        del out["ratio"]
    return out
