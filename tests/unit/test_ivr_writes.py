"""The parts that keep look-ups reads: the audit writer (batches behind the call, flushed on close, bounded
while the database refuses rows), the in-memory limit (seeded from wall-clock audit times), and the
coalescer that shares one query between concurrent look-ups."""

from __future__ import annotations

import asyncio
from typing import Any

from dialer.ivr.audit import AuditWriter
from dialer.ivr.batch import Coalescer
from dialer.ivr.limits import MissLimiter


class Db:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.down = False

    async def write(self, rows: list[dict[str, Any]]) -> None:
        if self.down:
            raise ConnectionRefusedError("down")
        self.batches.append([r["n"] for r in rows])


async def test_rows_are_written_together_not_one_by_one() -> None:
    db = Db()
    w = AuditWriter(db.write, interval=3600, batch=3)
    for n in range(7):
        w.add({"n": n})
    await asyncio.sleep(0.05)  # 3 queued wake the writer early; it takes all that are waiting
    assert db.batches and sum(map(len, db.batches)) >= 3 and len(db.batches) < 7
    await w.close()
    assert [n for b in db.batches for n in b] == list(range(7))  # all of them, in order, once


async def test_the_writer_writes_on_its_interval() -> None:
    db = Db()
    w = AuditWriter(db.write, interval=0.05)
    w.add({"n": 1})
    for _ in range(100):
        if db.batches:
            break
        await asyncio.sleep(0.01)
    assert db.batches == [[1]]
    await w.close()


async def test_rows_wait_while_the_database_is_down_and_the_oldest_go_past_the_bound() -> None:
    db = Db()
    db.down = True
    w = AuditWriter(db.write, interval=0.01, max_queued=5)
    for n in range(8):
        w.add({"n": n})
    await asyncio.sleep(0.05)
    assert (w.queued, w.dropped, db.batches) == (5, 3, [])
    db.down = False
    await w.close()
    assert [n for b in db.batches for n in b] == [3, 4, 5, 6, 7]


def test_seeded_misses_keep_their_age() -> None:
    mono, wall = [500.0], [1_700_000_000.0]
    lim = MissLimiter(clock=lambda: mono[0], wall=lambda: wall[0])
    lim.seed([("+7916", wall[0] - 590), ("+7916", wall[0] - 10), ("+7917", wall[0] - 700)])
    assert (lim.count("+7916", 600), lim.count("+7917", 600)) == (2, 0)
    mono[0] += 11  # the older one passes the 10-minute window
    assert lim.count("+7916", 600) == 1
    lim.miss("+7916")
    assert lim.count("+7916", 600) == 2
    mono[0] += 601
    lim.sweep(600)
    assert lim.callers() == 0


async def test_concurrent_gets_share_a_fetch() -> None:
    fetched: list[list[str]] = []

    async def fetch(keys: list[str]) -> dict[str, str]:
        fetched.append(keys)
        await asyncio.sleep(0.01)
        return {k: k.upper() for k in keys if k != "x"}

    c = Coalescer(fetch, "missing", parallel=1)
    got = await asyncio.gather(*(c.get(k) for k in ["a", "b", "a", "x", "c"]))
    assert got == ["A", "B", "A", "missing", "C"]
    assert fetched == [["a", "b", "c", "x"]]  # one query for the lot
    assert await c.get("d") == "D" and len(fetched) == 2  # a lone look-up is not held back
