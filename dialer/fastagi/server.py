"""FastAGI server: Asterisk's ``AGI(agi://host:4573/route)`` lands here.

Written on asyncio streams rather than panoramisk's FastAGI because the server must survive peers that
connect and send nothing, send half a header, send garbage or vanish, and must bound sessions and idle time.

The dialplan's requests must always get through, so a connection only takes a session slot once its AGI
header has arrived (Asterisk sends it at once): until then it is "pending", has ``header_timeout`` (a
second or two) to finish, and pending connections are bounded overall and per source address by
dropping the oldest, so idle peers can not crowd out a real request. Only the listed Asterisk hosts
(loopback by default) may connect at all: the routes claim agents and read applications.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

log = logging.getLogger(__name__)

MAX_HEADER_LINES = 200
MAX_LINE = 4096
_RESULT = re.compile(r"^(\d{3})[ -](?:result=(-?\d*)[0-9*#]*)?\s*(?:\((.*)\))?\s*(.*)$")


class AgiError(Exception):
    pass


class AgiHangup(AgiError):
    """The channel hung up; further commands are pointless."""


@dataclass
class AgiResult:
    code: int
    result: int
    data: str
    rest: str
    raw: str = ""


def parse_result(line: str) -> AgiResult:
    m = _RESULT.match(line.strip())
    if not m:
        raise AgiError(f"unparseable AGI reply: {line[:80]!r}")
    code = int(m.group(1))
    raw = m.group(2)
    result = int(raw) if raw not in (None, "", "-") else 0
    return AgiResult(code, result, m.group(3) or "", m.group(4) or "", line.strip())


class AgiSession:
    """One AGI conversation. Async methods mirror the AGI commands the IVR needs."""

    def __init__(
        self,
        env: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeout: float,
    ) -> None:
        self.env = env
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self.hungup = False
        self.route = urlparse(env.get("agi_request", "")).path.strip("/") or env.get("agi_network_script", "")

    async def _readline(self, timeout: float) -> str:
        try:
            raw = await asyncio.wait_for(self._reader.readline(), timeout)
        except ValueError:  # StreamReader's limit: a reply line longer than MAX_LINE
            # said here, once, because the route may well treat any AgiError as a hangup
            log.warning(
                "FastAGI %s: reply line longer than %d bytes; ending the session", self.route, MAX_LINE
            )
            self.hungup = True
            raise AgiHangup(f"AGI reply line longer than {MAX_LINE} bytes") from None
        if not raw:
            raise AgiHangup("connection closed")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def command(self, cmd: str, *, timeout: float | None = None) -> AgiResult:
        if self.hungup:
            raise AgiHangup("channel hung up")
        self._writer.write((cmd.replace("\n", " ") + "\n").encode())
        await self._writer.drain()
        wait = timeout if timeout is not None else self.timeout
        # one deadline for the whole reply: a peer trickling blank lines must not hold the session forever
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            line = await self._readline(max(0.0, deadline - asyncio.get_running_loop().time()))
            if line.strip() == "HANGUP":
                self.hungup = True
                continue  # the reply to our command still follows
            if not line.strip():
                continue
            res = parse_result(line)
            if res.code == 520 and line.startswith("520-"):
                while not (await self._readline(wait)).startswith("520 End"):
                    pass
            if res.code == 511:
                self.hungup = True
                raise AgiHangup("channel is dead")
            if res.code != 200:
                raise AgiError(f"{cmd.split()[0]} failed: {line[:120]}")
            return res

    # ---- helpers used by the IVR ---------------------------------------------------------------------
    async def answer(self) -> None:
        await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f'SET VARIABLE {name} "{_q(value)}"')

    async def get_variable(self, name: str) -> str | None:
        r = await self.command(f"GET VARIABLE {name}")
        return r.data if r.result == 1 else None

    async def stream_file(self, name: str, escape: str = "") -> str:
        """Play a sound file; returns the digit pressed to interrupt it, or ''."""
        r = await self.command(f'STREAM FILE {name} "{escape}"', timeout=self.timeout + 120)
        if r.result < 0:
            raise AgiHangup("hangup during playback")
        return chr(r.result) if r.result > 0 else ""

    async def get_data(self, name: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play a prompt and collect digits; returns (digits, timed_out)."""
        r = await self.command(f"GET DATA {name} {timeout_ms} {max_digits}", timeout=self.timeout + 120)
        m = re.search(r"result=(-?[0-9*#]*)", r.raw)
        digits = m.group(1) if m else ""
        if digits.startswith("-"):
            raise AgiHangup("hangup during input")
        return digits, "timeout" in r.data

    async def say_number(self, n: int, escape: str = "", gender: str = "") -> str:
        r = await self.command(f'SAY NUMBER {n} "{escape}" {gender}'.strip(), timeout=self.timeout + 60)
        if r.result < 0:
            raise AgiHangup("hangup during playback")
        return chr(r.result) if r.result > 0 else ""

    async def say_digits(self, digits: str, escape: str = "") -> str:
        r = await self.command(f'SAY DIGITS {digits} "{escape}"', timeout=self.timeout + 60)
        if r.result < 0:
            raise AgiHangup("hangup during playback")
        return chr(r.result) if r.result > 0 else ""

    async def exec(self, app: str, args: str = "") -> int:
        r = await self.command(f'EXEC {app} "{_q(args)}"', timeout=self.timeout + 300)
        return r.result

    async def verbose(self, msg: str, level: int = 1) -> None:
        await self.command(f'VERBOSE "{_q(msg)}" {level}')

    async def hangup(self) -> None:
        with contextlib.suppress(AgiError, OSError, TimeoutError):
            await self.command("HANGUP")


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


Route = Callable[[AgiSession], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.0/8", "::1")


class _QuietLog:
    """One WARNING line per kind per minute, with a count of what was left out: a flood of bad peers
    must not flood the log."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -1e9) < self.every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now
        suffix = f" (and {skipped} more like it in the last minute)" if skipped else ""
        log.warning(msg + suffix, *args)


def parse_networks(items: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(i, strict=False) for i in items]


class FastAgiServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_sessions: int = 200,
        idle_timeout: float = 30.0,
        header_timeout: float = 2.0,
        allowed_peers: Iterable[str] = LOOPBACK,
        max_pending: int = 512,
        max_pending_per_peer: int = 64,
    ) -> None:
        self.host, self.port = host, port
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        self.allowed = parse_networks(allowed_peers)
        self.max_pending = max_pending
        self.max_pending_per_peer = max_pending_per_peer
        self.routes: dict[str, Route] = {}
        self.active = 0  # sessions (header received)
        self.served = 0
        self.rejected = 0  # refused: sessions full
        self.refused = 0  # refused: peer not allowed
        self.evicted = 0  # pending connections dropped to make room
        self._pending: OrderedDict[asyncio.Task[None], str] = OrderedDict()
        self._pending_by_peer: dict[str, int] = {}
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._quiet = _QuietLog()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add_route(self, name: str, handler: Route) -> None:
        self.routes[name] = handler

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_LINE)
        sock = self._server.sockets[0].getsockname()
        self.port = sock[1]
        log.info(
            "FastAGI listening on %s:%s (peers allowed: %s)",
            self.host,
            self.port,
            ", ".join(str(n) for n in self.allowed) or "none",
        )

    async def stop(self, grace: float = 5.0) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for t in list(self._pending):
            t.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for t in list(self._tasks):
            t.cancel()

    def allowed_peer(self, host: str) -> bool:
        try:
            addr = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.allowed)

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str]:
        env: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            raw = await reader.readline()
            if not raw:
                raise AgiError("peer closed before the AGI header ended")
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                if "agi_request" not in env and "agi_network_script" not in env:
                    raise AgiError("not an AGI header")
                return env
            key, sep, value = line.partition(":")
            if not sep or not key.startswith("agi_"):
                raise AgiError(f"garbage in AGI header: {line[:40]!r}")
            env[key.strip()] = value.strip()
        raise AgiError("AGI header too long")

    def _make_room(self, host: str) -> None:
        """Drop the oldest pending connection of this source (or of all) when its share is full."""
        victim: asyncio.Task[None] | None = None
        if self._pending_by_peer.get(host, 0) >= self.max_pending_per_peer:
            victim = next((t for t, h in self._pending.items() if h == host), None)
        elif len(self._pending) >= self.max_pending:
            victim = next(iter(self._pending), None)
        if victim is not None:
            self._unpend(victim)
            self.evicted += 1
            victim.cancel()

    def _pend(self, task: asyncio.Task[None], host: str) -> None:
        self._make_room(host)
        self._pending[task] = host
        self._pending_by_peer[host] = self._pending_by_peer.get(host, 0) + 1

    def _unpend(self, task: asyncio.Task[None]) -> None:
        host = self._pending.pop(task, None)
        if host is None:
            return
        left = self._pending_by_peer.get(host, 1) - 1
        if left > 0:
            self._pending_by_peer[host] = left
        else:
            self._pending_by_peer.pop(host, None)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.allowed_peer(host):
            self.refused += 1
            self._quiet.warning("refused", "FastAGI: refused %s: not in fastagi.allowed_peers", host)
            writer.transport.abort()
            return
        self._tasks.add(task)
        session_slot = False
        try:
            self._pend(task, host)
            try:
                env = await asyncio.wait_for(self._read_env(reader), self.header_timeout)
            except asyncio.CancelledError:
                if self._server is None:
                    raise  # shutting down
                self._quiet.warning("evicted", "FastAGI: dropped idle connection from %s to make room", host)
                return
            except (AgiError, TimeoutError, ValueError, asyncio.LimitOverrunError, ConnectionError) as e:
                reason = str(e) or (
                    "no AGI header in time" if isinstance(e, TimeoutError) else type(e).__name__
                )
                self._quiet.warning("dropped", "FastAGI: dropped %s: %s", peer, reason)
                return
            finally:
                self._unpend(task)
            if self.active >= self.max_sessions:
                self.rejected += 1
                self._quiet.warning("full", "FastAGI: %d sessions busy; refusing %s", self.active, peer)
                return
            self.active += 1
            session_slot = True
            session = AgiSession(env, reader, writer, self.idle_timeout)
            handler = self.routes.get(session.route)
            if handler is None:
                log.warning("FastAGI: unknown route %r from %s", session.route, peer)
                with contextlib.suppress(Exception):
                    await session.verbose(f"dialer: unknown AGI route {session.route}")
                return
            self.served += 1
            try:
                await handler(session)
            except AgiHangup:
                log.debug("FastAGI %s: caller hung up", session.route)
            except (TimeoutError, ConnectionError, AgiError) as e:
                log.warning("FastAGI %s: session ended: %s", session.route, str(e) or type(e).__name__)
            except Exception:
                log.exception("FastAGI %s: handler failed", session.route)
        finally:
            if session_slot:
                self.active -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
