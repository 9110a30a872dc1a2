"""Reads Asterisk's call records from where Asterisk writes them (config ``call_records``).

``cdr_sqlite3_custom`` writes a SQLite file next to Asterisk (the sandbox: the PBX's log folder in the
chroot); ``cdr_pgsql`` a table in PostgreSQL. Both have the columns of ``asterisk_conf/cdr_sqlite3_custom.conf``.
The file is opened read-only: the dialer never writes Asterisk's witness.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dialer.callrecords.fate import CdrRow, parse_stamp

log = logging.getLogger(__name__)

BATCH = 500


class RecordsUnavailable(Exception):
    """The call records can't be read now (file missing, database down): say so, decide nothing."""


def async_url(url: str) -> str:
    """``sqlite:////path`` -> read-only aiosqlite URL; ``postgresql://`` -> asyncpg."""
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        path = u.database or ""
        return f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    if u.drivername.startswith("postgresql"):
        return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"call_records.url: unsupported database {u.drivername!r} (sqlite or postgresql)")


class CdrReader:
    def __init__(self, url: str, table: str = "cdr", timezone: str = "UTC") -> None:
        self.url = url
        self.table = table
        self.tz = ZoneInfo(timezone)
        self._engine: AsyncEngine | None = None

    @classmethod
    def from_settings(cls, records: Any) -> CdrReader | None:
        """From the ``call_records`` settings; None when no records are configured."""
        if records.url is None:
            return None
        return cls(records.url.get_secret_value(), records.table, records.timezone)

    def _eng(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(async_url(self.url))
        return self._engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def rows_for(self, keys: Iterable[str]) -> dict[str, list[CdrRow]]:
        """Every row of each call (by the dialer's channel id), keyed by it; a call Asterisk never placed
        has no entry. Raises RecordsUnavailable when the records can't be read."""
        wanted = sorted(set(keys))
        out: dict[str, list[CdrRow]] = {}
        for i in range(0, len(wanted), BATCH):
            chunk = wanted[i : i + BATCH]
            rows = await self._select("uniqueid IN :keys OR linkedid IN :keys", {"keys": chunk})
            for r in rows:
                out.setdefault(r.linkedid or r.uniqueid, []).append(r)
        return out

    async def rows_between(self, since: datetime, until: datetime | None = None) -> list[CdrRow]:
        """Rows of dialer calls (``dlr-``) that started in [since, until). The times are compared as the
        backend writes them (``YYYY-MM-DD HH:MM:SS`` in the PBX's zone sorts as it reads)."""
        where = "linkedid LIKE 'dlr-%' AND start >= :since"
        params: dict[str, Any] = {"since": self._stamp(since)}
        if until is not None:
            where += " AND start < :until"
            params["until"] = self._stamp(until)
        return await self._select(where, params)

    def _stamp(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")

    async def _select(self, where: str, params: dict[str, Any]) -> list[CdrRow]:
        sql = text(
            "SELECT uniqueid, linkedid, channel, dstchannel, lastapp, disposition, start, answer, "
            f'"end", billsec, userfield FROM {self.table} WHERE {where}'
        )
        if "keys" in params:
            sql = sql.bindparams(bindparam("keys", expanding=True))
        try:
            async with self._eng().connect() as conn:
                result = await conn.execute(sql, params)
                raw = result.all()
        except Exception as e:
            raise RecordsUnavailable(f"call records unreadable ({type(e).__name__}: {str(e)[:200]})") from e
        return [_row(r, self.tz) for r in raw]


def _row(r: Any, tz: ZoneInfo) -> CdrRow:
    def s(v: Any) -> str:
        return "" if v is None else str(v)

    try:
        billsec = int(float(s(r[9]) or 0))
    except ValueError:
        billsec = 0
    return CdrRow(
        uniqueid=s(r[0]),
        linkedid=s(r[1]),
        channel=s(r[2]),
        dstchannel=s(r[3]),
        lastapp=s(r[4]),
        disposition=s(r[5]).upper(),
        start=parse_stamp(r[6], tz),
        answer=parse_stamp(r[7], tz),
        end=parse_stamp(r[8], tz),
        billsec=billsec,
        userfield=s(r[10]),
    )
