"""FastAGI under abuse (issue 11): idle peers can not lock the dialplan out, only listed Asterisk hosts may
connect, and a flood of bad peers or an oversized reply costs one WARNING line, not a log full of
tracebacks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from dialer.fastagi.server import FastAgiServer
from dialer.ivr.fastagi import make_route
from dialer.ivr.flow import IvrConfig
from tests.unit.test_ivr_fastagi import asterisk, converse, header, wait_for
from tests.unit.test_ivr_flow import FakeDirectory

GOODBYE = 'STREAM FILE ivr/goodbye ""'


async def _server(**kw: object) -> FastAgiServer:
    srv = FastAgiServer("127.0.0.1", 0, idle_timeout=5, **kw)  # type: ignore[arg-type]
    srv.add_route("ivr", make_route(FakeDirectory(), IvrConfig(lookup_deadline=0.5)))
    await srv.start()
    return srv


@pytest.fixture
async def srv() -> AsyncIterator[FastAgiServer]:
    s = await _server(max_sessions=5, header_timeout=1.0, max_pending=400, max_pending_per_peer=64)
    yield s
    await s.stop(grace=1)


async def _connect_idle(port: int, n: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    return [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]


def _close(peers: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _, w in peers:
        w.close()


async def test_a_real_request_is_served_while_250_idle_peers_are_connected(srv: FastAgiServer) -> None:
    idle = await _connect_idle(srv.port, 250)
    try:
        # more idle peers than sessions, and more than one source may keep pending: the call still runs
        cmds = await converse(srv.port, asterisk({"ivr/enter-number": "2000000003", "ivr/menu": ""}))
        assert cmds[-1] == GOODBYE
        assert srv.served == 1 and srv.rejected == 0
        assert srv.pending <= srv.max_pending_per_peer  # the per-source share was enforced
    finally:
        _close(idle)


async def test_idle_peers_are_cut_off_after_the_header_deadline(srv: FastAgiServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(b"agi_network: yes\n")  # half a header, then silence
    await writer.drain()
    # well before idle_timeout (5 s): the header deadline is 1 s
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(), srv.header_timeout + 1.5) == b""
    writer.close()
    await wait_for(lambda: srv.pending == 0)


async def test_pending_connections_are_bounded_by_dropping_the_oldest() -> None:
    s = await _server(max_sessions=5, header_timeout=30, max_pending=10, max_pending_per_peer=10)
    try:
        first = await _connect_idle(s.port, 1)
        await wait_for(lambda: s.pending == 1)
        rest = await _connect_idle(s.port, 10)
        await wait_for(lambda: s.evicted >= 1)
        # the oldest idle peer was dropped; the server never holds more than max_pending
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(first[0][0].read(), 2) == b""
        assert s.pending <= 10
        cmds = await converse(s.port, asterisk({"ivr/enter-number": "2000000003", "ivr/menu": ""}))
        assert cmds[-1] == GOODBYE
        _close(first + rest)
    finally:
        await s.stop(grace=1)


async def test_a_host_not_in_allowed_peers_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    s = await _server(allowed_peers=["127.0.0.2/32", "10.0.0.0/8"])
    try:
        caplog.set_level(logging.WARNING, logger="dialer.fastagi.server")
        for _ in range(5):
            r, w = await asyncio.open_connection("127.0.0.1", s.port)
            with contextlib.suppress(ConnectionError):
                w.write(header(s.port))
                assert await asyncio.wait_for(r.read(), 2) == b""
            w.close()
        await wait_for(lambda: s.refused == 5)
        assert s.served == 0 and s.active == 0
        lines = [r.getMessage() for r in caplog.records if "allowed_peers" in r.getMessage()]
        assert len(lines) == 1 and "127.0.0.1" in lines[0]  # one line, not one per connection
    finally:
        await s.stop(grace=1)


def test_allowed_peers_match_networks_and_mapped_addresses() -> None:
    s = FastAgiServer("127.0.0.1", 0, allowed_peers=["127.0.0.0/8", "::1", "192.0.2.10"])
    assert s.allowed_peer("127.0.0.1") and s.allowed_peer("127.1.2.3")
    assert s.allowed_peer("::1") and s.allowed_peer("::ffff:127.0.0.1")
    assert s.allowed_peer("192.0.2.10")
    assert not s.allowed_peer("192.0.2.11") and not s.allowed_peer("10.0.0.1") and not s.allowed_peer("")


async def test_an_oversized_reply_mid_session_is_one_warning(
    srv: FastAgiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(header(srv.port))
    await reader.readline()  # the first command
    writer.write(b"200 result=1 (" + b"x" * 10_000 + b")\n")
    await writer.drain()
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await wait_for(lambda: srv.active == 0)
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in problems if r.levelno >= logging.ERROR or r.exc_info], [
        r.getMessage() for r in problems
    ]
    assert len([r for r in problems if r.name.startswith("dialer.fastagi")]) == 1


async def test_a_flood_of_garbage_peers_logs_one_line(
    srv: FastAgiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dialer.fastagi.server")
    for _ in range(20):
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(r.read(), 2)
        w.close()
    assert len(caplog.records) == 1


def test_a_bad_allowed_peer_stops_start_up_with_one_line_naming_the_key() -> None:
    from dialer.config import ConfigError, load_settings
    from tests.conftest import REPO

    with pytest.raises(ConfigError) as e:
        load_settings(REPO / "config.yaml", fastagi={"allowed_peers": ["127.0.0.1", "asterisk.local"]})
    assert str(e.value) == (
        "invalid configuration: fastagi.allowed_peers: not an IP address or network: 'asterisk.local'"
    )
    assert load_settings(REPO / "config.yaml").fastagi.allowed_peers == ["127.0.0.0/8", "::1"]
