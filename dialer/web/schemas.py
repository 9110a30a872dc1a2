"""Shapes shared by every part of the API (errors, pages, simple answers) and the input rules that keep
bad text away from the database (NUL characters, absurd sizes)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from dialer.fields import NO_CONTROL, Day, Moment, Text

T = TypeVar("T")


__all__ = [
    "NO_CONTROL",
    "Day",
    "ErrorBody",
    "FieldError",
    "IdParam",
    "Model",
    "Moment",
    "NameParam",
    "Ok",
    "Page",
    "PageQuery",
    "Text",
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
