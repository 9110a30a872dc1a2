"""The AMI link against a fake peer: faults a real Asterisk cannot produce on demand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from dialer.ami.link import AmiLink, AmiLinkLost, LinkState
from tests.support.fake_ami import FakeAmi


@pytest.fixture
async def peer() -> AsyncIterator[FakeAmi]:
    p = FakeAmi()
    await p.start()
    yield p
    await p.stop()


def _link(peer: FakeAmi, secret: str = "good", **kw: float) -> AmiLink:
    opts = {"reconnect_min": 0.05, "reconnect_max": 0.2, "ping_interval": 0.2, "ping_timeout": 0.3, **kw}
    return AmiLink("127.0.0.1", peer.port, "dialer", secret, **opts)  # type: ignore[arg-type]


async def _until(cond: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_garbage_on_the_socket_does_not_break_the_link(peer: FakeAmi) -> None:
    link = _link(peer)
    seen: list[str] = []
    link.on_event("Hangup", lambda e: seen.append(e["Uniqueid"]))
    link.start()
    await link.wait_up(5)
    peer.send_raw(b"\x00\xff\xfe garbage without colon\r\n\r\n")
    peer.send_raw(b"Event: Hangup\r\nUniqueid: 1.1\r\nCause: 16\r\n\r\n")
    peer.send_raw("Нечто: \udcff\r\nResponse: Weird\r\n\r\n".encode(errors="surrogateescape"))
    peer.send_raw(b"Event: Hangup\r\nUniq")  # half a message...
    await asyncio.sleep(0.1)
    peer.send_raw(b"ueid: 1.2\r\n\r\n")  # ...completed later
    await _until(lambda: seen == ["1.1", "1.2"])
    assert link.state is LinkState.UP and peer.logins == 1
    await link.stop()


async def test_a_raising_handler_does_not_break_the_link(
    peer: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    link = _link(peer)
    seen: list[str] = []

    def bad(_e: object) -> None:
        raise ValueError("handler bug")

    async def bad_async(_e: object) -> None:
        raise ValueError("async handler bug")

    link.on_event("*", bad)
    link.on_event("*", bad_async)
    link.on_event("Newchannel", lambda e: seen.append(e["Uniqueid"]))
    link.start()
    await link.wait_up(5)
    for i in range(3):
        peer.send_event(Event="Newchannel", Uniqueid=f"9.{i}")
    await _until(lambda: len(seen) == 3)
    await _until(lambda: link.handler_errors >= 6)
    assert link.state is LinkState.UP and peer.logins == 1
    await link.stop()


async def test_a_half_open_link_is_detected_by_ping_deadline_and_reconnected(peer: FakeAmi) -> None:
    link = _link(peer)
    states: list[LinkState] = []
    link.on_state(states.append)
    link.start()
    await link.wait_up(5)
    peer.answer_pings = False  # the TCP link stays open, but nothing answers
    await _until(lambda: link.state is not LinkState.UP, timeout=3)
    assert "Ping" in (link.last_error or "")
    peer.answer_pings = True
    await _until(lambda: link.state is LinkState.UP and peer.logins == 2, timeout=5)
    assert LinkState.DOWN in states
    await link.stop()


async def test_an_action_pending_when_the_link_drops_fails_and_is_never_resent(peer: FakeAmi) -> None:
    link = _link(peer, ping_interval=5)
    link.start()
    await link.wait_up(5)
    peer.answer_originates = False
    task = asyncio.create_task(
        link.send({"Action": "Originate", "Channel": "PJSIP/1@x", "ActionID": "att-1"})
    )
    await _until(lambda: peer.count("originate") == 1)
    peer.drop_all()
    with pytest.raises(AmiLinkLost):
        await task
    await _until(lambda: link.state is LinkState.UP and peer.logins == 2, timeout=5)
    peer.send_event(Event="FullyBooted", Status="Fully Booted")  # panoramisk would re-send here
    await asyncio.sleep(0.3)
    assert peer.count("originate") == 1
    await link.stop()


async def test_wrong_secret_keeps_retrying_and_never_logs_the_secret(
    peer: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    link = _link(peer, secret="bad-secret-123")
    link.start()
    await _until(lambda: peer.count("login") >= 2)
    assert link.state is not LinkState.UP
    assert "login refused" in (link.last_error or "")
    await link.stop()
    assert "bad-secret-123" not in caplog.text
    assert "bad-secret-123" not in repr(link)


async def test_unreachable_asterisk_is_retried_with_backoff() -> None:
    link = AmiLink("127.0.0.1", 1, "dialer", "x", reconnect_min=0.05, reconnect_max=0.1, connect_timeout=0.5)
    link.start()
    await _until(lambda: link.last_error is not None)
    assert link.state in (LinkState.DOWN, LinkState.CONNECTING)
    await link.stop()
    assert link.state is LinkState.STOPPED


async def test_an_unexpected_error_in_the_link_does_not_end_its_supervision(
    peer: FakeAmi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: a state handler's unexpected error inside the link's own bookkeeping) must not leave a
    dead link behind a healthy-looking service: the link reconnects by itself."""
    link = _link(peer, reconnect_max=0.1)
    real = AmiLink._watch
    calls = {"n": 0}

    async def broken_once(self: AmiLink) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("unexpected")
        return await real(self)

    monkeypatch.setattr(AmiLink, "_watch", broken_once)
    link.start()
    await _until(lambda: calls["n"] >= 2 and link.state is LinkState.UP)
    assert peer.logins >= 2
    await link.stop()
