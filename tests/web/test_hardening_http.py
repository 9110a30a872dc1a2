"""Issue 11, the HTTP server itself: idle connections (and ones dribbling their headers) are closed after
``http.keepalive_timeout``, and a malformed request costs one WARNING line, not an ERROR with a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from dialer.service import Service
from dialer.web.app import runner_options
from tests.web.conftest import make_service


@pytest.fixture
async def server(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Service, TestServer]]:
    service = make_service(db_url, tmp_path)
    service.settings.http.keepalive_timeout = 1.0
    srv = TestServer(service.app, host="127.0.0.1")
    await srv.start_server(**runner_options(service.settings))
    try:
        yield service, srv
    finally:
        await srv.close()
        await service.engine.dispose()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    with contextlib.suppress(ConnectionError):
        while await asyncio.wait_for(reader.read(4096), seconds):
            pass
    return True


async def test_idle_and_slow_header_connections_are_closed(server: tuple[Service, TestServer]) -> None:
    _, srv = server
    assert srv.port is not None
    # connects and says nothing
    r1, w1 = await asyncio.open_connection("127.0.0.1", srv.port)
    # sends half a request's headers, then nothing
    r2, w2 = await asyncio.open_connection("127.0.0.1", srv.port)
    w2.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    # keeps a connection alive after a request
    r3, w3 = await asyncio.open_connection("127.0.0.1", srv.port)
    w3.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    for r in (r1, r2, r3):
        assert await _closed_within(r, 5)  # well under aiohttp's default of an hour
    for w in (w1, w2, w3):
        w.close()


async def test_a_malformed_request_is_one_warning_line(
    server: tuple[Service, TestServer], caplog: pytest.LogCaptureFixture
) -> None:
    _, srv = server
    assert srv.port is not None
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    for payload in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\n\r\n",
    ):
        caplog.clear()
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(payload)
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400")), status
        writer.close()
        await asyncio.sleep(0)  # let the server finish logging
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(problems) == 1, [r.getMessage() for r in problems]
        assert problems[0].levelno == logging.WARNING and not problems[0].exc_info
        said = problems[0].getMessage()
        assert "bad HTTP request: " in said and "\n" not in said and not said.endswith(":"), said


def test_an_unusable_database_at_start_up_is_one_line_naming_database_url(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.web.conftest import REPO, dead_port

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for url in (
        f"postgresql+asyncpg://dialer:Sup3rSecret@127.0.0.1:{dead_port()}/dialer",  # nobody listens
        f"sqlite+aiosqlite:///{blocker}/dialer.db",  # the folder is a file
    ):
        env = {
            **os.environ,
            "DIALER_DATABASE__URL": url,
            "DIALER_AMI__PORT": str(dead_port()),
            "DIALER_HTTP__BIND": f"127.0.0.1:{dead_port()}",
            "DIALER_FASTAGI__BIND": f"127.0.0.1:{dead_port()}",
            "DIALER_LOGGING__LEVEL": "WARNING",
        }
        r = subprocess.run(
            [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), "serve"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert lines[0].startswith("dialer: database.url: can not use the database ")
        assert "Sup3rSecret" not in r.stderr + r.stdout
