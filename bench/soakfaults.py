"""The soak's faults, each injected for real against the running sandbox and service.

- ``kill9``: SIGKILL the service, start it again after a random delay.
- ``asterisk-restart``: ``core restart now`` on the PBX (channels hung up, records written).
- ``asterisk-kill``: SIGKILL the PBX, then start it: calls up at that moment leave no record, so the span is
  handed to the audit as blind (their attempts are counted as unwitnessed, not judged).
- ``ami-cut`` / ``ami-stall``: the loopback proxy drops every AMI link, or freezes them (for a few seconds,
  or for good with Asterisk's side left open: half-open).
- ``db-lock``: SQLite: another connection holds the write lock (``BEGIN EXCLUSIVE``) for some seconds.
  PostgreSQL: the service's connections are ended (``pg_terminate_backend``) and the dialer's tables are
  locked (``ACCESS EXCLUSIVE``) for some seconds: the server is shared with other engineers' tests on this
  machine, so it is not stopped; to the service it looks the same (connections gone, nothing answers).
- ``softphone-drop``: an agent's softphone process stops (it stops answering and its registration lapses),
  and comes back after some seconds; the agent is then made ready again, as the agent would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from random import Random
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from dialer.sandbox import asterisk, softphones

if TYPE_CHECKING:
    from bench.soak import Soak

FAULTS = ("kill9", "asterisk-restart", "asterisk-kill", "ami-cut", "ami-stall", "db-lock", "softphone-drop")


class Faults:
    def __init__(self, soak: Soak, rng: Random) -> None:
        self.s = soak
        self.rng = rng
        self.blind: list[tuple[datetime, datetime]] = []  # the PBX dead: no records written
        self.outages: list[tuple[datetime, datetime]] = []  # faults' spans: nobody may route an answered call
        self.notes: list[str] = []

    def runner(self, name: str) -> Callable[[], Awaitable[str]]:
        return {
            "kill9": self.kill9,
            "asterisk-restart": self.asterisk_restart,
            "asterisk-kill": self.asterisk_kill,
            "ami-cut": self.ami_cut,
            "ami-stall": self.ami_stall,
            "db-lock": self.db_lock,
            "softphone-drop": self.softphone_drop,
        }[name]

    async def kill9(self) -> str:
        t0 = datetime.now(UTC)
        self.s.service.kill9()
        delay = self.rng.uniform(0.5, 8)
        await asyncio.sleep(delay)
        self.s.service.start()
        await self.s.service.wait_ready(60)
        self.outages.append((t0, datetime.now(UTC)))
        return f"service killed, restarted after {delay:.1f} s"

    async def asterisk_restart(self) -> str:
        sb = self.s.sandbox
        t0 = time.monotonic()
        with contextlib.suppress(Exception):  # the PBX may go before it answers
            await asyncio.to_thread(sb.rx, "core restart now")
        await self._pbx_back(t0)
        return "PBX restarted (core restart now)"

    async def asterisk_kill(self) -> str:
        sb = self.s.sandbox
        pid = asterisk.pid(sb.root, sb.pbx)
        t0 = datetime.now(UTC)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while asterisk.pid(sb.root, sb.pbx) is not None:
                await asyncio.sleep(0.05)
        delay = self.rng.uniform(0.5, 5)
        await asyncio.sleep(delay)
        await asyncio.to_thread(asterisk.start, sb.root, sb.pbx)
        # the phones still hold calls the dead PBX never ended: start them afresh
        exts = self.s.agents
        await asyncio.to_thread(softphones.stop_many, sb.root, exts)
        for ext in exts:
            await asyncio.to_thread(softphones.start, sb.root, ext)
        await asyncio.to_thread(sb.wait_registered, exts, 30)
        self.blind.append((t0, datetime.now(UTC)))
        await self.s.agents_ready(exts)
        return f"PBX killed (pid {pid}), started after {delay:.1f} s"

    async def _pbx_back(self, t0: float) -> None:
        """Up again, and a new life: restart re-executes in the same process, so its uptime tells."""
        sb = self.s.sandbox
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                await asyncio.to_thread(sb.rx, "core waitfullybooted")
                out = await asyncio.to_thread(sb.rx, "core show uptime seconds")
            except Exception:
                continue
            m = re.search(r"System uptime:\s*(\d+)", out)
            if m and int(m.group(1)) <= time.monotonic() - t0 + 1:
                break
        else:
            raise RuntimeError("the PBX did not come back within 90 s")
        await asyncio.to_thread(sb.wait_registered, self.s.agents, 90)

    async def ami_cut(self) -> str:
        n = self.s.proxy.cut()
        return f"{n} AMI link(s) dropped"

    async def ami_stall(self) -> str:
        if self.rng.random() < 0.4:
            before = self.s.proxy.links
            n = self.s.proxy.half_open()
            # the service must notice (its Ping deadline) and link again before the next fault
            deadline = time.monotonic() + 60
            while self.s.proxy.links == before and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            return f"{n} AMI link(s) half-open (frozen for good, Asterisk's side kept open)"
        seconds = self.rng.uniform(2, 14)
        n = await self.s.proxy.stall(seconds)
        return f"{n} AMI link(s) frozen for {seconds:.1f} s"

    async def db_lock(self) -> str:
        seconds = self.rng.uniform(3, 10)
        url = make_url(self.s.db_url)
        if url.get_backend_name() == "sqlite":
            await asyncio.to_thread(_sqlite_lock, str(url.database), seconds)
            return f"SQLite write-locked by another connection for {seconds:.1f} s"
        eng = create_async_engine(url, poolclass=NullPool)
        try:
            async with eng.connect() as conn:
                killed = (
                    await conn.execute(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                ).scalar_one()
                await conn.execute(
                    text(
                        "LOCK TABLE call_attempts, contacts, inflight_numbers, agents IN ACCESS EXCLUSIVE MODE"
                    )
                )
                await asyncio.sleep(seconds)
                await conn.rollback()
        finally:
            await eng.dispose()
        return f"PostgreSQL: {killed} connection(s) ended, tables locked for {seconds:.1f} s"

    async def softphone_drop(self) -> str:
        sb = self.s.sandbox
        ext = self.rng.choice(self.s.agents)
        seconds = self.rng.uniform(4, 15)
        await asyncio.to_thread(softphones.stop, sb.root, ext)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(softphones.start, sb.root, ext)
        await asyncio.to_thread(sb.wait_registered, [ext], 30)
        await self.s.agents_ready([ext])
        return f"softphone {ext} gone for {seconds:.1f} s"


def _sqlite_lock(path: str, seconds: float) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)  # in a worker thread: holding the lock is the point
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def plan(faults: list[str], rng: Random) -> list[str]:
    """An endless-enough shuffled order that gives every fault its turn equally often."""
    out: list[str] = []
    for _ in range(1000):
        batch = list(faults)
        rng.shuffle(batch)
        out += batch
    return out
