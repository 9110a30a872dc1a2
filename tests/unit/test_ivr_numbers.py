"""Application numbers as offices write them, keyed by a caller as digits, through the flow's port: every
format is found, a long number is read back before the look-up (1 confirms, 2 re-enters), digits shared by
two applications go to an operator, and the search key itself (digits only, warnings for the importer)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dialer.applications.keys import phone_problem, search_key
from dialer.ivr import prompts as P
from dialer.ivr.flow import AppInfo, CallFlow, CallInfo, IvrConfig, Outcome
from tests.unit.test_ivr_flow import FakeDirectory, FakePort

STORED = [
    AppInfo("2027-00010", "ready", "Отделение №7", date(2027, 3, 15)),  # the demo's format
    AppInfo("2027 55 555", "processing", None, None, date(2027, 4, 2)),
    AppInfo("77/2027/000123", "submitted"),
    AppInfo("МС-2027-00777", "issued"),
    AppInfo("AB.123456", "rejected"),
    AppInfo("1234567890", "ready"),
    AppInfo("3000-111111", "ready"),  # these two differ only in punctuation
    AppInfo("300-0111111", "rejected"),
]
CFG = IvrConfig(lookup_deadline=0.3)  # the defaults otherwise: numbers of 8 digits or more are read back


def directory() -> FakeDirectory:
    return FakeDirectory(apps={a.number: a for a in STORED})


async def call(
    answers: list[Any], port: FakePort | None = None, **kw: Any
) -> tuple[Outcome, FakePort, FakeDirectory]:
    port = port or FakePort(answers)
    d = directory()
    o = await CallFlow(port, d, kw.get("cfg", CFG), CallInfo("+79161110000", "1.1", "test")).run()
    return o, port, d


@pytest.mark.parametrize(
    ("stored", "keyed", "status", "said"),
    [
        ("2027-00010", "202700010", "ready", P.STATUS_READY),
        ("2027 55 555", "202755555", "processing", P.STATUS_PROCESSING),
        ("77/2027/000123", "772027000123", "submitted", P.STATUS_SUBMITTED),
        ("МС-2027-00777", "202700777", "issued", P.STATUS_ISSUED),
        ("1234567890", "1234567890", "ready", P.STATUS_READY),
    ],
    ids=["dashes", "spaces", "slashes", "letter prefix", "digits only"],
)
async def test_each_format_is_found_by_its_digits_after_the_read_back(
    stored: str, keyed: str, status: str, said: str
) -> None:
    o, port, d = await call([keyed, "1", ""])
    assert port.played()[:5] == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.YOU_ENTERED,
        ("digits", keyed),
        P.CONFIRM_NUMBER,
    ]
    assert said in port.played()
    # the dialplan and the operator's screen pop get the number as stored
    assert (port.vars["APP_NUMBER"], port.vars["APP_STATUS"]) == (stored, status)
    assert (o.app_number, o.app_status, o.transfer) == (stored, status, False)
    assert [n for n, _, _ in d.lookups] == [keyed]


async def test_a_short_number_is_looked_up_without_a_read_back() -> None:
    o, port, _ = await call(["123456", ""])  # AB.123456: 6 digits
    assert P.YOU_ENTERED not in port.played() and P.CONFIRM_NUMBER not in port.played()
    assert (o.app_number, o.app_status) == ("AB.123456", "rejected")


async def test_two_re_enters_the_number_and_the_corrected_one_is_found() -> None:
    o, port, d = await call(["202700011", "2", "202700010", "1", ""])
    assert port.played()[:9] == [
        P.WELCOME,
        P.ENTER_NUMBER,
        P.YOU_ENTERED,
        ("digits", "202700011"),
        P.CONFIRM_NUMBER,
        P.ENTER_NUMBER,
        P.YOU_ENTERED,
        ("digits", "202700010"),
        P.CONFIRM_NUMBER,
    ]
    assert [n for n, _, _ in d.lookups] == ["202700010"]  # the mistyped number was never looked up
    assert o.app_status == "ready"


async def test_a_key_during_the_read_back_answers_it() -> None:
    port = FakePort(["202700010", ""], keys={P.YOU_ENTERED: "1"})
    o, port, _ = await call([], port)
    assert ("digits", "202700010") not in port.played() and P.CONFIRM_NUMBER not in port.played()
    assert o.app_status == "ready"


async def test_other_keys_and_silence_at_the_read_back() -> None:
    # a wrong key is said to be wrong and the read-back repeats; no answer to it either: "key it again"
    o, port, d = await call(["202700010", "5", None, "202700010", "1", ""])
    played = port.played()
    assert played.count(P.CONFIRM_NUMBER) == 3 and played.count(P.INVALID_OPTION) == 1
    assert played.count(P.ENTER_NUMBER) == 2
    assert o.app_status == "ready" and len(d.lookups) == 1


async def test_re_entering_again_and_again_ends_with_an_operator() -> None:
    o, port, d = await call(["202700010", "2", "202700010", "2", "202700010", "2"])
    assert (o.app_status, o.transfer) == ("invalid", True)
    assert port.vars["IVR_TRANSFER"] == "operator" and d.lookups == []


async def test_digits_shared_by_two_applications_go_to_an_operator_without_any_status() -> None:
    o, port, _ = await call(["3000111111", "1"])
    assert (o.app_status, o.transfer) == ("ambiguous", True)
    assert (port.vars["APP_NUMBER"], port.vars["APP_STATUS"], port.vars["IVR_TRANSFER"]) == (
        "3000111111",
        "ambiguous",
        "operator",
    )
    assert port.played()[-1] == P.AMBIGUOUS
    assert not {P.STATUS_READY, P.STATUS_REJECTED, P.MENU} & set(port.played())


async def test_letters_can_not_be_keyed_so_star_is_refused() -> None:
    _, port, d = await call(["*202700010", "202700010", "1", ""])
    assert port.played()[2] == P.INVALID_NUMBER and len(d.lookups) == 1


async def test_the_own_application_offer_says_the_last_digits_not_punctuation() -> None:
    d = directory()
    d.phones["+79161110000"] = STORED[0]  # 2027-00010
    port = FakePort(["1", ""])
    o = await CallFlow(port, d, CFG, CallInfo("+79161110000", "1.1", "test")).run()
    assert port.played()[:3] == [P.WELCOME, P.OFFER_OWN, ("digits", "0010")]
    assert P.YOU_ENTERED not in port.played()  # the caller chose it; nothing was keyed to read back
    assert (o.app_number, o.app_status) == ("2027-00010", "ready")


# ---- the key itself ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "key"),
    [
        ("2027-00010", "202700010"),
        ("2027 00010", "202700010"),
        ("2027/00010", "202700010"),
        ("МС-2027-00010", "202700010"),
        ("ab2027x00010", "202700010"),
        ("２０２７－０００１０", "202700010"),  # full-width digits from a spreadsheet
        ("٢٠٢٧٠٠٠١٠", "202700010"),  # Arabic-Indic digits
        ("АБВ-ГД", ""),
        ("", ""),
    ],
)
def test_search_key_is_the_digits(number: str, key: str) -> None:
    assert search_key(number) == key


def test_numbers_a_caller_can_not_key_are_explained() -> None:
    assert phone_problem("2027-00010") is None
    assert phone_problem("АБВ-ГД") == "application 'АБВ-ГД' has no digits: callers can not find it by phone"
    problem = phone_problem("A-12")
    assert problem is not None and "has 2 digits" in problem and "6 to 16" in problem
    assert phone_problem("1" * 17) is not None
