"""The classic AGI door: ``AGI(ivr.py)`` runs agi_scripts/ivr.py on the PBX, which calls ``main()`` here.

pyst2 speaks AGI over stdin/stdout; this module adapts it to flow.Port and adds what pyst2 lacks:
- a SIGHUP (Asterisk's hangup signal) that arrives while the script waits for Asterisk's reply ends the
  read at once instead of waiting for a reply that may never come;
- GET DATA keeps its "(timeout)" flag (pyst2 drops it), so "#" and silence mean different things;
- pyst2's own stderr dump of the AGI environment (caller ID and all) goes nowhere.

Start-up time matters (the caller hears nothing until the first command): SQLAlchemy is imported and the
engine built on a background thread while the greeting plays.

Configuration: a ``key = value`` file, the AGI argument or ``$DIALER_IVR_CONF`` or ``dialer-ivr.conf`` next
to the script: ``database_url`` (the service's URL works: async drivers are swapped for sync ones),
``default_lang``, ``lookup_deadline``. No file or no URL: every look-up fails and callers go to an operator.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from asterisk.agi import AGI, AGIException, AGIResultHangup, AGISIGHUPHangup, AGISIGPIPEHangup

from dialer.ivr.aiothread import in_thread
from dialer.ivr.booking import Bookings, LazyBookings
from dialer.ivr.flow import AppInfo, CallFlow, CallInfo, Hangup, IvrConfig, LookupResult
from dialer.ivr.prompts import unix_noon

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from dialer.ivr.lookup import SyncDirectory

log = logging.getLogger("dialer.ivr.classic")
T = TypeVar("T")
CONF_NAME = "dialer-ivr.conf"
_GET_DATA = re.compile(r"^200 result=(-?[0-9*#]*)\s*(?:\((\w*)\))?")


class _Stdin:
    """Asterisk's side of the pipe. Knows when the script is blocked on it, so SIGHUP can cut the wait."""

    def __init__(self, raw: IO[str]) -> None:
        self.raw = raw
        self.reading = False
        self.hung_up = False

    def readline(self) -> str:
        self.reading = True
        try:
            if self.hung_up:  # SIGHUP came between sending a command and waiting for its reply
                raise AGISIGHUPHangup("SIGHUP before the reply")
            line = self.raw.readline()
        finally:
            self.reading = False
        if not line:
            # not AGIResultHangup: pyst2's get_variable swallows that one and returns "hangup"
            raise AGISIGPIPEHangup("Asterisk closed the AGI pipe")
        return line


class ClassicAgi(AGI):  # type: ignore[misc]
    def __init__(self, stdin: IO[str], stdout: IO[str]) -> None:
        self._in = _Stdin(stdin)
        self._devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the script
        super().__init__(stdin=self._in, stdout=stdout, stderr=self._devnull)

    def _handle_sighup(self, signum: int, frame: Any) -> None:
        self._got_sighup = self._in.hung_up = True
        if self._in.reading:
            raise AGISIGHUPHangup("SIGHUP while waiting for Asterisk")

    def get_data_flagged(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        self.test_hangup()
        self.send_command("GET DATA", prompt, timeout_ms, max_digits)
        line = self._in.readline().strip()
        m = _GET_DATA.match(line)
        if m is None:
            raise AGIResultHangup(f"unexpected GET DATA reply: {line[:60]!r}")
        digits = m.group(1)
        if digits.startswith("-"):
            raise AGIResultHangup("hangup during GET DATA")
        return digits, m.group(2) == "timeout"


class ClassicPort:
    """flow.Port over pyst2. Calls block, which is fine: one script serves one call."""

    def __init__(self, agi: ClassicAgi) -> None:
        self.agi = agi

    def _do(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (AGIException, OSError, ValueError) as e:
            raise Hangup(str(e) or type(e).__name__) from e

    async def get_variable(self, name: str) -> str | None:
        value = self._do(lambda: self.agi.get_variable(name))
        return str(value) if value else None

    async def set_variable(self, name: str, value: str) -> None:
        self._do(lambda: self.agi.set_variable(name, value))

    async def play(self, prompt: str, escape: str = "") -> str:
        return str(self._do(lambda: self.agi.stream_file(prompt, escape)))

    async def ask(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        return self._do(lambda: self.agi.get_data_flagged(prompt, timeout_ms, max_digits))

    async def say_digits(self, digits: str, escape: str = "") -> str:
        return str(self._do(lambda: self.agi.say_digits(digits, escape)))

    async def say_number(self, number: int, escape: str = "") -> str:
        return str(self._do(lambda: self.agi.say_number(number, escape)))

    async def say_date(self, day: date, fmt: str, escape: str = "") -> str:
        return str(self._do(lambda: self.agi.say_datetime(unix_noon(day), escape, fmt, "UTC")))


class LazyDirectory:
    """A SyncDirectory built on a background thread (importing SQLAlchemy takes a few hundred ms)."""

    def __init__(self, database_url: str | None) -> None:
        self._ready = threading.Event()
        self._dir: SyncDirectory | None = None
        self._error: BaseException | None = None
        self._url = database_url
        threading.Thread(target=self._build, name="ivr-db-init", daemon=True).start()

    def _build(self) -> None:
        try:
            if not self._url:
                raise RuntimeError(f"no database_url in {CONF_NAME}")
            from dialer.ivr.lookup import SyncDirectory, make_sync_engine

            self._dir = SyncDirectory(make_sync_engine(self._url))
        except BaseException as e:
            self._error = e
        finally:
            self._ready.set()

    def engine(self) -> Engine:
        """The sync engine, once built (blocks: call it from a worker thread)."""
        self._ready.wait()
        if self._dir is None:
            raise RuntimeError(f"database not configured: {self._error}")
        return self._dir.engine()

    async def _get(self) -> SyncDirectory:
        if not self._ready.is_set():
            await in_thread(self._ready.wait)
        if self._dir is None:
            raise RuntimeError(f"database not configured: {self._error}")
        return self._dir

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        d = await self._get()
        return await d.lookup(number, caller, max_misses=max_misses, window_s=window_s, details=details)

    async def by_phone(self, phone: str) -> AppInfo | None:
        return await (await self._get()).by_phone(phone)

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        await (await self._get()).record_call(caller, details)


def _ledger_bookings(directory: LazyDirectory) -> Bookings:
    from dialer.ivr.pickup import sync_bookings

    return sync_bookings(directory.engine)


def read_conf(path: Path) -> dict[str, str]:
    conf: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return conf
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.strip().startswith("#"):
            conf[key.strip()] = value.strip()
    return conf


def conf_path(argv: list[str], script_dir: Path) -> Path:
    if argv and argv[0]:
        return Path(argv[0])
    env = os.environ.get("DIALER_IVR_CONF")
    return Path(env) if env else script_dir / CONF_NAME


def config_from(conf: Mapping[str, str]) -> IvrConfig:
    cfg = IvrConfig()
    if conf.get("default_lang"):
        cfg.default_lang = conf["default_lang"]
    if conf.get("lookup_deadline"):
        cfg.lookup_deadline = float(conf["lookup_deadline"])
    return cfg


def main(argv: list[str] | None = None, script_dir: Path | None = None) -> int:
    """Serve one call. Always exits 0: the dialplan goes on either way (IVR_TRANSFER tells it where)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="ivr.py: %(message)s")
    args = sys.argv[1:] if argv is None else argv
    conf = read_conf(conf_path(args, script_dir or Path(sys.argv[0]).resolve().parent))
    try:
        agi = ClassicAgi(sys.stdin, sys.stdout)
    except (AGIException, OSError):
        return 0  # Asterisk hung up before the AGI header was complete
    directory = LazyDirectory(conf.get("database_url"))
    call = CallInfo(
        caller=agi.env.get("agi_callerid", ""), uniqueid=agi.env.get("agi_uniqueid", ""), mode="agi"
    )
    try:
        cfg = config_from(conf)
    except ValueError:
        cfg = IvrConfig()
    bookings = LazyBookings(lambda: _ledger_bookings(directory))
    asyncio.run(CallFlow(ClassicPort(agi), directory, cfg, call, bookings).run())
    return 0
