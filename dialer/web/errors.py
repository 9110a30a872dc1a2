"""JSON errors for the API: a clear message and the field at fault; 4xx for the caller's mistakes.

Every error leaves the API through ``error_response`` so scripts can rely on one shape:
``{"error": "message", "field": "name" | null, "errors": [{"field": ..., "message": ...}]}``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from dialer.errors import ServiceError
from dialer.web.schemas import NO_CONTROL, ErrorBody, FieldError

_LEADING_FIELD = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.S)


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_response(
    status: int, message: str, field: str | None = None, errors: list[FieldError] | None = None
) -> web.Response:
    body = ErrorBody(error=message, field=field, errors=errors or [])
    return web.json_response(body.model_dump(mode="json"), status=status)


def _loc(loc: tuple[Any, ...], prefix: str | None) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    text = ".".join(parts)
    return f"{prefix}.{text}" if prefix and text else (text or (prefix or ""))


def _field_error(e: Any, prefix: str | None) -> FieldError:
    field = _loc(tuple(e["loc"]), prefix) or None
    message = str(e["msg"]).removeprefix("Value error, ")
    if message == f"String should match pattern '{NO_CONTROL}'":
        message = "control characters are not allowed"
    # a rule across fields (model validator) names its field at the start of the message: "callback_at: ..."
    m = _LEADING_FIELD.match(message)
    if m:
        field = f"{field}.{m.group(1)}" if field else m.group(1)
        message = m.group(2)
    return FieldError(field=field, message=message)


def validation_response(err: ValidationError, prefix: str | None = None) -> web.Response:
    errors = [_field_error(e, prefix) for e in err.errors()]
    first = errors[0] if errors else FieldError(field=None, message="invalid input")
    message = f"{first.field}: {first.message}" if first.field else first.message
    return error_response(422, message, first.field, errors)


def from_exception(e: Exception) -> web.Response | None:
    """The response for a known caller mistake, or None (a bug: the caller answers 500)."""
    if isinstance(e, ApiError):
        return error_response(e.status, e.message, e.field)
    if isinstance(e, ServiceError):
        return error_response(e.status, str(e), e.field)
    if isinstance(e, ValidationError):
        return validation_response(e)
    return None
