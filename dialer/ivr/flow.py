"""The 505 call flow, written once over an abstract port so both doors run the same logic.

greeting -> the caller's own application is offered (by caller ID) -> the application number's digits are
keyed in (ended by # or a timeout) -> their count is checked -> a long number is read back digit by digit
(1 confirms, 2 re-enters) -> it is looked up by its digits -> the result is spoken -> menu (1 repeat,
0 operator, # end). Anything that needs a person (0, repeated bad input, a failed look-up, too many unknown
numbers, digits that match two applications) sets ``IVR_TRANSFER=operator`` and returns; the dialplan does
the transfer.

Each step is a method of ``CallFlow`` that returns what the caller chose; a later menu (issue 14: booking a
pickup appointment) hangs off ``_menu`` like "repeat" and "operator" do.

Stdlib only: this module also runs inside the PBX's Python (classic AGI), which has no pydantic and no
dialer service. The port (``Port``) is implemented over FastAGI (dialer.ivr.fastagi) and over pyst2
(dialer.ivr.classic); the data side (``Directory``) over async and sync SQLAlchemy (dialer.ivr.lookup).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dialer.applications.keys import MAX_DIGITS, MIN_DIGITS, search_key
from dialer.ivr import prompts as P
from dialer.ivr.privacy import ANONYMOUS, caller_key, mask_number, mask_phone, office_number

if TYPE_CHECKING:
    from dialer.ivr.booking import Bookings

log = logging.getLogger("dialer.ivr")

T = TypeVar("T")

# APP_STATUS values (fixed names; the dialplan, the engine and reports rely on them)
READY = "ready"
PROCESSING = "processing"
SUBMITTED = "submitted"
ISSUED = "issued"
REJECTED = "rejected"
NOT_FOUND = "not_found"
INVALID = "invalid"
UNAVAILABLE = "unavailable"
LIMITED = "limited"
AMBIGUOUS = "ambiguous"  # the digits match two applications: an operator sorts it out
APP_STATUSES = (
    READY,
    PROCESSING,
    SUBMITTED,
    ISSUED,
    REJECTED,
    NOT_FOUND,
    INVALID,
    UNAVAILABLE,
    LIMITED,
    AMBIGUOUS,
)
_DB_STATUSES = (READY, PROCESSING, SUBMITTED, ISSUED, REJECTED)

DIGITS = "0123456789"
RESULT_KEYS = "10#"  # the menu keys also cut the spoken result short
CONFIRM, REENTER = "1", "2"  # after the read-back of a long number


class Hangup(Exception):
    """The caller is gone (or the AGI link broke): stop talking, only record the outcome."""


class LookupFailed(Exception):
    """The database did not answer in time or failed: the caller goes to an operator."""


@dataclass(frozen=True)
class AppInfo:
    """What the IVR may say about an application. The applicant's name is deliberately not here."""

    number: str
    status: str
    pickup_office: str | None = None
    pickup_from: date | None = None
    expected_date: date | None = None


@dataclass(frozen=True)
class LookupResult:
    app: AppInfo | None
    limited: bool = False
    ambiguous: bool = False  # two or more applications have these digits; ``app`` is None


class Port(Protocol):
    """The few AGI operations the flow needs. Every method raises ``Hangup`` when the caller is gone."""

    async def get_variable(self, name: str) -> str | None: ...

    async def set_variable(self, name: str, value: str) -> None: ...

    async def play(self, prompt: str, escape: str = "") -> str:
        """Play a sound; returns the escape digit pressed, or ''."""
        ...

    async def ask(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play a prompt and collect digits until #, max_digits or timeout: (digits, timed_out)."""
        ...

    async def say_digits(self, digits: str, escape: str = "") -> str: ...

    async def say_number(self, number: int, escape: str = "") -> str: ...

    async def say_date(self, day: date, fmt: str, escape: str = "") -> str: ...


class Directory(Protocol):
    """Look-ups and the audit trail. Implementations may be slow or fail; the flow bounds them in time."""

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        """Rate-limit check, find by the number's digits (``search_key``), and an audit row. ``limited``
        when the caller had ``max_misses`` unknown numbers within ``window_s`` seconds (the application is
        not looked up); ``ambiguous`` when the digits match more than one application."""
        ...

    async def by_phone(self, phone: str) -> AppInfo | None:
        """The caller's most recent application by its phone (E.164), if any."""
        ...

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None: ...


@dataclass
class IvrConfig:
    default_lang: str = "ru"
    languages: tuple[str, ...] = ("ru", "en")
    min_digits: int = MIN_DIGITS
    max_digits: int = MAX_DIGITS
    confirm_min_digits: int = 8  # numbers this long are read back before the look-up (0: never)
    confirm_rounds: int = 2  # read-backs without a 1 or 2 before the entry counts as bad
    input_timeout_ms: int = 5000  # after the prompt and between digits
    input_tries: int = 3  # bad or empty entries before the operator
    lookup_deadline: float = 1.0  # seconds; a slower database counts as down
    max_misses: int = 5  # unknown numbers per calling number ...
    miss_window_s: float = 600.0  # ... within this window, then look-ups stop (APP_STATUS=limited)
    menu_rounds: int = 3  # repeats/timeouts in the final menu before goodbye


@dataclass(frozen=True)
class CallInfo:
    caller: str  # as the channel reports it (agi_callerid); normalised by the flow
    uniqueid: str = ""
    mode: str = ""  # fastagi | agi


@dataclass
class Outcome:
    app_number: str = ""
    app_status: str = ""
    transfer: bool = False
    hung_up: bool = False
    lang: str = ""
    lookups: int = 0
    prompts: list[str] = field(default_factory=list)  # what was played, for tests and the audit row


_abandoned: set[asyncio.Task[Any]] = set()


async def within(aw: Awaitable[T], seconds: float) -> T:
    """Await with a deadline, without cancelling the work when it passes.

    Cancelling a database call half-way can leave a pooled connection in an unknown state (asyncpg) or is
    impossible (a sync driver in a thread); the call is left to finish on its own and its result dropped,
    while the caller hears "unavailable" on time. Every failure becomes ``LookupFailed``.
    """
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        _abandoned.add(task)
        task.add_done_callback(_forget)
        raise LookupFailed(f"no answer within {seconds:g} s")
    try:
        return task.result()
    except Exception as e:
        raise LookupFailed(f"{type(e).__name__}: {e}") from e


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a late failure of abandoned work is expected, not news


class CallFlow:
    """One call. ``run()`` never raises: a hangup or a bug still ends in an outcome and an audit row."""

    def __init__(
        self,
        port: Port,
        directory: Directory,
        config: IvrConfig,
        call: CallInfo,
        bookings: Bookings | None = None,
    ) -> None:
        self.port = port
        self.directory = directory
        self.bookings = bookings  # pickup booking (dialer.ivr.booking) for ready applications, when given
        self.cfg = config
        self.call = call
        self.caller = caller_key(call.caller)
        self.outcome = Outcome(lang=config.default_lang)

    async def run(self) -> Outcome:
        try:
            await self._converse()
        except Hangup:
            self.outcome.hung_up = True
        except LookupFailed as e:
            log.warning("IVR: look-up failed for caller %s: %s", mask_phone(self.caller), e)
            await self._safely(self._transfer(UNAVAILABLE, P.UNAVAILABLE))
        except Exception:
            log.exception("IVR: call flow failed; sending the caller to an operator")
            await self._safely(self._transfer(UNAVAILABLE, P.UNAVAILABLE))
        await self._record()
        return self.outcome

    async def _safely(self, aw: Awaitable[None]) -> None:
        try:
            await aw
        except Hangup:
            self.outcome.hung_up = True
        except Exception:
            log.exception("IVR: could not hand the caller over")

    # ---- the conversation ----------------------------------------------------------------------------
    async def _converse(self) -> None:
        await self._choose_language()
        first = await self._play(P.WELCOME, DIGITS)
        typed: str | None = None
        if first:  # a caller who knows the drill keys the number during the greeting
            rest, _ = await self._ask(P.SILENCE, self.cfg.max_digits)
            typed = first + rest
        elif self.caller != ANONYMOUS:
            own = await within(self.directory.by_phone(self.caller), self.cfg.lookup_deadline)
            if own is not None:
                choice = await self._offer(own)
                if choice == "1" and await self._look_up(own.number, misses=0):
                    return
                typed = choice if choice not in ("", "1") else None
        await self._entry(typed)

    async def _choose_language(self) -> None:
        """IVR_LANG (the call's, or the dialplan's global as site configuration) beats the default."""
        wanted = (await self.port.get_variable("IVR_LANG") or "").strip().lower()
        lang = wanted if wanted in self.cfg.languages else self.cfg.default_lang
        current = (await self.port.get_variable("CHANNEL(language)") or "").strip().lower()
        if current != lang:
            await self.port.set_variable("CHANNEL(language)", lang)
        self.outcome.lang = lang

    async def _offer(self, own: AppInfo) -> str:
        """Offer "press 1 for the application ending in 1234": returns '1', other keyed digits, or ''.

        A '1' always means yes, even if the caller meant to start another number with it: such a caller
        declines with '#' and keys the number when asked for it."""
        pressed = await self._play(P.OFFER_OWN, DIGITS)
        if not pressed:
            pressed = await self.port.say_digits(search_key(own.number)[-4:], DIGITS)
        if not pressed:
            pressed, _ = await self._ask(P.OFFER_OWN_PRESS, 1)
        if pressed in ("", "1", "#", "*"):
            return pressed.strip("#*")
        rest, _ = await self._ask(P.SILENCE, self.cfg.max_digits)  # another number is being keyed in
        return pressed + rest

    async def _entry(self, typed: str | None) -> None:
        bad = misses = 0
        while True:
            if typed is None:
                digits, _ = await self._ask(P.ENTER_NUMBER, self.cfg.max_digits + 1)
            else:
                digits, typed = typed, None
            problem = None if self._well_formed(digits) else P.INVALID_NUMBER if digits else P.NO_INPUT
            if problem is None and await self._confirmed(digits):
                if await self._look_up(digits, misses):
                    return
                misses += 1
                await self._play(P.TRY_AGAIN)  # not found once: one more try before the operator offer
                continue
            bad += 1  # bad input, or "2" / no answer to the read-back: keyed again, within one allowance
            self.outcome.app_number = digits
            if problem is not None:
                await self._play(problem)
            if bad >= self.cfg.input_tries:
                await self._transfer(INVALID, P.CONNECTING)
                return

    async def _confirmed(self, digits: str) -> bool:
        """Read a long number back digit by digit: True on 1, False on 2 (or no answer: keyed again).

        Callers slip on long numbers; hearing "2 0 2 7 0 0 0 1 0" catches it before a look-up that would
        answer "not found" (and count against the caller's limit). A 1 or 2 during the read-back counts."""
        if not self.cfg.confirm_min_digits or len(digits) < self.cfg.confirm_min_digits:
            return True
        choices = CONFIRM + REENTER
        for _ in range(self.cfg.confirm_rounds):
            pressed = await self._play(P.YOU_ENTERED, choices)
            if not pressed:
                pressed = await self.port.say_digits(digits, choices)
            if not pressed:
                pressed, _ = await self._ask(P.CONFIRM_NUMBER, 1)
            if pressed in (CONFIRM, REENTER):
                return pressed == CONFIRM
            if pressed:
                await self._play(P.INVALID_OPTION)
        return False

    def _well_formed(self, digits: str) -> bool:
        return search_key(digits) == digits and self.cfg.min_digits <= len(digits) <= self.cfg.max_digits

    async def _look_up(self, number: str, misses: int) -> bool:
        """Look the number up and run the result menu; False when it was not found and may be retried.

        ``number`` is what the caller keyed, or their own application's number as stored: the directory
        matches its digits either way. APP_NUMBER becomes the stored number of the application found (the
        operator's screen pop finds it by that), else the digits keyed."""
        self.outcome.lookups += 1
        self.outcome.app_number = number  # the operator sees it even if the look-up fails
        details = {"app_number": number, "uniqueid": self.call.uniqueid, "mode": self.call.mode}
        res = await within(
            self.directory.lookup(
                number,
                self.caller,
                max_misses=self.cfg.max_misses,
                window_s=self.cfg.miss_window_s,
                details=details,
            ),
            self.cfg.lookup_deadline,
        )
        if res.limited:
            log.warning("IVR: caller %s hit the look-up limit", mask_phone(self.caller))
            await self._transfer(LIMITED, P.LIMITED)
            return True
        if res.ambiguous:
            log.warning("IVR: application %s matches several applications", mask_number(number))
            await self._transfer(AMBIGUOUS, P.AMBIGUOUS)
            return True
        status = res.app.status if res.app is not None else NOT_FOUND
        log.info("IVR: application %s -> %s", mask_number(number), status)
        if status not in _DB_STATUSES and status != NOT_FOUND:
            raise LookupFailed(f"application has an unknown status {status!r}")
        await self._set_result(res.app.number if res.app is not None else number, status)
        if res.app is None:
            await self._play(P.NOT_FOUND)
            if misses == 0:
                return False
        await self._menu(res.app)
        return True

    async def _menu(self, app: AppInfo | None) -> None:
        pressed = await self._speak(app) if app is not None else ""
        if app is not None and app.status == READY and self.bookings is not None and not pressed:
            from dialer.ivr.booking import DONE, OPERATOR, BookingMenu

            after = await BookingMenu(self, self.bookings).run(app)
            if after == OPERATOR:
                await self._transfer(self.outcome.app_status, P.CONNECTING)
                return
            if after == DONE:
                await self._play(P.GOODBYE)
                return
        rounds = 0
        while rounds < self.cfg.menu_rounds:
            if pressed:
                choice, timed_out, pressed = pressed, False, ""
            else:
                choice, timed_out = await self._ask(P.MENU, 1)
            if choice == "0":
                await self._transfer(self.outcome.app_status, P.CONNECTING)
                return
            if choice in ("", "#") and not timed_out:
                break
            rounds += 1
            if choice == "1":
                pressed = await (
                    self._speak(app) if app is not None else self._play(P.NOT_FOUND, RESULT_KEYS)
                )
            elif choice:
                await self._play(P.INVALID_OPTION)
        await self._play(P.GOODBYE)

    async def _speak(self, app: AppInfo) -> str:
        """Say the status; returns a menu key pressed meanwhile (it cuts the rest short), or ''."""
        fmt = P.DATE_FORMAT.get(self.outcome.lang, P.DATE_FORMAT["en"])
        k = RESULT_KEYS
        if app.status == READY:
            parts: list[tuple[str, object]] = [("play", P.STATUS_READY)]
            office = office_number(app.pickup_office)
            if office is not None:
                parts += [("play", P.PICKUP_OFFICE), ("number", office)]
            if app.pickup_from is not None:
                parts += [("play", P.PICKUP_FROM), ("date", app.pickup_from)]
        elif app.status in (PROCESSING, SUBMITTED):
            parts = [("play", P.STATUS_PROCESSING if app.status == PROCESSING else P.STATUS_SUBMITTED)]
            if app.expected_date is not None:
                parts += [("play", P.EXPECTED_DATE), ("date", app.expected_date)]
        else:
            parts = [("play", P.STATUS_ISSUED if app.status == ISSUED else P.STATUS_REJECTED)]
        for kind, value in parts:
            if kind == "play":
                pressed = await self._play(str(value), k)
            elif kind == "number":
                assert isinstance(value, int)
                pressed = await self.port.say_number(value, k)
            else:
                assert isinstance(value, date)
                pressed = await self.port.say_date(value, fmt, k)
            if pressed:
                return pressed
        return ""

    # ---- results ---------------------------------------------------------------------------------------
    async def _set_result(self, number: str, status: str) -> None:
        self.outcome.app_number, self.outcome.app_status = number, status
        await self.port.set_variable("APP_NUMBER", number)
        await self.port.set_variable("APP_STATUS", status)

    async def _transfer(self, status: str, prompt: str) -> None:
        """Variables first: if the caller hangs up during the prompt, the dialplan still knows why."""
        self.outcome.app_status = status
        self.outcome.transfer = True
        await self.port.set_variable("APP_NUMBER", self.outcome.app_number)
        await self.port.set_variable("APP_STATUS", status)
        await self.port.set_variable("IVR_TRANSFER", "operator")
        await self._play(prompt)

    async def _record(self) -> None:
        o = self.outcome
        details = {
            "app_number": o.app_number,
            "app_status": o.app_status,
            "transfer": o.transfer,
            "hung_up": o.hung_up,
            "lang": o.lang,
            "lookups": o.lookups,
            "uniqueid": self.call.uniqueid,
            "mode": self.call.mode,
        }
        try:
            await within(self.directory.record_call(self.caller, details), self.cfg.lookup_deadline * 2)
        except LookupFailed as e:
            log.warning("IVR: call outcome not written to the audit log: %s", e)
        log.info(
            "IVR call from %s: application %s, status %s%s%s",
            mask_phone(self.caller),
            mask_number(o.app_number) or "-",
            o.app_status or "-",
            ", to operator" if o.transfer else "",
            ", caller hung up" if o.hung_up else "",
        )

    # ---- port helpers that keep a transcript -----------------------------------------------------------
    async def _play(self, prompt: str, escape: str = "") -> str:
        self.outcome.prompts.append(prompt)
        return await self.port.play(prompt, escape)

    async def _ask(self, prompt: str, max_digits: int) -> tuple[str, bool]:
        self.outcome.prompts.append(prompt)
        return await self.port.ask(prompt, self.cfg.input_timeout_ms, max_digits)
