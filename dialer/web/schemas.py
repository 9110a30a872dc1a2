"""Shapes shared by every part of the API (errors, pages, simple answers) and the input rules that keep
bad text away from the database (NUL characters, absurd sizes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

T = TypeVar("T")


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


class Model(BaseModel):
    """Requests reject unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, for a person")
    field: str | None = Field(None, description="the input at fault (dotted path), when one is")
    errors: list[FieldError] = Field(default_factory=list)


class Ok(BaseModel):
    ok: bool = True
    message: str = ""


class PageQuery(Model):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=500)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


class NameParam(Model):
    name: Text = Field(min_length=1, max_length=100)


class IdParam(Model):
    id: int = Field(ge=1, le=2**31 - 1)
