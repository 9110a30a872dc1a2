"""The service layer's errors: a caller's mistake, phrased for them, whichever feature finds it. The CLI prints
it as one line; the web turns it into the HTTP status below with the message and the field at fault."""

from __future__ import annotations


class ServiceError(Exception):
    """A caller's mistake. ``field`` names the input at fault when there is one."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409
