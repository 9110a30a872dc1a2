"""The AMI link: one supervised panoramisk connection that logs in, reconnects with backoff, detects a dead
link, and never lets a bad event or a raising handler take it down.

panoramisk 1.4 traps avoided here (see shared/asterisk-notes.md):
- it re-sends unanswered actions after a reconnect, which could place a second call: we never re-send;
  every action still pending when the link drops fails with ``AmiLinkLost`` and the caller decides;
- its ping does not check for a reply: we ping with a deadline and drop the link when it passes;
- a "successfully queued" response without an explicit list mode raises inside the protocol: every action
  is sent with ``as_list`` set, and async Originates resolve on their ack so ``OriginateResponse`` reaches
  our event handlers;
- a raising callback kills the connection: handlers run inside a guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fnmatch
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk import actions as pactions
from panoramisk import manager as pmanager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)

EventHandler = Callable[[Message], Awaitable[None] | None]
StateHandler = Callable[["LinkState"], Awaitable[None] | None]

MAX_BUFFER = 4 * 1024 * 1024  # a peer that never ends a message is not allowed to eat memory


class LinkState(enum.StrEnum):
    DOWN = "down"
    CONNECTING = "connecting"
    UP = "up"
    STOPPED = "stopped"


class AmiError(Exception):
    pass


class AmiLinkLost(AmiError):
    """The link dropped before the action's answer arrived. The action may or may not have run."""


class AmiNotConnected(AmiError):
    pass


class AmiLoginFailed(AmiError):
    pass


class _Protocol(AMIProtocol):  # type: ignore[misc]
    def data_received(self, data: bytes) -> None:
        if sum(len(x) for x in self.queue) + len(data) > MAX_BUFFER:
            log.error("AMI peer sent %d bytes without a message boundary; dropping the link", MAX_BUFFER)
            self.transport.close()
            return
        try:
            super().data_received(data)
        except Exception:
            log.exception("AMI: could not parse data from the peer; ignored")

    def handle_message(self, message: Message) -> None:
        try:
            super().handle_message(message)
        except Exception:
            log.exception("AMI: message handling failed; ignored: %r", dict(message))


class _ListAction(pactions.Action):  # type: ignore[misc]
    """A list action whose refusal (``Response: Error``) resolves at once instead of hanging forever."""

    def add_message(self, message: Message) -> bool | None:
        if not self.responses and message.get("Response") in ("Error", "Fail", "Failure"):
            self.responses.append(message)
            if not self.future.done():
                self.future.set_result([message])
            return True
        return super().add_message(message)  # type: ignore[no-any-return]


class _Manager(pmanager.Manager):  # type: ignore[misc]
    """panoramisk's Manager with its own reconnect, resend and ping switched off (the link supervises)."""

    def __init__(self, link: AmiLink, **config: Any) -> None:
        super().__init__(**config)
        self._link = link
        self.lost = asyncio.Event()

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        self.lost.set()

    async def send_awaiting_actions(self, *_: Any) -> None:
        self.awaiting_actions.clear()

    def ping(self) -> None:
        return None

    def dispatch(self, event: Message) -> list[str]:
        self._link._dispatch(event)
        return []


class AmiLink:
    """Supervised AMI connection. Use ``start()``/``stop()``, ``send()``, ``on_event()``, ``on_state()``."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        connect_timeout: float = 5.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 10.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        name: str = "ami",
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self._secret = secret
        self.connect_timeout = connect_timeout
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.name = name
        self.state = LinkState.DOWN
        self.last_error: str | None = None
        self.connected_since: float | None = None
        self.connects = 0
        self.handler_errors = 0
        self._handlers: list[tuple[str, re.Pattern[str], EventHandler]] = []
        self._state_handlers: list[StateHandler] = []
        self._taps: list[Callable[[Message], None]] = []
        self._manager: _Manager | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._up = asyncio.Event()
        self._bg: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(cls, ami: Any) -> AmiLink:
        return cls(
            ami.host,
            ami.port,
            ami.username,
            ami.secret.get_secret_value(),
            connect_timeout=ami.connect_timeout,
            reconnect_min=ami.reconnect_min,
            reconnect_max=ami.reconnect_max,
            ping_interval=ami.ping_interval,
            ping_timeout=ami.ping_timeout,
        )

    def __repr__(self) -> str:  # never shows the secret
        return f"<AmiLink {self.username}@{self.host}:{self.port} {self.state}>"

    # ---- subscriptions -------------------------------------------------------------------------------
    def on_event(self, pattern: str, handler: EventHandler) -> None:
        """Call handler for events whose name matches the fnmatch pattern (case-insensitive)."""
        self._handlers.append((pattern, re.compile(fnmatch.translate(pattern), re.IGNORECASE), handler))

    def on_state(self, handler: StateHandler) -> None:
        self._state_handlers.append(handler)

    def add_tap(self, tap: Callable[[Message], None]) -> None:
        """See every event before the handlers (used to record event sequences for replay tests)."""
        self._taps.append(tap)

    def remove_tap(self, tap: Callable[[Message], None]) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    # ---- lifecycle -----------------------------------------------------------------------------------
    @property
    def is_up(self) -> bool:
        return self.state is LinkState.UP

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drop("link stopped")
        await self._set_state(LinkState.STOPPED)

    async def wait_up(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._up.wait(), timeout)

    async def _supervise(self) -> None:
        """Runs for the life of the link. Nothing but cancellation ends it: an unexpected error is logged,
        the link is dropped and the next connection tried, so a bug can't leave a dead link behind a
        healthy-looking service."""
        while True:
            try:
                await self._supervise_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("AMI link supervisor: unexpected error; reconnecting")
                self.last_error = "internal error (see log)"
                m, self._manager = self._manager, None
                if m is not None:
                    with contextlib.suppress(Exception):
                        m.close()
                self._drop("internal error")
                with contextlib.suppress(Exception):
                    await self._set_state(LinkState.DOWN)
                await asyncio.sleep(self.reconnect_max * random.uniform(0.5, 1.0))

    async def _supervise_once(self) -> None:
        delay = self.reconnect_min
        while True:
            await self._set_state(LinkState.CONNECTING)
            try:
                await self._connect()
            except (OSError, TimeoutError, AmiError) as e:
                msg = str(e) or type(e).__name__
                if msg != self.last_error:
                    log.warning("AMI %s:%s unreachable: %s; retrying", self.host, self.port, msg)
                self.last_error = msg
                self._drop(msg)
                await self._set_state(LinkState.DOWN)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay = self.reconnect_min
            self.last_error = None
            self.connects += 1
            self.connected_since = time.monotonic()
            log.info("AMI link up (%s@%s:%s)", self.username, self.host, self.port)
            await self._set_state(LinkState.UP)
            reason = await self._watch()
            log.warning("AMI link lost: %s", reason)
            self.last_error = reason
            self._drop(reason)
            await self._set_state(LinkState.DOWN)
            await asyncio.sleep(self.reconnect_min * random.uniform(0.8, 1.2))

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        m = _Manager(
            self,
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self._secret,
            loop=loop,
            ping_delay=3600,
            reconnect_timeout=3600,
            protocol_factory=_Protocol,
            log=logging.getLogger("dialer.ami.panoramisk"),
        )
        self._manager = m
        try:
            await asyncio.wait_for(m.connect(), self.connect_timeout)
            deadline = loop.time() + self.connect_timeout
            while m.authenticated_future is None and not m.authenticated and loop.time() < deadline:
                await asyncio.sleep(0.01)
            fut = m.authenticated_future
            if fut is not None:
                resp = await asyncio.wait_for(asyncio.shield(fut), max(0.1, deadline - loop.time()))
                if not resp.success:
                    raise AmiLoginFailed(f"login refused for user {self.username!r}: {resp.message}")
            if not m.authenticated:
                raise AmiLoginFailed(f"login for user {self.username!r} got no answer")
        except BaseException:
            m.close()
            self._manager = None
            raise

    async def _watch(self) -> str:
        m = self._manager
        assert m is not None
        lost = asyncio.create_task(m.lost.wait())
        try:
            while True:
                done, _ = await asyncio.wait({lost}, timeout=self.ping_interval)
                if done:
                    return "connection closed by peer"
                try:
                    await asyncio.wait_for(self._raw_send({"Action": "Ping"}), self.ping_timeout)
                except (TimeoutError, AmiError):
                    if m.lost.is_set():
                        return "connection closed by peer"
                    return f"no reply to Ping within {self.ping_timeout:g} s"
        finally:
            lost.cancel()
            m.close()
            self._manager = None

    def _drop(self, reason: str) -> None:
        pending, self._pending = self._pending, set()
        for fut in pending:
            if not fut.done():
                fut.set_exception(AmiLinkLost(reason))
                fut.exception()  # mark retrieved: a caller that gave up must not log noise

    async def _set_state(self, state: LinkState) -> None:
        if state is self.state:
            return
        self.state = state
        if state is LinkState.UP:
            self._up.set()
        else:
            self._up.clear()
        for h in list(self._state_handlers):
            try:
                r = h(state)
                if asyncio.iscoroutine(r):
                    await r
            except Exception:
                log.exception("AMI state handler failed")

    # ---- events --------------------------------------------------------------------------------------
    def _dispatch(self, event: Message) -> None:
        name = str(event.get("Event", ""))
        for tap in self._taps:
            try:
                tap(event)
            except Exception:
                log.exception("AMI tap failed")
        for _, rx, handler in self._handlers:
            if not rx.match(name):
                continue
            try:
                r = handler(event)
            except Exception:
                self.handler_errors += 1
                log.exception("AMI handler for %s failed; event skipped", name)
                continue
            if asyncio.iscoroutine(r):
                t = asyncio.ensure_future(r)
                self._bg.add(t)
                t.add_done_callback(self._handler_done)

    def _handler_done(self, t: asyncio.Task[Any]) -> None:
        self._bg.discard(t)
        if not t.cancelled() and t.exception() is not None:
            self.handler_errors += 1
            log.error("AMI async handler failed: %r", t.exception())

    # ---- actions -------------------------------------------------------------------------------------
    def _raw_send(self, action: dict[str, Any], as_list: bool = False) -> asyncio.Future[Any]:
        m = self._manager
        if m is None or m.protocol is None or not m._connected:
            raise AmiNotConnected("AMI link is down")
        act = _ListAction(dict(action), as_list=True) if as_list else dict(action)
        fut: asyncio.Future[Any] = m.send_action(act, as_list=as_list)
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    async def send(self, action: dict[str, Any], *, as_list: bool = False, timeout: float = 10.0) -> Any:
        """Send one action and wait for its answer (a Message, or a list of Messages when as_list).

        Never re-sent: if the link drops first, ``AmiLinkLost`` is raised and the action may have run.
        """
        if not self.is_up:
            raise AmiNotConnected("AMI link is down")
        if str(action.get("Action", "")).lower() == "originate":
            action = {"Async": "true", **action}
        fut = self._raw_send(action, as_list=as_list)
        return await asyncio.wait_for(fut, timeout)

    async def command(self, cmd: str, timeout: float = 10.0) -> str:
        resp = await self.send({"Action": "Command", "Command": cmd}, timeout=timeout)
        out = resp.get("Output", resp.content)
        return "\n".join(out) if isinstance(out, list) else str(out or "")

    async def list_action(self, action: dict[str, Any], timeout: float = 10.0) -> list[Message]:
        """For actions answered by a list of events ending in ``...Complete``: returns the events only."""
        msgs = await self.send(action, as_list=True, timeout=timeout)
        items: list[Message] = msgs if isinstance(msgs, list) else [msgs]
        if items and items[0].get("Response") in ("Error", "Fail", "Failure"):
            raise AmiError(f"{action.get('Action')}: {items[0].get('Message', 'refused')}")
        return [m for m in items if "Event" in m and not str(m["Event"]).endswith("Complete")]
