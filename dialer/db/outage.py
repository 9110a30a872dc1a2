"""A database outage is one warning line, not a traceback every half second.

The engine ticks twice a second and every tick reads or writes; while SQLite is write-locked by another
process or PostgreSQL drops its connections, each tick fails the same way. The engine carries on (writes
wait in the outbox, numbers stay in flight), so the admin needs to know when the outage began and when it
ended, not a hundred-line traceback per tick. Errors that are not the database being unavailable (a bug,
a constraint) still go to the log in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def is_unavailable(e: BaseException) -> bool:
    """True when ``e`` says the database can't be reached or is locked right now (worth a retry)."""
    if isinstance(e, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
        return True
    return isinstance(e, DBAPIError) and bool(e.connection_invalidated)


def describe(e: BaseException) -> str:
    """The driver's own message on one line, without SQLAlchemy's statement dump and background link."""
    inner = getattr(e, "orig", None) or e
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0] if text else ''}"[:200]


class Outage:
    """Tracks one kind of work's view of the database: ``failed`` on every error, ``ok`` after success."""

    def __init__(self, log: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.clock = clock
        self.since: float | None = None
        self.failures = 0

    def failed(self, e: BaseException, doing: str) -> bool:
        """Log ``e``: one WARNING when an outage begins, nothing while it lasts; True if it was one.
        Returns False (and logs nothing) for an error that is not the database being unavailable."""
        if not is_unavailable(e):
            return False
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            self.log.warning(
                "database unavailable while %s (%s); retrying until it is back", doing, describe(e)
            )
        return True

    def ok(self) -> None:
        """The work ran through: an outage in progress is over."""
        if self.since is not None:
            self.log.info(
                "database back after %.1f s (%d failed tries meanwhile)",
                self.clock() - self.since,
                self.failures,
            )
            self.since = None
            self.failures = 0
