"""CSV downloads: every export (attempts, dispositions, an import's rejected rows, a day's bookings) goes
out the same way.

The rows are streamed in chunks of at most ``CHUNK`` rows, each formatted in a worker thread (500 rows of
an attempts export take ~4 ms, too long to hold the event loop that also routes answered calls), each
write awaiting the client: an export of a million attempts never sits in memory whole. Every cell passes
``safe_cell`` (a cell a spreadsheet would run as a formula is quoted), and the file name is given the way
browsers read it, with an ASCII fallback for a name that is not plain ASCII (RFC 6266).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web

from dialer.web.csvsafe import safe_cell

CHUNK = 500  # rows formatted between two writes
_PLAIN = re.compile(r"[A-Za-z0-9._-]")


def attachment(filename: str) -> str:
    """The Content-Disposition header that saves the response as ``filename``."""
    fallback = "".join(ch if _PLAIN.fullmatch(ch) else "_" for ch in filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _cell(value: Any) -> Any:
    return "" if value is None else safe_cell(value)


async def _rows(rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def stream_csv(
    request: web.Request,
    filename: str,
    header: Sequence[str],
    rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]],
    *,
    bom: bool = False,
) -> web.StreamResponse:
    """Send ``header`` then ``rows`` as a CSV file named ``filename`` (UTF-8; ``bom`` starts it with the
    byte-order mark Excel needs to read Cyrillic from a double-clicked file)."""
    resp = web.StreamResponse(
        headers={"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": attachment(filename)}
    )
    await resp.prepare(request)
    await resp.write((codecs.BOM_UTF8 if bom else b"") + _format([header], plain=True))
    batch: list[Sequence[Any]] = []
    async for row in _rows(rows):
        batch.append(row)
        if len(batch) == CHUNK:
            await resp.write(await asyncio.to_thread(_format, batch))
            batch = []
    if batch:
        await resp.write(await asyncio.to_thread(_format, batch))
    await resp.write_eof()
    return resp


def _format(rows: Iterable[Sequence[Any]], *, plain: bool = False) -> bytes:
    """Rows as CSV bytes, each cell made safe (but a header's, ``plain``)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerows(row if plain else [_cell(v) for v in row] for row in rows)
    return buf.getvalue().encode()
