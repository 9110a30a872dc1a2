"""Secrets never reach the logs, whoever logs them."""

from __future__ import annotations

import logging

import pytest

from dialer.logs import setup_logging


def test_known_secret_and_url_passwords_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", secrets=["topsecret-ami"])
    lg = logging.getLogger("x.y")
    lg.info("Action: Login\r\nUsername: dialer\r\nSecret: topsecret-ami\r\n")
    lg.info("connecting to %s", "postgresql+asyncpg://dialer:pg-pass-1@db:5432/dialer")
    lg.warning("password = hunter2")
    try:
        raise RuntimeError("failed with topsecret-ami")
    except RuntimeError:
        lg.exception("boom")
    err = capsys.readouterr().err
    assert "topsecret-ami" not in err
    assert "pg-pass-1" not in err
    assert "hunter2" not in err
    assert "Username: dialer" in err and "dialer:***@db" in err
