"""A database outage is one warning when it begins and one line when it ends, however many ticks fail."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from dialer.db.outage import Outage, describe

log = logging.getLogger("test.outage")


def locked() -> OperationalError:
    return OperationalError(
        "UPDATE agents SET state=? WHERE agents.extension = ?",
        ("talking", "102"),
        sqlite3.OperationalError("database is locked"),
    )


def test_an_outage_of_many_failed_ticks_is_two_lines(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outage = Outage(log, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="test.outage")
    for _ in range(20):  # ten seconds of ticks
        assert outage.failed(locked(), "running the engine's tick")
        now[0] += 0.5
    outage.ok()
    outage.ok()  # later good ticks say nothing
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        (
            "WARNING",
            "database unavailable while running the engine's tick (OperationalError: database is locked);"
            " retrying until it is back",
        ),
        ("INFO", "database back after 10.0 s (20 failed tries meanwhile)"),
    ]


def test_an_error_that_is_not_an_outage_is_left_to_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage(log)
    caplog.set_level(logging.INFO, logger="test.outage")
    assert not outage.failed(ValueError("bad setting"), "placing calls")
    assert not outage.failed(
        IntegrityError("INSERT", (), Exception("UNIQUE constraint failed")), "placing calls"
    )
    assert caplog.records == [] and outage.since is None


def test_the_driver_message_is_one_line_without_the_statement() -> None:
    text = describe(locked())
    assert text == "OperationalError: database is locked"
    assert "\n" not in describe(OperationalError("x", (), Exception("server closed\nthe connection")))
