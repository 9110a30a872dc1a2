"""The 505 call flow over a scripted caller (FakePort) and an in-memory directory: every status, retries,
bad input, timeouts, hangups, the rate limit, and a database that is down or slow."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from dialer.applications.keys import search_key
from dialer.ivr import prompts as P
from dialer.ivr.flow import AppInfo, CallFlow, CallInfo, Hangup, IvrConfig, LookupResult, Outcome

READY_APP = AppInfo("1234567890", "ready", "Отделение №12, ул. Ленина 5", date(2027, 3, 15), None)
APPS = {
    a.number: a
    for a in (
        READY_APP,
        AppInfo("2000000001", "processing", None, None, date(2027, 4, 2)),
        AppInfo("2000000002", "submitted", None, None, None),
        AppInfo("2000000003", "issued"),
        AppInfo("2000000004", "rejected"),
        AppInfo("2000000005", "lost-in-the-mail"),
    )
}
HANGUP = object()


class FakePort:
    """A caller who answers each question from a script. ``keys`` maps a prompt to the key pressed
    while it plays (if it is an escape key); ``answers`` are returned by ask() in turn: (digits, timed_out)
    tuples, a string (digits ended by #), None (silence: timeout) or HANGUP."""

    def __init__(self, answers: list[Any], keys: Mapping[str, str] | None = None, **variables: str) -> None:
        self.answers = list(answers)
        self.keys = dict(keys or {})
        self.vars: dict[str, str] = {"CHANNEL(language)": "ru", **variables}
        self.log: list[tuple[Any, ...]] = []
        self.hangup_on: str | None = None

    def _check(self, what: str) -> None:
        if self.hangup_on == what:
            raise Hangup("caller hung up")

    async def get_variable(self, name: str) -> str | None:
        return self.vars.get(name)

    async def set_variable(self, name: str, value: str) -> None:
        self.log.append(("set", name, value))
        self.vars[name] = value

    async def play(self, prompt: str, escape: str = "") -> str:
        self.log.append(("play", prompt))
        self._check(prompt)
        key = self.keys.pop(prompt, "")
        return key if key and key in escape else ""

    async def ask(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        self.log.append(("ask", prompt))
        self._check(prompt)
        if not self.answers:
            raise AssertionError(f"the flow asked {prompt} but the caller has nothing more to say")
        a = self.answers.pop(0)
        if a is HANGUP:
            raise Hangup("caller hung up")
        if a is None:
            return "", True
        if isinstance(a, tuple):
            return a
        return str(a)[:max_digits], False

    async def say_digits(self, digits: str, escape: str = "") -> str:
        self.log.append(("digits", digits))
        return ""

    async def say_number(self, number: int, escape: str = "") -> str:
        self.log.append(("number", number))
        return ""

    async def say_date(self, day: date, fmt: str, escape: str = "") -> str:
        self.log.append(("date", day, fmt))
        return ""

    def played(self) -> list[Any]:
        return [e[1] if e[0] in ("play", "ask") else e for e in self.log if e[0] != "set"]


@dataclass
class FakeDirectory:
    apps: dict[str, AppInfo] = field(default_factory=lambda: dict(APPS))
    phones: dict[str, AppInfo] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)
    fail: bool = False
    delay: float = 0.0
    lookups: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def _trouble(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionRefusedError("database is down")

    async def lookup(
        self, number: str, caller: str, *, max_misses: int, window_s: float, details: Mapping[str, str]
    ) -> LookupResult:
        await self._trouble()
        if self.misses.get(caller, 0) >= max_misses:
            self.lookups.append((number, "limited", dict(details)))
            return LookupResult(None, limited=True)
        found = [a for a in self.apps.values() if search_key(a.number) == search_key(number)]
        if len(found) > 1:
            self.lookups.append((number, "ambiguous", dict(details)))
            return LookupResult(None, ambiguous=True)
        app = found[0] if found else None
        if app is None:
            self.misses[caller] = self.misses.get(caller, 0) + 1
        self.lookups.append((number, app.status if app else "not_found", dict(details)))
        return LookupResult(app)

    async def by_phone(self, phone: str) -> AppInfo | None:
        await self._trouble()
        return self.phones.get(phone)

    async def record_call(self, caller: str, details: Mapping[str, Any]) -> None:
        if self.fail:
            raise ConnectionRefusedError("database is down")
        self.calls.append((caller, dict(details)))


# numbers here are keyed once, without the read-back of long numbers (tests/unit/test_ivr_numbers.py has it)
CFG = IvrConfig(lookup_deadline=0.3, confirm_min_digits=0)


async def run(
    port: FakePort, directory: FakeDirectory | None = None, caller: str = "89161110000", cfg: IvrConfig = CFG
) -> tuple[Outcome, FakeDirectory]:
    d = directory or FakeDirectory()
    outcome = await CallFlow(port, d, cfg, CallInfo(caller, "1700000000.1", "test")).run()
    return outcome, d


def result_vars(port: FakePort) -> tuple[str | None, str | None, str | None]:
    return port.vars.get("APP_NUMBER"), port.vars.get("APP_STATUS"), port.vars.get("IVR_TRANSFER")


# ---- each status ----------------------------------------------------------------------------------------
async def test_ready_says_office_and_date_without_year_then_ends_on_hash() -> None:
    port = FakePort(["1234567890", ""])
    o, d = await run(port)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.STATUS_READY,
        P.PICKUP_OFFICE,
        ("number", 12),
        P.PICKUP_FROM,
        ("date", date(2027, 3, 15), "dB"),
        P.MENU,
        P.GOODBYE,
    ]
    assert result_vars(port) == ("1234567890", "ready", None)
    assert (o.app_status, o.transfer, o.hung_up) == ("ready", False, False)
    caller, details = d.calls[0]
    assert caller == "+79161110000"  # 8-prefixed Russian number keyed as E.164
    assert details["app_number"] == "1234567890" and details["app_status"] == "ready"


@pytest.mark.parametrize(
    ("number", "status", "expected"),
    [
        (
            "2000000001",
            "processing",
            [P.STATUS_PROCESSING, P.EXPECTED_DATE, ("date", date(2027, 4, 2), "dB")],
        ),
        ("2000000002", "submitted", [P.STATUS_SUBMITTED]),
        ("2000000003", "issued", [P.STATUS_ISSUED]),
        ("2000000004", "rejected", [P.STATUS_REJECTED]),
    ],
)
async def test_each_status_is_spoken(number: str, status: str, expected: list[Any]) -> None:
    port = FakePort([number, ""])
    await run(port)
    assert port.played() == [P.WELCOME, P.ENTER_NUMBER, *expected, P.MENU, P.GOODBYE]
    assert result_vars(port) == (number, status, None)


async def test_not_found_gets_one_more_try_then_the_operator_offer() -> None:
    port = FakePort(["9999999999", "8888888888", "0"])
    _, d = await run(port)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.NOT_FOUND,
        P.TRY_AGAIN,
        P.ENTER_NUMBER,
        P.NOT_FOUND,
        P.MENU,
        P.CONNECTING,
    ]
    assert result_vars(port) == ("8888888888", "not_found", "operator")
    assert [s for _, s, _ in d.lookups] == ["not_found", "not_found"]


async def test_not_found_then_found_on_the_second_try() -> None:
    port = FakePort(["9999999999", "2000000003", ""])
    await run(port)
    assert P.STATUS_ISSUED in port.played()
    assert result_vars(port) == ("2000000003", "issued", None)


async def test_unknown_status_in_the_database_sends_the_caller_to_an_operator() -> None:
    port = FakePort(["2000000005"])
    await run(port)
    assert port.played()[-1] == P.UNAVAILABLE
    assert result_vars(port) == ("2000000005", "unavailable", "operator")


# ---- the menu -------------------------------------------------------------------------------------------
async def test_menu_1_repeats_and_0_transfers_keeping_the_status() -> None:
    port = FakePort(["2000000003", "1", "0"])
    o, _ = await run(port)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.STATUS_ISSUED,
        P.MENU,
        P.STATUS_ISSUED,
        P.MENU,
        P.CONNECTING,
    ]
    assert result_vars(port) == ("2000000003", "issued", "operator")
    assert o.transfer


async def test_menu_timeouts_and_wrong_keys_end_with_goodbye() -> None:
    port = FakePort(["2000000003", None, "7", None])
    o, _ = await run(port)
    assert port.played()[-5:] == [P.MENU, P.MENU, P.INVALID_OPTION, P.MENU, P.GOODBYE]
    assert not o.transfer and o.app_status == "issued"


async def test_a_menu_key_cuts_the_result_short() -> None:
    port = FakePort(["1234567890"], keys={P.STATUS_READY: "0"})
    o, _ = await run(port)
    assert port.played() == [P.WELCOME, P.ENTER_NUMBER, P.STATUS_READY, P.CONNECTING]
    assert o.transfer and o.app_status == "ready"


# ---- input ----------------------------------------------------------------------------------------------
async def test_repeated_invalid_input_goes_to_an_operator() -> None:
    port = FakePort(["12", None, "12345678901234567", "never used"])
    _, d = await run(port)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.INVALID_NUMBER,
        P.ENTER_NUMBER,
        P.NO_INPUT,
        P.ENTER_NUMBER,
        P.INVALID_NUMBER,
        P.CONNECTING,
    ]
    assert result_vars(port)[1:] == ("invalid", "operator")
    assert d.lookups == []  # malformed numbers never reach the database


async def test_star_is_not_a_digit() -> None:
    port = FakePort(["12345*7890", "1234567890", ""])
    o, _ = await run(port)
    assert port.played()[2] == P.INVALID_NUMBER and o.app_status == "ready"


async def test_number_keyed_during_the_greeting_is_completed_and_looked_up() -> None:
    port = FakePort([("234567890", False), ""], keys={P.WELCOME: "1"})
    o, _ = await run(port)
    assert port.played()[:3] == [P.WELCOME, P.SILENCE, P.STATUS_READY]
    assert o.app_number == "1234567890"


async def test_number_ended_by_timeout_counts_like_hash() -> None:
    port = FakePort([("2000000004", True), ""])
    o, _ = await run(port)
    assert o.app_status == "rejected"


# ---- the caller's own application -----------------------------------------------------------------------
async def test_caller_with_an_application_is_offered_it_by_its_last_digits() -> None:
    d = FakeDirectory(phones={"+79161110000": READY_APP})
    port = FakePort(["1", ""])
    o, d = await run(port, d, caller="+79161110000")
    assert port.played()[:4] == [P.WELCOME, P.OFFER_OWN, ("digits", "7890"), P.OFFER_OWN_PRESS]
    assert o.app_status == "ready" and o.app_number == "1234567890"
    assert d.lookups[0][0] == "1234567890"  # accepting the offer is an audited look-up like any other


async def test_caller_may_key_another_number_instead_of_the_offer() -> None:
    d = FakeDirectory(phones={"+79161110000": READY_APP})
    port = FakePort(["2", ("000000003", False), ""])
    o, _ = await run(port, d, caller="79161110000")
    assert P.SILENCE in port.played()
    assert o.app_number == "2000000003" and o.app_status == "issued"


async def test_caller_who_declines_the_offer_with_hash_is_asked_for_a_number() -> None:
    d = FakeDirectory(phones={"+79161110000": READY_APP})
    port = FakePort(["", "2000000003", ""])
    o, _ = await run(port, d, caller="+79161110000")
    assert port.played()[4] == P.ENTER_NUMBER and o.app_status == "issued"


async def test_anonymous_callers_are_not_offered_anything() -> None:
    d = FakeDirectory(phones={"anonymous": READY_APP})
    port = FakePort(["2000000003", ""])
    await run(port, d, caller="anonymous")
    assert P.OFFER_OWN not in port.played()


# ---- language -------------------------------------------------------------------------------------------
async def test_ivr_lang_selects_english_and_the_english_date_order() -> None:
    port = FakePort(["1234567890", ""], IVR_LANG="en")
    o, _ = await run(port)
    assert ("set", "CHANNEL(language)", "en") in port.log
    assert ("date", date(2027, 3, 15), "Bd") in port.log
    assert o.lang == "en"


async def test_default_language_comes_from_the_config_and_unknown_ivr_lang_is_ignored() -> None:
    port = FakePort(["2000000003", ""], IVR_LANG="fr", **{"CHANNEL(language)": "en"})
    o, _ = await run(port)
    assert ("set", "CHANNEL(language)", "ru") in port.log and o.lang == "ru"
    port = FakePort(["2000000003", ""])
    o, _ = await run(port, cfg=IvrConfig(default_lang="en"))
    assert o.lang == "en" and port.vars["CHANNEL(language)"] == "en"


# ---- hangups --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", [P.WELCOME, P.ENTER_NUMBER, P.STATUS_READY, P.MENU, P.GOODBYE])
async def test_hangup_at_any_point_ends_cleanly_and_is_audited(where: str) -> None:
    port = FakePort(["1234567890", ""])
    port.hangup_on = where
    o, d = await run(port)
    assert o.hung_up
    assert d.calls and d.calls[0][1]["hung_up"] is True
    assert port.played()[-1] == where


async def test_hangup_while_keying_in() -> None:
    port = FakePort(["123", HANGUP])
    o, d = await run(port)
    assert o.hung_up and o.app_status == "" and d.calls[0][1]["app_number"] == "123"


# ---- the database ---------------------------------------------------------------------------------------
async def test_database_down_means_unavailable_and_operator_never_silence() -> None:
    port = FakePort(["1234567890"])
    o, _ = await run(port, FakeDirectory(fail=True), caller="anonymous")
    assert port.played()[-1] == P.UNAVAILABLE
    assert result_vars(port) == ("1234567890", "unavailable", "operator")  # the operator gets the number
    assert not o.hung_up


async def test_database_down_during_the_caller_id_offer() -> None:
    port = FakePort([])
    await run(port, FakeDirectory(fail=True), caller="+79161110000")
    assert port.played() == [P.WELCOME, P.UNAVAILABLE]
    assert result_vars(port)[1:] == ("unavailable", "operator")


async def test_slow_database_hits_the_deadline() -> None:
    port = FakePort(["1234567890"])
    t0 = time.monotonic()
    o, _ = await run(port, FakeDirectory(delay=5.0), caller="anonymous")
    took = time.monotonic() - t0
    assert o.app_status == "unavailable" and o.transfer
    assert took < 1.5  # deadline 0.3 s for the look-up and 0.6 s for the audit row, not 5 s


async def test_rate_limit_after_five_unknown_numbers() -> None:
    d = FakeDirectory()
    for i in range(2):  # 2 calls x 2 unknown numbers
        port = FakePort([f"900000000{i}", f"910000000{i}", "#"])
        o, d = await run(port, d)
        assert o.app_status == "not_found"
    port = FakePort(["9200000000", "1234567890"])  # the 5th unknown number, then even a good one is refused
    o, d = await run(port, d)
    assert result_vars(port) == ("1234567890", "limited", "operator")
    assert port.played()[-1] == P.LIMITED
    assert [s for _, s, _ in d.lookups] == ["not_found"] * 5 + ["limited"]
    port = FakePort(["1234567890"])  # the next call too
    o, d = await run(port, d)
    assert o.app_status == "limited"
    # other callers are not affected
    port = FakePort(["1234567890", ""])
    o, _ = await run(port, d, caller="+79990000000")
    assert o.app_status == "ready"


async def test_a_bug_in_a_port_still_ends_with_an_operator_and_an_audit_row() -> None:
    class Broken(FakePort):
        async def say_number(self, number: int, escape: str = "") -> str:
            raise KeyError("boom")

    port = Broken(["1234567890"])
    o, d = await run(port)
    assert o.transfer and o.app_status == "unavailable" and d.calls


# ---- privacy --------------------------------------------------------------------------------------------
async def test_plain_logs_never_show_the_full_number_or_phone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = FakePort(["9999999999", "1234567890", ""])
    await run(port, caller="+79161234567")
    text = caplog.text
    assert "1234567890" not in text and "9999999999" not in text and "+79161234567" not in text
    assert "7890" in text  # the last digits are there, enough to find the audit row


def test_app_info_carries_no_name() -> None:
    assert "name" not in " ".join(AppInfo.__dataclass_fields__)
