"""The IVR's pickup booking menu through the flow's port (a scripted caller, FakePort) and an in-memory
ledger: the office and the first free slot are offered to a caller whose passport is ready; 1 books, 2
offers the next slot, 3 plays the directions, 0 goes to an operator; a caller with a booking hears it and
cancels (1) or moves (2) it; a slot taken meanwhile offers the next one; a slow ledger sends the caller
to an operator on time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialer.ivr import booking as B
from dialer.ivr import prompts as P
from dialer.ivr.booking import Place
from dialer.ivr.flow import CallFlow, CallInfo, IvrConfig, Outcome
from tests.unit.test_ivr_flow import CFG, FakeDirectory, FakePort

MSK = ZoneInfo("Europe/Moscow")
READY = "1234567890"  # ready, pickup from 2027-03-15 (tests/unit/test_ivr_flow.py)
SLOTS = [datetime(2027, 3, 15, 9, 0, tzinfo=MSK) + timedelta(minutes=30 * i) for i in range(4)]
STATUS = [P.STATUS_READY, P.PICKUP_OFFICE, ("number", 12), P.PICKUP_FROM, ("date", date(2027, 3, 15), "dB")]


@dataclass
class FakeLedger:
    """Office 7 with the slots SLOTS; ``full`` are taken by someone else between offer and booking."""

    booking: tuple[int, datetime] | None = None
    full: set[datetime] = field(default_factory=set)
    delay: float = 0.0
    booked: list[datetime] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    office_id: int | None = 7
    answered: int = 0

    async def place(self, number: str) -> Place | None:
        await asyncio.sleep(self.delay)
        self.answered += 1
        if self.office_id is None:
            return None
        if self.booking is None:
            return Place(self.office_id)
        return Place(self.office_id, self.booking[0], self.booking[1])

    async def next_free(self, number: str, office_id: int, after: datetime | None) -> datetime | None:
        return next((s for s in SLOTS if after is None or s > after), None)

    async def book(self, number: str, office_id: int, start: datetime) -> str:
        if start in self.full:
            return B.FULL
        self.booked.append(start)
        self.booking = (99, start)
        return B.OK

    async def cancel(self, number: str, booking_id: int) -> bool:
        self.cancelled.append(booking_id)
        self.booking = None
        return True


def said(at: datetime) -> list[Any]:
    spoken: list[Any] = [("date", at.date(), "dB"), B.AT, ("number", at.hour)]
    return spoken + ([("number", at.minute)] if at.minute else [])


async def call(port: FakePort, ledger: FakeLedger, cfg: IvrConfig = CFG) -> Outcome:
    return await CallFlow(port, FakeDirectory(), cfg, CallInfo("89161110000", "1.1", "test"), ledger).run()


OFFICE = [B.OFFICE_IS, B.office_sound(7, "name"), B.office_sound(7, "address")]


async def test_ready_caller_hears_office_and_first_slot_and_books_with_1() -> None:
    port = FakePort([READY, "1"])
    ledger = FakeLedger()
    o = await call(port, ledger)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        *STATUS,
        *OFFICE,
        B.FIRST_SLOT,
        *said(SLOTS[0]),
        B.SLOT_MENU,
        B.BOOKED,
        *said(SLOTS[0]),
        P.GOODBYE,
    ]
    assert ledger.booked == [SLOTS[0]]
    assert port.vars["APP_BOOKING"] == "booked" and not o.transfer


async def test_2_offers_the_next_slot_and_3_plays_the_directions() -> None:
    port = FakePort([READY, "2", "3", "1"])
    ledger = FakeLedger()
    await call(port, ledger)
    assert port.played()[len(STATUS) + 2 + len(OFFICE) :] == [
        B.FIRST_SLOT,
        *said(SLOTS[0]),
        B.SLOT_MENU,  # 2
        B.NEXT_SLOT,
        *said(SLOTS[1]),
        B.SLOT_MENU,  # 3
        B.office_sound(7, "directions"),
        B.NEXT_SLOT,
        *said(SLOTS[1]),
        B.SLOT_MENU,  # 1
        B.BOOKED,
        *said(SLOTS[1]),
        P.GOODBYE,
    ]
    assert ledger.booked == [SLOTS[1]]


async def test_a_key_during_the_slot_counts_and_0_goes_to_an_operator() -> None:
    port = FakePort([READY], keys={B.FIRST_SLOT: "0"})
    o = await call(port, FakeLedger())
    assert o.transfer and port.vars["IVR_TRANSFER"] == "operator" and port.vars["APP_STATUS"] == "ready"
    assert port.played()[-3:] == [*OFFICE[2:], B.FIRST_SLOT, P.CONNECTING]


async def test_a_slot_taken_meanwhile_offers_the_next() -> None:
    port = FakePort([READY, "1", "1"])
    ledger = FakeLedger(full={SLOTS[0]})
    await call(port, ledger)
    assert port.played()[len(STATUS) + 2 + len(OFFICE) :] == [
        B.FIRST_SLOT,
        *said(SLOTS[0]),
        B.SLOT_MENU,
        B.SLOT_TAKEN,
        B.NEXT_SLOT,
        *said(SLOTS[1]),
        B.SLOT_MENU,
        B.BOOKED,
        *said(SLOTS[1]),
        P.GOODBYE,
    ]
    assert ledger.booked == [SLOTS[1]] and port.vars["APP_BOOKING"] == "booked"


async def test_caller_with_a_booking_hears_it_and_cancels_with_1() -> None:
    port = FakePort([READY, "1"])
    ledger = FakeLedger(booking=(42, SLOTS[2]))
    await call(port, ledger)
    assert port.played() == [
        P.WELCOME,
        P.ENTER_NUMBER,
        *STATUS,
        B.YOUR_BOOKING,
        *said(SLOTS[2]),
        B.BOOKED_MENU,
        B.CANCELLED,
        P.GOODBYE,
    ]
    assert ledger.cancelled == [42] and port.vars["APP_BOOKING"] == "cancelled"


async def test_caller_with_a_booking_moves_it_with_2() -> None:
    port = FakePort([READY, "2", "2", "1"])
    ledger = FakeLedger(booking=(42, SLOTS[0]))
    await call(port, ledger)
    assert ledger.booked == [SLOTS[1]] and port.vars["APP_BOOKING"] == "moved"
    assert B.FIRST_SLOT in port.played() and B.OFFICE_IS not in port.played()


async def test_no_office_or_silence_falls_back_to_the_status_menu() -> None:
    port = FakePort([READY, ""])
    await call(port, FakeLedger(office_id=None))
    assert port.played() == [P.WELCOME, P.ENTER_NUMBER, *STATUS, P.MENU, P.GOODBYE]
    port = FakePort([READY, None, None, None])
    ledger = FakeLedger()
    await call(port, ledger)
    assert port.played().count(B.SLOT_MENU) == 3 and port.played()[-1] == P.GOODBYE and ledger.booked == []


async def test_a_slow_ledger_sends_the_caller_to_an_operator_without_waiting_for_it() -> None:
    port = FakePort([READY])
    ledger = FakeLedger(delay=30.0)
    o = await call(port, ledger, IvrConfig(lookup_deadline=0.2, confirm_min_digits=0))
    assert o.transfer and port.vars["APP_STATUS"] == "unavailable" and port.played()[-1] == P.UNAVAILABLE
    assert ledger.answered == 0  # the flow did not wait for the ledger's answer


async def test_processing_applications_get_no_booking_menu() -> None:
    port = FakePort(["2000000001", ""])
    ledger = FakeLedger()
    await call(port, ledger)
    assert B.OFFICE_IS not in port.played() and P.MENU in port.played()


def test_every_booking_prompt_is_shipped_in_both_languages() -> None:
    import re
    import wave
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    script = (repo / "scripts" / "make-sounds.sh").read_text()
    for name in B.PROMPTS:
        for lang in ("ru", "en"):
            assert re.search(rf"^say {lang} {re.escape(name)} ", script, re.M), (lang, name)
            with wave.open(str(repo / "asterisk_conf" / "sounds" / lang / f"{name}.wav")) as w:
                assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
