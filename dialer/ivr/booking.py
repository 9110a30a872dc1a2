"""The pickup booking menu of the 505 IVR (issue 14), run by the call flow after it has said "your passport
is ready". Written over the flow's ports like the rest of the IVR, so FastAGI and the classic AGI script
both run it: the caller's side through ``flow.Port``, the data through ``Bookings`` (the booking ledger,
dialer.offices.ledger, over the service's sessions or the PBX's sync engine: dialer.ivr.pickup).

- no booking yet: the office (its name and address, spoken from the office's own recordings made by
  ``dialer office voice``) and the first free slot from the day the passport is ready; 1 books it, 2 offers
  the next one, 3 plays the directions, 0 goes to an operator;
- a booking already: its date and time; 1 cancels it (its place is free at once), 2 moves it (the free
  slots are offered as above; the old place is given back in the same transaction as the new one is
  taken), 3 plays the directions, 0 goes to an operator.

Sets ``APP_BOOKING`` (``booked``, ``moved``, ``cancelled``, ``full``) for the dialplan and reports.
Stdlib only (it is part of the classic script's bundle).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from dialer.ivr import prompts as P
from dialer.ivr.flow import AppInfo, CallFlow, within

T = TypeVar("T")

# prompts (asterisk_conf/sounds/<lang>/ivr/booking-*.wav, made by scripts/make-sounds.sh)
OFFICE_IS = "ivr/booking-office"  # "you can collect it at" + office name + address recordings
FIRST_SLOT = "ivr/booking-first-slot"  # "the first free time is" + date + time
NEXT_SLOT = "ivr/booking-next-slot"  # "the next free time is" + date + time
AT = "ivr/booking-at"  # "at" (before the hour)
SLOT_MENU = "ivr/booking-slot-menu"  # 1 book, 2 next, 3 directions, 0 operator
BOOKED = "ivr/booking-booked"  # "you are booked for" + date + time
SLOT_TAKEN = "ivr/booking-slot-taken"  # "that time has just been taken"
NO_SLOTS = "ivr/booking-no-slots"  # "no free time in the coming days"
YOUR_BOOKING = "ivr/booking-yours"  # "you are booked for" + date + time
BOOKED_MENU = "ivr/booking-booked-menu"  # 1 cancel, 2 move, 3 directions, 0 operator
CANCELLED = "ivr/booking-cancelled"  # "your booking is cancelled"
NO_DIRECTIONS = "ivr/booking-no-directions"  # played when an office has no recording of its directions
PROMPTS = (
    OFFICE_IS,
    FIRST_SLOT,
    NEXT_SLOT,
    AT,
    SLOT_MENU,
    BOOKED,
    SLOT_TAKEN,
    NO_SLOTS,
    YOUR_BOOKING,
    BOOKED_MENU,
    CANCELLED,
    NO_DIRECTIONS,
)

# Bookings.book answers
OK, FULL, REFUSED = "booked", "full", "refused"
# what the menu leaves the flow to do
DONE, OPERATOR, MENU = "done", "operator", "menu"
KEYS = "1230"


def office_sound(office_id: int, part: str) -> str:
    """An office's own recording (part: name, address, directions), made by ``dialer office voice``."""
    return f"offices/{office_id}-{part}"


@dataclass(frozen=True)
class Place:
    """Where the application's passport is collected, and its active booking if it has one."""

    office_id: int
    booking_id: int | None = None
    booked_at: datetime | None = None  # aware, in the office's time zone
    has_directions: bool = True


class Bookings(Protocol):
    """The ledger as the IVR needs it. Implementations may be slow or fail; the menu bounds them in time."""

    async def place(self, number: str) -> Place | None:
        """None when the application has no office to book at."""
        ...

    async def next_free(self, number: str, office_id: int, after: datetime | None) -> datetime | None:
        """The first slot with a free place after ``after`` (from the day the passport is ready)."""
        ...

    async def book(self, number: str, office_id: int, start: datetime) -> str:
        """OK, FULL (taken meanwhile) or REFUSED (not bookable any more); moves an existing booking."""
        ...

    async def cancel(self, number: str, booking_id: int) -> bool: ...


class BookingMenu:
    def __init__(self, flow: CallFlow, bookings: Bookings) -> None:
        self.flow = flow
        self.bookings = bookings

    async def _data(self, aw: Awaitable[T]) -> T:
        """A data call within the flow's deadline (a slow or failed database: the flow's operator path)."""
        return await within(aw, self.flow.cfg.lookup_deadline)

    async def run(self, app: AppInfo) -> str:
        """DONE (said goodbye-worthy things), OPERATOR (the flow transfers) or MENU (the flow's own menu)."""
        place = await self._data(self.bookings.place(app.number))
        if place is None:
            return MENU
        if place.booking_id is not None and place.booked_at is not None:
            return await self._booked(app, place)
        pressed = await self.flow._play(OFFICE_IS, "0")
        for part in ("name", "address"):
            if not pressed:
                pressed = await self.flow._play(office_sound(place.office_id, part), "0")
        if pressed == "0":
            return OPERATOR
        return await self._offer(app, place)

    async def _booked(self, app: AppInfo, place: Place) -> str:
        assert place.booked_at is not None and place.booking_id is not None
        for _ in range(self.flow.cfg.menu_rounds):
            pressed = await self._say_time(YOUR_BOOKING, place.booked_at)
            if not pressed:
                pressed, _timed_out = await self.flow._ask(BOOKED_MENU, 1)
            if pressed == "0":
                return OPERATOR
            if pressed == "1":
                done = await self._data(self.bookings.cancel(app.number, place.booking_id))
                if done:
                    await self.flow.port.set_variable("APP_BOOKING", "cancelled")
                    await self.flow._play(CANCELLED)
                    return DONE
                return MENU
            if pressed == "2":
                return await self._offer(app, place, moving=True)
            if pressed == "3":
                await self._directions(place)
            elif pressed == "#":
                return DONE
        return DONE

    async def _offer(self, app: AppInfo, place: Place, moving: bool = False) -> str:
        prompt = FIRST_SLOT
        rounds = 0
        slot = await self._data(self.bookings.next_free(app.number, place.office_id, None))
        while rounds < self.flow.cfg.menu_rounds:
            if slot is None:
                await self.flow._play(NO_SLOTS)
                return MENU
            choice = await self._say_time(prompt, slot)
            if not choice:
                choice, _timed_out = await self.flow._ask(SLOT_MENU, 1)
            if choice == "0":
                return OPERATOR
            if choice == "1":
                res = await self._data(self.bookings.book(app.number, place.office_id, slot))
                if res == OK:
                    await self.flow.port.set_variable("APP_BOOKING", "moved" if moving else "booked")
                    await self._say_time(BOOKED, slot, escape="")
                    return DONE
                await self.flow.port.set_variable("APP_BOOKING", "full")
                await self.flow._play(SLOT_TAKEN)
                slot = await self._data(self.bookings.next_free(app.number, place.office_id, slot))
                prompt = NEXT_SLOT
                continue
            if choice == "2":
                prompt = NEXT_SLOT
                slot = await self._data(self.bookings.next_free(app.number, place.office_id, slot))
                continue
            if choice == "3":
                await self._directions(place)
                continue
            if choice == "#":
                return DONE
            rounds += 1  # silence or a key with no meaning here
        return DONE

    async def _directions(self, place: Place) -> None:
        if place.has_directions:
            await self.flow._play(office_sound(place.office_id, "directions"))
        else:
            await self.flow._play(NO_DIRECTIONS)

    async def _say_time(self, prompt: str, at: datetime, escape: str = KEYS) -> str:
        """prompt + the day + "at" + the hour (and minutes); returns a key pressed meanwhile, or ''."""
        fmt = P.DATE_FORMAT.get(self.flow.outcome.lang, P.DATE_FORMAT["en"])
        pressed = await self.flow._play(prompt, escape)
        if not pressed:
            pressed = await self.flow.port.say_date(at.date(), fmt, escape)
        if not pressed:
            pressed = await self.flow._play(AT, escape)
        if not pressed:
            pressed = await self.flow.port.say_number(at.hour, escape)
        if not pressed and at.minute:
            pressed = await self.flow.port.say_number(at.minute, escape)
        return pressed


class LazyBookings:
    """Bookings built on first use in a worker thread (the classic script: importing the ledger imports
    SQLAlchemy's ORM, which the caller must not wait for before the greeting)."""

    def __init__(self, build: Callable[[], Bookings]) -> None:
        self._build = build
        self._impl: Bookings | None = None

    async def _get(self) -> Bookings:
        if self._impl is None:
            from dialer.ivr.aiothread import in_thread

            self._impl = await in_thread(self._build)
        return self._impl

    async def place(self, number: str) -> Place | None:
        return await (await self._get()).place(number)

    async def next_free(self, number: str, office_id: int, after: datetime | None) -> datetime | None:
        return await (await self._get()).next_free(number, office_id, after)

    async def book(self, number: str, office_id: int, start: datetime) -> str:
        return await (await self._get()).book(number, office_id, start)

    async def cancel(self, number: str, booking_id: int) -> bool:
        return await (await self._get()).cancel(number, booking_id)
