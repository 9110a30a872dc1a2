"""The FastAGI door: ``AGI(agi://HOST:4573/ivr)`` runs the call flow inside the service.

An adapter from dialer.fastagi.server.AgiSession to flow.Port, and the route that the plugin registers.
Every way the AGI link can end (hangup, dead channel, a peer that vanished, a reply that never came) becomes
``flow.Hangup``, so the flow still writes its audit row and the server's session ends cleanly.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from dialer.fastagi.server import AgiError, AgiSession, Route
from dialer.ivr.booking import Bookings
from dialer.ivr.flow import CallFlow, CallInfo, Directory, Hangup, IvrConfig
from dialer.ivr.prompts import unix_noon

T = TypeVar("T")

PLAYBACK_SLACK = 120.0  # seconds a single prompt may take before the AGI link counts as dead


class FastAgiPort:
    def __init__(self, session: AgiSession) -> None:
        self.s = session

    async def _guard(self, aw: Awaitable[T]) -> T:
        try:
            return await aw
        except (AgiError, TimeoutError, ConnectionError, OSError) as e:
            raise Hangup(str(e) or type(e).__name__) from e

    async def get_variable(self, name: str) -> str | None:
        return await self._guard(self.s.get_variable(name))

    async def set_variable(self, name: str, value: str) -> None:
        await self._guard(self.s.set_variable(name, value))

    async def play(self, prompt: str, escape: str = "") -> str:
        return await self._guard(self.s.stream_file(prompt, escape))

    async def ask(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        return await self._guard(self.s.get_data(prompt, timeout_ms, max_digits))

    async def say_digits(self, digits: str, escape: str = "") -> str:
        return await self._guard(self.s.say_digits(digits, escape))

    async def say_number(self, number: int, escape: str = "") -> str:
        return await self._guard(self.s.say_number(number, escape))

    async def say_date(self, day: date, fmt: str, escape: str = "") -> str:
        cmd = f'SAY DATETIME {unix_noon(day)} "{escape}" "{fmt}" UTC'
        r = await self._guard(self.s.command(cmd, timeout=self.s.timeout + PLAYBACK_SLACK))
        if r.result < 0:
            raise Hangup("hangup while saying a date")
        return chr(r.result) if r.result > 0 else ""


def make_route(
    directory: Directory, config: IvrConfig | None = None, bookings: Bookings | None = None
) -> Route:
    cfg = config or IvrConfig()

    async def ivr(session: AgiSession) -> None:
        call = CallInfo(
            caller=session.env.get("agi_callerid", ""),
            uniqueid=session.env.get("agi_uniqueid", ""),
            mode="fastagi",
        )
        await CallFlow(FastAgiPort(session), directory, cfg, call, bookings).run()

    return ivr
