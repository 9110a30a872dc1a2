"""The classic AGI script (agi_scripts/ivr.py over pyst2) driven over its pipes as Asterisk would: a whole
call against a SQLite database, SIGHUP at awkward moments, Asterisk closing the pipe, no database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from dialer.db import migrate
from dialer.ivr.bundle import write_conf
from tests.unit.test_ivr_fastagi import asterisk

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "agi_scripts" / "ivr.py"
ENV = {
    "agi_request": "ivr.py",
    "agi_channel": "PJSIP/carrier-00000002",
    "agi_language": "ru",
    "agi_uniqueid": "1700000000.9",
    "agi_callerid": "79161112233",
    "agi_context": "ivr-505",
}


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    db = tmp_path / "dialer.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        c.execute(
            "INSERT INTO applications (number, search_key, applicant_name, phone, status, pickup_office,"
            " pickup_from, created_at, updated_at) VALUES ('12-3456/7890', '1234567890', 'Иванов Иван',"
            " '+79990000000', 'ready',"
            " 'Отделение №3', ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (date(2027, 3, 15).isoformat(),),
        )
    return write_conf(tmp_path, f"sqlite+aiosqlite:///{db}")


def audit(conf: Path) -> list[tuple[str, str, dict[str, object]]]:
    with sqlite3.connect(conf.parent / "dialer.db") as c:
        rows = c.execute("SELECT action, target, details FROM audit_log ORDER BY id").fetchall()
    return [(a, t, json.loads(d)) for a, t, d in rows]


class Pipes:
    """Asterisk's end of a classic AGI script."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.commands: list[str] = []

    @classmethod
    async def start(cls, conf: Path | None, env: dict[str, str] = ENV) -> Pipes:
        args = [str(conf)] if conf is not None else ["/nonexistent/dialer-ivr.conf"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        p = cls(proc)
        assert proc.stdin is not None
        proc.stdin.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        await proc.stdin.drain()
        return p

    async def command(self, timeout: float = 10) -> str:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        cmd = line.decode().strip()
        if cmd:
            self.commands.append(cmd)
        return cmd

    async def reply(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((text + "\n").encode())
        await self.proc.stdin.drain()

    async def run(self, reply: Callable[[str], str], until: Callable[[str], bool] = lambda c: False) -> str:
        while True:
            cmd = await self.command()
            if not cmd or until(cmd):
                return cmd
            await self.reply(reply(cmd))

    async def exit_code(self, timeout: float = 5) -> int:
        await asyncio.wait_for(self.proc.wait(), timeout)
        assert self.proc.returncode is not None
        return self.proc.returncode


async def test_a_whole_call_against_sqlite(conf: Path) -> None:
    p = await Pipes.start(conf)
    await p.run(asterisk({"ivr/enter-number": "1234567890", "ivr/menu": ""}))
    assert await p.exit_code() == 0
    assert 'SET VARIABLE "APP_STATUS" "ready"' in p.commands
    assert 'SAY NUMBER "3" "10#"' in p.commands
    assert 'SAY DATETIME 1805112000 "10#" "dB" UTC' in p.commands
    rows = audit(conf)
    assert [r[0] for r in rows] == ["ivr.lookup", "ivr.call"]
    assert rows[0][1] == "+79161112233" and rows[0][2]["status"] == "ready"
    assert rows[1][2]["mode"] == "agi" and rows[1][2]["app_status"] == "ready"
    stderr = await p.proc.stderr.read()  # type: ignore[union-attr]
    assert b"1234567890" not in stderr and b"79161112233" not in stderr  # pyst2's env dump is silenced


async def test_sighup_while_waiting_for_asterisk_exits_cleanly_at_once(conf: Path) -> None:
    p = await Pipes.start(conf)
    cmd = await p.run(asterisk({}), until=lambda c: c.startswith("GET DATA"))
    assert cmd.startswith("GET DATA ivr/enter-number")
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGHUP)  # no reply will come
    assert await p.exit_code() == 0
    assert time.monotonic() - t0 < 3
    assert audit(conf)[-1][2]["hung_up"] is True


async def test_sighup_during_a_database_wait_stops_before_the_next_command(conf: Path) -> None:
    # look-ups are reads, and WAL lets readers past a writer: only an exclusive-mode lock, taken before the
    # script opens the database, makes its first read (the caller's own application) wait
    lock = sqlite3.connect(conf.parent / "dialer.db", isolation_level=None)
    lock.execute("PRAGMA locking_mode=EXCLUSIVE")
    lock.execute("BEGIN EXCLUSIVE")
    lock.execute("DELETE FROM audit_log WHERE id < 0")  # takes the lock now
    try:
        p = await Pipes.start(conf)
        reply = asterisk({})
        await p.run(reply, until=lambda c: c.startswith("STREAM FILE ivr/welcome"))
        await p.reply(reply("STREAM FILE"))  # the greeting ends; the look-up by caller ID now waits
        await asyncio.sleep(0.2)
        p.proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.3)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert await p.command() == ""  # nothing more is sent to a channel that hung up
    assert await p.exit_code() == 0
    last = audit(conf)[-1][2]
    assert last["hung_up"] is True and last["lookups"] == 0


async def test_asterisk_closing_the_pipe_ends_the_script(conf: Path) -> None:
    p = await Pipes.start(conf)
    await p.run(asterisk({}), until=lambda c: c.startswith("GET DATA"))
    p.proc.stdin.close()  # type: ignore[union-attr]
    assert await p.exit_code() == 0


async def test_hangup_during_get_data_result(conf: Path) -> None:
    p = await Pipes.start(conf)
    reply = asterisk({})
    await p.run(lambda c: "200 result=-1" if c.startswith("GET DATA") else reply(c))
    assert await p.exit_code() == 0
    assert audit(conf)[-1][2]["hung_up"] is True


async def test_without_a_database_the_caller_goes_to_an_operator(tmp_path: Path) -> None:
    p = await Pipes.start(None)
    await p.run(asterisk({"ivr/enter-number": "1234567890"}))
    assert await p.exit_code() == 0
    assert 'SET VARIABLE "APP_STATUS" "unavailable"' in p.commands
    assert 'SET VARIABLE "IVR_TRANSFER" "operator"' in p.commands
    assert p.commands[-1] == 'STREAM FILE ivr/unavailable "" 0'


async def test_caller_hung_up_before_the_header_ended(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None
    proc.stdin.write(b"agi_request: ivr.py\n")
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 5)
    assert proc.returncode == 0


async def test_without_its_libraries_the_script_still_hands_the_caller_over(tmp_path: Path) -> None:
    lone = tmp_path / "agi-bin" / "ivr.py"
    lone.parent.mkdir()
    lone.write_text(SCRIPT.read_text())
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-S",
        "-I",
        str(lone),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    p = Pipes(proc)
    assert proc.stdin is not None
    proc.stdin.write(b"agi_request: ivr.py\n\n")
    await p.run(lambda c: "200 result=1")
    assert await p.exit_code() == 0
    assert p.commands == ['SET VARIABLE APP_STATUS "unavailable"', 'SET VARIABLE IVR_TRANSFER "operator"']
