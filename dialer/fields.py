"""Value types every feature's schemas share (the API's and the services' alike): text without control
characters, dates and moments within sane years. Domain schemas import them from here, never from the web
layer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema


def _no_control(v: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in v):
        raise ValueError("control characters are not allowed")
    return v


def _no_nul_date_limits(v: date) -> date:
    if not 2000 <= v.year <= 2100:
        raise ValueError("date must be between 2000 and 2100")
    return v


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("give a time zone (e.g. 2027-03-01T10:00:00+03:00)")
    if not 2000 <= v.year <= 2100:
        raise ValueError("year must be between 2000 and 2100")
    return v.astimezone(UTC)


# The rules above, said in the OpenAPI document too (the pattern and the date range), so that what the
# document allows the code accepts; the validators keep their plain-words error messages.
NO_CONTROL = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"
_DATE_RANGE = "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
_MOMENT = "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}T.*(Z|[+-][0-9]{2}:?[0-9]{2})$"


# a field's own pattern (an extension's digits, say) replaces this one; the validator still applies
Text = Annotated[str, Field(pattern=NO_CONTROL), AfterValidator(_no_control)]
Day = Annotated[
    date,
    AfterValidator(_no_nul_date_limits),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DATE_RANGE}),
]
Moment = Annotated[
    datetime,
    AfterValidator(_aware),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _MOMENT}),
]
