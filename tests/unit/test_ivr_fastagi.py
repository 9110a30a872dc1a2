"""The FastAGI door over raw sockets: the ivr route speaks real AGI, and the server survives peers that send
nothing, half a header, garbage or vanish mid-call, bounds idle time and concurrent sessions, and keeps
serving everybody else meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable

import pytest

from dialer.fastagi.server import FastAgiServer
from dialer.ivr.fastagi import make_route
from dialer.ivr.flow import IvrConfig
from tests.unit.test_ivr_flow import FakeDirectory

IDLE = 1.0


@pytest.fixture
async def server() -> AsyncIterator[tuple[FastAgiServer, FakeDirectory]]:
    directory = FakeDirectory()
    srv = FastAgiServer("127.0.0.1", 0, max_sessions=5, idle_timeout=IDLE, header_timeout=IDLE)
    srv.add_route("ivr", make_route(directory, IvrConfig(lookup_deadline=0.5)))
    await srv.start()
    yield srv, directory
    await srv.stop(grace=1)


def header(port: int, caller: str = "+79161110000", uid: str = "1700000000.7") -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": "ivr",
        "agi_request": f"agi://127.0.0.1:{port}/ivr",
        "agi_channel": "PJSIP/carrier-00000001",
        "agi_language": "ru",
        "agi_uniqueid": uid,
        "agi_callerid": caller,
        "agi_context": "ivr-505",
        "agi_extension": "s",
    }
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


def asterisk(digits: dict[str, str]) -> Callable[[str], str]:
    """Replies as Asterisk would, for a caller who keys ``digits[prompt]`` at each GET DATA."""

    def reply(cmd: str) -> str:
        if cmd.replace('"', "").startswith("GET VARIABLE CHANNEL(language)"):
            return "200 result=1 (ru)"
        if cmd.startswith("GET VARIABLE"):
            return "200 result=0"
        if cmd.startswith("GET DATA"):
            prompt = cmd.split()[2]
            # the read-back of a long number is confirmed unless the test says otherwise
            d = digits.get(prompt, "1" if prompt == "ivr/confirm-number" else None)
            return "200 result= (timeout)" if d is None else f"200 result={d}"
        if cmd.startswith("STREAM FILE"):
            return "200 result=0 endpos=8000"
        return "200 result=0" if cmd.startswith("SAY") else "200 result=1"

    return reply


async def converse(
    port: int, reply: Callable[[str], str], *, stop_after: int | None = None, caller: str = "+79161110000"
) -> list[str]:
    """Play Asterisk's side of one call; returns the commands received. stop_after: vanish after N commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(header(port, caller))
    commands: list[str] = []
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 5)
            if not line:
                return commands
            cmd = line.decode().strip()
            commands.append(cmd)
            if stop_after is not None and len(commands) >= stop_after:
                return commands
            writer.write((reply(cmd) + "\n").encode())
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_whole_call_over_the_wire(server: tuple[FastAgiServer, FakeDirectory]) -> None:
    srv, d = server
    cmds = await converse(srv.port, asterisk({"ivr/enter-number": "1234567890", "ivr/menu": ""}))
    assert cmds[:3] == [
        "GET VARIABLE IVR_LANG",
        "GET VARIABLE CHANNEL(language)",
        'STREAM FILE ivr/welcome "0123456789"',
    ]
    assert "GET DATA ivr/enter-number 5000 17" in cmds
    assert 'SET VARIABLE APP_NUMBER "1234567890"' in cmds and 'SET VARIABLE APP_STATUS "ready"' in cmds
    assert 'SAY NUMBER 12 "10#"' in cmds
    # 15 March 2027 at noon UTC, spoken without the year in the caller's language
    assert 'SAY DATETIME 1805112000 "10#" "dB" UTC' in cmds
    assert cmds[-1] == 'STREAM FILE ivr/goodbye ""'
    assert d.calls[0][1]["mode"] == "fastagi" and d.calls[0][1]["uniqueid"] == "1700000000.7"
    await wait_for(lambda: srv.active == 0)


async def test_operator_transfer_sets_ivr_transfer(server: tuple[FastAgiServer, FakeDirectory]) -> None:
    srv, _ = server
    cmds = await converse(srv.port, asterisk({"ivr/enter-number": "2000000003", "ivr/menu": "0"}))
    assert 'SET VARIABLE IVR_TRANSFER "operator"' in cmds
    assert cmds[-1] == 'STREAM FILE ivr/connecting ""'


async def test_peer_vanishing_mid_call_ends_the_session_and_is_audited(
    server: tuple[FastAgiServer, FakeDirectory],
) -> None:
    srv, d = server
    await converse(srv.port, asterisk({}), stop_after=4)
    await wait_for(lambda: srv.active == 0 and bool(d.calls))
    assert d.calls[0][1]["hung_up"] is True


async def test_hangup_line_from_asterisk(server: tuple[FastAgiServer, FakeDirectory]) -> None:
    srv, d = server
    reply = asterisk({})

    def hang_at_entry(cmd: str) -> str:
        return "HANGUP\n200 result=-1" if cmd.startswith("GET DATA") else reply(cmd)

    cmds = await converse(srv.port, hang_at_entry)
    assert cmds[-1].startswith("GET DATA ivr/enter-number")  # nothing more was sent after the hangup
    await wait_for(lambda: bool(d.calls))
    assert d.calls[0][1]["hung_up"] is True


async def test_asterisk_that_stops_answering_is_given_up_on(
    server: tuple[FastAgiServer, FakeDirectory],
) -> None:
    srv, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(header(srv.port))
    await reader.readline()  # the first command; never answered
    t0 = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server closes the link
    assert time.monotonic() - t0 < IDLE + 1
    writer.close()
    await wait_for(lambda: srv.active == 0)


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # connects and says nothing
        b"agi_network: yes\nagi_request: agi://x/ivr\n",  # half a header
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # garbage
        b"\x00\xff" * 5000,  # binary, no newline, longer than a line may be
        b"agi_request: agi://x/ivr\nagi_" + b"x" * 10000 + b"\n\n",  # an endless line
        b"agi_channel: x\n\n",  # a header without a request
    ],
    ids=["silent", "half-header", "http", "binary", "long-line", "no-request"],
)
async def test_bad_peers_are_dropped_and_others_are_served_meanwhile(
    server: tuple[FastAgiServer, FakeDirectory], payload: bytes
) -> None:
    srv, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(payload)
    await writer.drain()
    # a good call runs to the end while the bad peer is still connected
    cmds = await converse(srv.port, asterisk({"ivr/enter-number": "2000000003", "ivr/menu": ""}))
    assert cmds[-1] == 'STREAM FILE ivr/goodbye ""'
    t0 = time.monotonic()
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(), IDLE + 2) == b""
    assert time.monotonic() - t0 < IDLE + 1.5
    writer.close()
    await wait_for(lambda: srv.active == 0)


async def test_a_peer_dribbling_the_header_gets_the_header_deadline_in_total(
    server: tuple[FastAgiServer, FakeDirectory],
) -> None:
    srv, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    t0 = time.monotonic()
    closed = False
    for i in range(20):
        try:
            writer.write(f"agi_x{i}: y\n".encode())
            await writer.drain()
        except ConnectionError:
            closed = True
            break
        if reader.at_eof():
            closed = True
            break
        with contextlib.suppress(TimeoutError):
            if await asyncio.wait_for(reader.read(1), 0.3) == b"":
                closed = True
                break
    assert closed and time.monotonic() - t0 < IDLE + 1
    writer.close()


async def test_sessions_are_limited_and_the_limit_frees_up(
    server: tuple[FastAgiServer, FakeDirectory],
) -> None:
    srv, _ = server
    # peers that sent a header and then stop answering hold sessions until idle_timeout
    stuck = []
    for _ in range(srv.max_sessions):
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(header(srv.port))
        stuck.append((r, w))
    await wait_for(lambda: srv.active == srv.max_sessions)
    # one more is refused at once rather than queued
    r, w = await asyncio.open_connection("127.0.0.1", srv.port)
    with contextlib.suppress(ConnectionError):  # closed, or reset when the header arrived first
        w.write(header(srv.port))
        assert await asyncio.wait_for(r.read(), 2) == b""
    assert srv.rejected == 1
    w.close()
    # the stuck ones time out, then calls are served again
    await wait_for(lambda: srv.active == 0, IDLE + 2)
    cmds = await converse(srv.port, asterisk({"ivr/enter-number": "2000000003", "ivr/menu": ""}))
    assert cmds[-1] == 'STREAM FILE ivr/goodbye ""'
    for _, w in stuck:
        w.close()


async def test_fifty_concurrent_calls(server: tuple[FastAgiServer, FakeDirectory]) -> None:
    srv, d = server
    srv.max_sessions = 60
    reply = asterisk({"ivr/enter-number": "2000000001", "ivr/menu": ""})
    results = await asyncio.gather(*(converse(srv.port, reply, caller=f"+7916000{i:04d}") for i in range(50)))
    assert all(r[-1] == 'STREAM FILE ivr/goodbye ""' for r in results)
    assert len(d.calls) == 50


def test_get_data_reply_parsing() -> None:
    from dialer.fastagi.server import parse_result

    r = parse_result("200 result=123 (timeout)")
    assert (r.code, r.result, r.data) == (200, 123, "timeout")
    assert re.search(r"result=(-?[0-9*#]*)", "200 result=12*3").group(1) == "12*3"  # type: ignore[union-attr]
