"""A simulated Asterisk: the AMI link's interface as the engine uses it, and the dialplan's FastAGI calls.

What the engine sees is what it sees from the sandbox (tests/recordings/outbound.jsonl): an Originate with
``ActionID`` = ``ChannelId`` = the attempt key is acknowledged at once, then the customer leg's
``Newchannel``/``DialBegin``/``Newstate Ringing``; an answered call gets ``Newstate Up``, ``DialEnd ANSWER``
and ``OriginateResponse`` Reason 4 and enters ``[dialer-answered]`` (asterisk_conf/extensions.conf):
``AMD()`` when the campaign asks for it, the engine's ``answered`` route over FastAGI, then either
``Dial(PJSIP/<agent>)`` (agent leg ``Newchannel``, ``DialBegin``, ``DialEnd ANSWER``, ``BridgeEnter``) or the
abandon / machine message and ``Hangup(16)``. Calls that are not answered end with ``OriginateResponse``
Reason 0 or 3 and a ``Hangup`` whose Cause/TechCause say busy (17/486), no answer (19/480), congestion
(34/503) or an unallocated number (1/404). Agents' phones report ``DeviceStateChange``.

Events are delivered from the loop (``call_soon``), never inside the engine's own call, as a socket would.
Who answers, after how long, and for how long people talk is decided by :mod:`.world`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from dialer.ami.link import AmiNotConnected, LinkState
from dialer.fastagi.server import AgiError, AgiHangup, AgiResult, AgiSession

EventHandler = Callable[[Any], Any]
StateHandler = Callable[[LinkState], Any]

# Q.850 cause and SIP code of each way a call can fail, as the sandbox's carrier reports them
FAILURES: dict[str, tuple[str, int, int, int]] = {
    # fate: (DialStatus, OriginateResponse Reason, Cause, TechCause)
    "busy": ("BUSY", 0, 17, 486),
    "invalid": ("NOANSWER", 0, 1, 404),
    "failed": ("CONGESTION", 0, 34, 503),
    "noanswer": ("NOANSWER", 3, 19, 480),
}


class SimulatedAsterisk:
    """Implements what :class:`dialer.engine.engine.Engine` uses of :class:`dialer.ami.link.AmiLink`."""

    def __init__(self, loop: Any, on_originate: Callable[[dict[str, Any]], None]) -> None:
        self.loop = loop
        self.state = LinkState.UP
        self.last_error: str | None = None
        self._on_originate = on_originate
        self._handlers: list[tuple[re.Pattern[str], EventHandler]] = []
        self._state_handlers: list[StateHandler] = []
        self._taps: list[Callable[[Any], None]] = []
        self._bg: set[asyncio.Task[Any]] = set()
        self._chan = itertools.count()
        self.devices: dict[str, str] = {}
        self.events = 0

    # ---- the link's interface ----------------------------------------------------------------------
    @property
    def is_up(self) -> bool:
        return self.state is LinkState.UP

    def on_event(self, pattern: str, handler: EventHandler) -> None:
        self._handlers.append((re.compile(fnmatch.translate(pattern), re.IGNORECASE), handler))

    def on_state(self, handler: StateHandler) -> None:
        self._state_handlers.append(handler)

    def add_tap(self, tap: Callable[[Any], None]) -> None:
        self._taps.append(tap)

    def remove_tap(self, tap: Callable[[Any], None]) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    async def send(self, action: dict[str, Any], *, as_list: bool = False, timeout: float = 10.0) -> Any:
        if not self.is_up:
            raise AmiNotConnected("AMI link is down")
        name = str(action.get("Action", "")).lower()
        if name == "originate":
            self._on_originate(dict(action))
            return {
                "Response": "Success",
                "ActionID": action.get("ActionID", ""),
                "Message": "Originate successfully queued",
            }
        if name == "coreshowchannels":
            return []  # the day starts with no channel up
        if name == "devicestatelist":
            return [{"Event": "DeviceStateChange", "Device": d, "State": s} for d, s in self.devices.items()]
        return {"Response": "Error", "Message": f"simulated Asterisk does not know {action.get('Action')}"}

    async def list_action(self, action: dict[str, Any], timeout: float = 10.0) -> list[Any]:
        items = await self.send(action, as_list=True, timeout=timeout)
        return list(items) if isinstance(items, list) else []

    # ---- events ---------------------------------------------------------------------------------------
    def channel(self, tech: str) -> str:
        """A new channel name, ``PJSIP/carrier-0000001a`` style."""
        return f"PJSIP/{tech}-{next(self._chan):08x}"

    def emit(self, event: str, **fields: Any) -> None:
        """Deliver one event from the loop, stamped with the current (virtual) wall clock."""
        ev = {"Event": event, "Privilege": "call,all", "Timestamp": f"{self.loop.wall():.6f}", **fields}
        self.loop.call_soon(self._dispatch, ev)

    def device(self, ext: str, state: str) -> None:
        dev = f"PJSIP/{ext}"
        if self.devices.get(dev) != state:
            self.devices[dev] = state
            self.emit("DeviceStateChange", Device=dev, State=state)

    def _dispatch(self, ev: dict[str, Any]) -> None:
        self.events += 1
        for tap in self._taps:
            tap(ev)
        name = ev["Event"]
        for rx, handler in self._handlers:
            if rx.match(name):
                r = handler(ev)
                if asyncio.iscoroutine(r):
                    t = asyncio.ensure_future(r)
                    self._bg.add(t)
                    t.add_done_callback(self._bg.discard)


class SimAgi(AgiSession):
    """One FastAGI conversation as the dialplan holds it: channel variables, prompts that take their time.

    The engine's route runs unchanged: it reads and sets variables through the AGI commands it always
    sends (``GET VARIABLE``, ``SET VARIABLE``, ``STREAM FILE``), answered here from ``variables``."""

    def __init__(self, env: dict[str, str], variables: dict[str, str], prompt_seconds: float = 4.0) -> None:
        self.env = env
        self.variables = variables
        self.prompt_seconds = prompt_seconds
        self.timeout = 10.0
        self.hungup = False
        self.route = env.get("agi_network_script", "")

    async def command(self, cmd: str, *, timeout: float | None = None) -> AgiResult:
        if self.hungup:
            raise AgiHangup("channel hung up")
        if cmd.startswith("SET VARIABLE "):
            name, _, value = cmd[len("SET VARIABLE ") :].partition(" ")
            self.variables[name] = _unquote(value)
            return AgiResult(200, 1, "", "", "200 result=1")
        if cmd.startswith("GET VARIABLE "):
            got = self.variables.get(cmd[len("GET VARIABLE ") :].strip())
            if got is None:
                return AgiResult(200, 0, "", "", "200 result=0")
            return AgiResult(200, 1, got, "", f"200 result=1 ({got})")
        if cmd.startswith("STREAM FILE "):
            await asyncio.sleep(self.prompt_seconds)
            return AgiResult(200, 0, "", "endpos=0", "200 result=0 endpos=0")
        raise AgiError(f"{cmd.split()[0]} is not simulated")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.replace('\\"', '"').replace("\\\\", "\\")


Route = Callable[[AgiSession], Awaitable[None]]
