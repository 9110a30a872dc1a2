"""Pickup booking by phone on the real Asterisk 22, through both doors (FastAGI route in this process, the
classic script inside the chroot), on SQLite and PostgreSQL: a simulated caller keys the digits. One caller
whose passport is ready hears the office and the first free slot, asks for the next one (2) and books it
(1); another, already booked, hears the booking and cancels it (1). The database shows both at once."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialer.config import Settings
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Application, Appointment
from dialer.fastagi.server import AgiSession, FastAgiServer
from dialer.ivr import booking as B
from dialer.ivr import prompts as P
from dialer.ivr.fastagi import make_route
from dialer.ivr.flow import IvrConfig
from dialer.ivr.lookup import AsyncDirectory
from dialer.ivr.pickup import async_bookings
from dialer.offices import services
from dialer.offices.schemas import OfficeIn
from dialer.sandbox import Sandbox
from dialer.sandbox.asterisk import inside
from tests.integration.test_ivr_sandbox_support import Call, Pbx505, log_tail, path_in_chroot

pytestmark = pytest.mark.asterisk

DEFAULT_AGI = "agi://127.0.0.1:4573"
MSK = ZoneInfo("Europe/Moscow")
_run = itertools.count(1)


class Door:
    """The FastAGI ``ivr`` route with pickup booking, over the current test's database."""

    def __init__(self) -> None:
        self.sessions: Any = None
        self.server = FastAgiServer("127.0.0.1", 0, max_sessions=20, idle_timeout=30)
        self.server.add_route("ivr", self._ivr)
        self.server.add_route("inbound", self._inbound)

    async def _ivr(self, session: AgiSession) -> None:
        directory = AsyncDirectory(self.sessions)
        try:
            await make_route(directory, IvrConfig(), async_bookings(self.sessions))(session)
        finally:
            await (
                directory.close()
            )  # its audit rows written, its writer stopped (not left to outlive the test)

    async def _inbound(self, session: AgiSession) -> None:
        return None


@pytest.fixture(scope="module")
async def pbx(sandbox: Sandbox, base_settings: Settings) -> AsyncIterator[tuple[Pbx505, Door]]:
    door = Door()
    await door.server.start()
    async with Pbx505(sandbox, base_settings) as p:
        await p.set_global("DIALER_AGI", f"agi://127.0.0.1:{door.server.port}")
        try:
            yield p, door
        finally:
            await p.set_global("DIALER_AGI", DEFAULT_AGI)
            await p.set_global("IVR_MODE", "fastagi")
            await door.server.stop(grace=1)


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MSK)


def office_recordings(sandbox: Sandbox, office_id: int) -> None:
    """Stand-ins for ``dialer office voice`` (espeak-ng is not needed for the test): existing prompts."""
    ru = inside(sandbox.root, path_in_chroot(sandbox, "/usr/share/asterisk/sounds/ru"))
    src = ru / "ivr" / "status-ready.wav"
    folder = ru / "offices"
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("name", "address", "directions"):
        shutil.copy2(src, folder / f"{office_id}-{part}.wav")


async def books_the_second_slot(p: Pbx505, caller: str, number: str) -> Call:
    c = await p.call(caller)
    await p.wait_prompt(c, P.WELCOME)
    await p.press(c, number + "#")
    await p.wait_prompt(c, P.CONFIRM_NUMBER)
    await p.press(c, "1")
    await p.wait_prompt(c, B.SLOT_MENU)
    await p.press(c, "2")
    await p.wait_prompt(c, B.SLOT_MENU, nth=2)
    await p.press(c, "1")
    return await p.finished(c)


async def cancels_the_booking(p: Pbx505, caller: str, number: str) -> Call:
    c = await p.call(caller)
    await p.wait_prompt(c, P.WELCOME)
    await p.press(c, number + "#")
    await p.wait_prompt(c, P.CONFIRM_NUMBER)
    await p.press(c, "1")
    await p.wait_prompt(c, B.BOOKED_MENU)
    await p.press(c, "1")
    return await p.finished(c)


@pytest.mark.parametrize("mode", ["fastagi", "agi"])
async def test_a_caller_books_by_phone_and_another_cancels(
    mode: str, pbx: tuple[Pbx505, Door], sandbox: Sandbox, db_url: str
) -> None:
    p, door = pbx
    run = next(_run)
    who = [f"+7916{run:03d}8{i:03d}" for i in range(2)]
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        spec = OfficeIn(
            name="МФЦ Тверской",
            address="ул. Тверская, 8",
            directions="Метро Охотный ряд",
            timezone="Europe/Moscow",
            hours={d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            slot_minutes=30,
            capacity=1,
            holidays=[datetime.now(UTC).astimezone(MSK).date()],
        )
        office = await services.create_office(sessions, spec, actor="test")
        office_recordings(sandbox, office.id)
        async with sessions() as s:
            for n in ("5050001001", "5050001002"):
                s.add(Application(number=n, applicant_name="Петров", status="ready", office_id=office.id))
            await s.commit()
        day = datetime.now(UTC).astimezone(MSK).date() + timedelta(days=1)
        booked = await services.book(sessions, "5050001002", office.id, at(day, 12, 0), actor="test")
        door.sessions = sessions
        if mode == "agi":
            await asyncio.to_thread(sandbox.configure_ivr, db_url)
        await p.set_global("IVR_MODE", mode)

        first, second = await asyncio.gather(
            books_the_second_slot(p, who[0], "5050001001"), cancels_the_booking(p, who[1], "5050001002")
        )

        played = first.files()
        it = iter(played)
        order = [P.STATUS_READY, B.OFFICE_IS, B.office_sound(office.id, "name"), B.FIRST_SLOT, B.SLOT_MENU]
        order += [B.NEXT_SLOT, B.SLOT_MENU, B.BOOKED, P.GOODBYE]
        assert all(f in it for f in order), f"{played}\n{log_tail(p, 40)}"
        assert first.result is not None and first.result["APP_STATUS"] == "ready"
        assert first.result["IVR_MODE"] == mode and first.result["IVR_TRANSFER"] == ""
        it = iter(second.files())
        assert all(f in it for f in (B.YOUR_BOOKING, B.BOOKED_MENU, B.CANCELLED, P.GOODBYE)), second.files()
        async with sessions() as s:
            rows = (await s.execute(select(Appointment).order_by(Appointment.id))).scalars().all()
        assert len(rows) == 2
        cancelled = next(r for r in rows if r.id == booked.appointment.id)
        assert cancelled.state == "cancelled"
        mine = next(r for r in rows if r.id != booked.appointment.id)
        # today is a holiday: the first free slot is tomorrow 09:00, the second (2, then 1) 09:30
        assert (mine.state, mine.source, mine.start) == ("active", "ivr", at(day, 9, 30))
        noon = await services.day_slots(sessions, office.id, day)
        assert [s.free for s in noon.slots if s.start.hour == 12 and s.start.minute == 0] == [1]
    finally:
        await engine.dispose()
