"""The IVR's look-ups on SQLite and PostgreSQL: found by the digits of the number however it is written,
ambiguous digits, the caller's own application, the in-memory limit (exact under concurrency, seeded from
the audit log after a restart, forgetting old misses), audit rows written behind the call and flushed on
close, the classic script's directory, and migration 0005 filling the key of existing rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.db.models import Application, AuditLog
from dialer.ivr import prompts as P
from dialer.ivr.flow import AppInfo, CallFlow, CallInfo, IvrConfig
from dialer.ivr.limits import MissLimiter
from dialer.ivr.lookup import LOOKUP, AsyncDirectory, SyncDirectory, make_sync_engine
from tests.unit.test_ivr_flow import FakePort

Sessions = async_sessionmaker[AsyncSession]

# one application per way offices write numbers; the caller keys the digits
FORMATS = {
    "dashes": ("2027-00010", "202700010"),
    "spaces": ("2027 55 555", "202755555"),
    "slashes": ("77/2027/000123", "772027000123"),
    "letter prefix": ("МС-2027-00777", "202700777"),
    "latin prefix and dot": ("AB.123456", "123456"),
    "digits only": ("1234567890", "1234567890"),
    "full-width digits": ("２０２８－００００１", "202800001"),
}


async def seed(sessions: Sessions) -> None:
    async with sessions() as s:
        s.add_all(
            [
                Application(
                    number="1234567890",
                    applicant_name="Иванов Иван Иванович",
                    phone="+79161112233",
                    status="ready",
                    pickup_office="Отделение №3",
                    pickup_from=date(2027, 3, 15),
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                ),
                Application(
                    number="1234567891",
                    applicant_name="Иванов Иван Иванович",
                    phone="+79161112233",
                    status="processing",
                    expected_date=date(2027, 5, 1),
                    created_at=datetime(2026, 2, 1, tzinfo=UTC),
                ),
            ]
        )
        for name, (number, _) in FORMATS.items():
            if number != "1234567890":
                s.add(Application(number=number, applicant_name=name, status="submitted"))
        # two numbers that differ only in punctuation: a caller's digits can not tell them apart
        s.add(Application(number="3000-111111", applicant_name="Первый", status="ready"))
        s.add(Application(number="300-0111111", applicant_name="Второй", status="rejected"))
        await s.commit()


DETAILS = {"app_number": "", "uniqueid": "1.1", "mode": "test"}


async def audit_rows(sessions: Sessions) -> list[AuditLog]:
    async with sessions() as s:
        return list((await s.execute(select(AuditLog).order_by(AuditLog.id))).scalars())


async def test_found_by_its_digits_however_the_number_is_written(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    for name, (number, keyed) in FORMATS.items():
        res = await d.lookup(keyed, "+79990000001", max_misses=99, window_s=600, details=DETAILS)
        assert res.app is not None and res.app.number == number, name
        assert not res.ambiguous
    both = await d.lookup("3000111111", "+79990000001", max_misses=99, window_s=600, details=DETAILS)
    assert both.ambiguous and both.app is None  # neither status is given out
    # the stored number itself (the caller's own application) finds it too
    own = await d.lookup("2027-00010", "+79990000001", max_misses=99, window_s=600, details=DETAILS)
    assert own.app is not None and own.app.number == "2027-00010"
    await d.close()


async def test_audit_rows_are_written_behind_the_call_and_on_close(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions, flush_interval=3600)  # only close() writes
    before = datetime.now(UTC)
    res = await d.lookup("1234567890", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    assert res.app == AppInfo("1234567890", "ready", "Отделение №3", date(2027, 3, 15), None)
    assert (
        await d.lookup("0000000000", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    ).app is None
    assert (
        await d.lookup("3000111111", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
    ).ambiguous
    await d.record_call("+79990000001", {"app_status": "ready", "hung_up": False})
    assert await audit_rows(db_sessions) == []  # the look-ups did not wait for a write
    own = await d.by_phone("+79161112233")
    assert own is not None and own.number == "1234567891"  # the newest application
    assert await d.by_phone("+70000000000") is None
    await d.close()  # a clean stop writes everything queued
    rows = await audit_rows(db_sessions)
    assert [(r.actor, r.action, r.target, r.details.get("status")) for r in rows] == [
        ("ivr", "ivr.lookup", "+79990000001", "ready"),
        ("ivr", "ivr.lookup", "+79990000001", "not_found"),
        ("ivr", "ivr.lookup", "+79990000001", "ambiguous"),
        ("ivr", "ivr.call", "+79990000001", None),
    ]
    assert all(r.at.tzinfo is not None and r.at >= before - timedelta(seconds=1) for r in rows)
    # a row that arrives after the stop (a call still ending) is written at once
    await d.record_call("+79990000009", {"late": True})
    await d.close()
    assert (await audit_rows(db_sessions))[-1].target == "+79990000009"


async def test_rows_wait_while_the_database_refuses_them_and_are_written_later(db_sessions: Any) -> None:
    d = AsyncDirectory(db_sessions, flush_interval=0.05)
    real = d._write
    refused: list[int] = []

    async def refuse(rows: list[dict[str, Any]]) -> None:
        refused.append(len(rows))
        raise ConnectionRefusedError("database is down")

    d.audit._write = refuse
    await d.record_call("+79990000001", {"n": 1})
    await d.record_call("+79990000001", {"n": 2})
    deadline = asyncio.get_running_loop().time() + 5
    while not refused:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert d.audit.queued == 2
    d.audit._write = real
    await d.close()
    assert [r.details["n"] for r in await audit_rows(db_sessions)] == [1, 2]  # none lost, in order


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_the_limit_counts_unknown_numbers_per_caller_in_memory(db_sessions: Any) -> None:
    await seed(db_sessions)
    clock = Clock()
    d = AsyncDirectory(db_sessions, limiter=MissLimiter(clock=clock))

    async def look(number: str, caller: str = "+79990000002") -> Any:
        return await d.lookup(number, caller, max_misses=5, window_s=600, details=DETAILS)

    for i in range(4):
        assert (await look(f"99999999{i:02d}")).app is None
    assert (await look("1234567890")).app is not None  # found numbers do not count
    assert (await look("3000111111")).ambiguous  # nor ambiguous ones: the number exists
    assert not (await look("9999999904")).limited  # the 5th unknown number is still looked up
    assert (await look("1234567890")).limited  # now even a real one is not
    assert not (await look("1234567890", "+79990000003")).limited  # other callers are unaffected
    clock.t += 601  # misses older than the window no longer count
    assert (await look("1234567890")).app is not None
    assert d.limiter.callers() == 0  # and are forgotten
    await d.close()


async def test_the_limit_is_exact_when_one_caller_calls_many_times_at_once(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    results = await asyncio.gather(
        *(
            d.lookup(f"88888888{i:02d}", "+79990000004", max_misses=5, window_s=600, details=DETAILS)
            for i in range(12)
        )
    )
    assert sum(r.limited for r in results) == 7  # exactly 5 looked up, however they interleave
    await d.close()


async def test_a_restart_forgets_nobody(db_sessions: Any) -> None:
    await seed(db_sessions)
    async with db_sessions() as s:  # misses on record from before the restart: 3 recent, 1 too old
        for minutes in (1, 2, 3, 11):
            s.add(
                AuditLog(
                    actor="ivr",
                    action=LOOKUP,
                    target="+79990000005",
                    at=datetime.now(UTC) - timedelta(minutes=minutes),
                    details={"app_number": "77777777", "status": "not_found"},
                )
            )
        await s.commit()
    first = AsyncDirectory(db_sessions)
    await first.start(600)
    assert first.limiter.count("+79990000005", 600) == 3
    r = await first.lookup("6666666666", "+79990000005", max_misses=5, window_s=600, details=DETAILS)
    assert r.app is None and not r.limited
    await first.close()

    second = AsyncDirectory(db_sessions)  # the service started again; the first look-up seeds it
    r = await second.lookup("6666666667", "+79990000005", max_misses=5, window_s=600, details=DETAILS)
    assert r.app is None and not r.limited  # the 5th miss
    r = await second.lookup("1234567890", "+79990000005", max_misses=5, window_s=600, details=DETAILS)
    assert r.limited
    await second.close()


async def test_a_whole_call_through_the_flow_keys_digits_of_a_dashed_number(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    port = FakePort(["202700010", "1", ""])
    o = await CallFlow(port, d, IvrConfig(), CallInfo("+79990000006", "1.2", "test")).run()
    await d.close()
    assert port.played()[:4] == [P.WELCOME, P.ENTER_NUMBER, P.YOU_ENTERED, ("digits", "202700010")]
    assert P.STATUS_SUBMITTED in port.played()
    # the stored number goes to the dialplan: the operator's screen pop finds the application by it
    assert (port.vars["APP_NUMBER"], port.vars["APP_STATUS"]) == ("2027-00010", "submitted")
    assert o.app_number == "2027-00010"
    calls = [r for r in await audit_rows(db_sessions) if r.action == "ivr.call"]
    assert calls[-1].details["app_number"] == "2027-00010"


async def test_ambiguous_digits_go_to_an_operator_through_the_flow(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    port = FakePort(["3000111111", "1"])
    o = await CallFlow(port, d, IvrConfig(), CallInfo("+79990000007", "1.3", "test")).run()
    await d.close()
    assert (o.app_status, o.transfer) == ("ambiguous", True)
    assert port.vars["IVR_TRANSFER"] == "operator" and port.vars["APP_NUMBER"] == "3000111111"
    assert P.AMBIGUOUS in port.played()
    assert not {P.STATUS_READY, P.STATUS_REJECTED} & set(port.played())  # nobody's status read out


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
async def test_sync_directory_on_sqlite(db_url: str) -> None:
    from dialer.db.engine import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        await seed(sessions)
        d = SyncDirectory(make_sync_engine(db_url))
        res = await d.lookup("772027000123", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
        assert res.app is not None and res.app.number == "77/2027/000123"
        assert (
            await d.lookup("3000111111", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
        ).ambiguous
        assert (await d.by_phone("+79161112233")) is not None
        assert await audit_rows(sessions) == []  # written with the call's outcome, at its end
        await d.record_call("+79990000001", {"x": 1})
        assert [(r.action, r.details.get("status")) for r in await audit_rows(sessions)] == [
            ("ivr.lookup", "submitted"),
            ("ivr.lookup", "ambiguous"),
            ("ivr.call", None),
        ]
        # the next call's script is limited by what earlier calls wrote
        async with sessions() as s:
            for i in range(5):
                s.add(
                    AuditLog(
                        actor="ivr",
                        action=LOOKUP,
                        target="+79990000008",
                        at=datetime.now(UTC),
                        details={"status": "not_found", "n": i},
                    )
                )
            await s.commit()
        nxt = SyncDirectory(make_sync_engine(db_url))
        assert (
            await nxt.lookup("1234567890", "+79990000008", max_misses=5, window_s=600, details=DETAILS)
        ).limited
    finally:
        await engine.dispose()


async def test_migration_fills_the_key_of_existing_applications(empty_db_url: str, tmp_path: Path) -> None:
    from dialer.db import migrate
    from dialer.db.engine import make_engine

    await asyncio.to_thread(migrate.upgrade, empty_db_url, "0004")
    engine = make_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            for i, number in enumerate(["2027-00010", "МС 2027/00011", "ABC", "7777777777"]):
                await conn.execute(
                    sa.text(
                        "INSERT INTO applications (number, applicant_name, status, created_at, updated_at)"
                        " VALUES (:n, 'x', 'ready', :t, :t)"
                    ),
                    {"n": number, "t": datetime(2026, 1, 1, i, tzinfo=UTC)},
                )
        await asyncio.to_thread(migrate.upgrade, empty_db_url)
        async with engine.connect() as conn:
            keys = dict(
                (await conn.execute(sa.text("SELECT number, search_key FROM applications"))).tuples().all()
            )
        assert keys == {
            "2027-00010": "202700010",
            "МС 2027/00011": "202700011",
            "ABC": "",
            "7777777777": "7777777777",
        }
        await asyncio.to_thread(migrate.downgrade, empty_db_url, "0004")  # and back
    finally:
        await engine.dispose()


async def test_concurrent_look_ups_share_queries_and_each_gets_its_own_answer(db_sessions: Any) -> None:
    await seed(db_sessions)
    d = AsyncDirectory(db_sessions)
    await d.start(600)
    wanted = [keyed for _, keyed in FORMATS.values()] * 4 + ["3000111111", "5555555555"] * 3
    results = await asyncio.gather(
        *(
            d.lookup(n, f"+7999000{i:04d}", max_misses=5, window_s=600, details=DETAILS)
            for i, n in enumerate(wanted)
        )
    )
    by_digits = {keyed: number for number, keyed in FORMATS.values()}
    for n, res in zip(wanted, results, strict=True):
        if n in by_digits:
            assert res.app is not None and res.app.number == by_digits[n]
        elif n == "3000111111":
            assert res.ambiguous and res.app is None
        else:
            assert res.app is None and not res.ambiguous
    assert d._finds.queries < len(wanted) / 4  # 34 look-ups, a handful of queries
    # the caller ID offers coalesce the same way, each phone getting its newest application
    phones = await asyncio.gather(*(d.by_phone(p) for p in ["+79161112233", "+70000000000"] * 5))
    assert [a.number if a else None for a in phones] == ["1234567891", None] * 5
    await d.close()


async def test_a_failed_shared_query_fails_each_look_up_in_it(db_sessions: Any) -> None:
    d = AsyncDirectory(db_sessions)
    await d.start(600)

    async def down(keys: list[str]) -> Any:
        raise ConnectionRefusedError("database is down")

    d._finds._fetch = down
    results = await asyncio.gather(
        *(
            d.lookup(f"12345678{i:02d}", "+79990000001", max_misses=5, window_s=600, details=DETAILS)
            for i in range(3)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert d.limiter.count("+79990000001", 600) == 0  # a look-up that failed is no miss
    await d.close()
