"""The CSV download helper, on a real aiohttp server, for what no endpoint's test reaches: an export longer
than one chunk arrives whole and in order, and a file name that is not plain ASCII is saved as given.
(Cells made safe, the header, the BOM decoding: the export endpoints' own tests.)"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dialer.web.csvdownload import CHUNK, stream_csv

ROWS = 2 * CHUNK + 7  # two full chunks and a part


async def _rows() -> AsyncIterator[list[Any]]:
    for i in range(ROWS):
        yield [i, f"=cmd{i}" if i == ROWS - 1 else f"Иванов {i}", None]


async def _export(request: web.Request) -> web.StreamResponse:
    return await stream_csv(request, "очередь 5.csv", ("n", "name", "note"), _rows(), bom=True)


async def test_a_long_export_arrives_whole_in_order_under_its_own_name() -> None:
    app = web.Application()
    app.router.add_get("/x", _export)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/x")
        body = await r.read()
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"________5.csv\"; filename*=UTF-8''%D0%BE%D1%87%D0%B5%D1%80%D0%B5%D0%B4%D1%8C%205.csv"
    )
    assert body.startswith(b"\xef\xbb\xbfn,name,note\r\n")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["n", "name", "note"]
    assert [int(r[0]) for r in rows[1:]] == list(range(ROWS))
    assert rows[1] == ["0", "Иванов 0", ""]
    assert rows[-1] == [str(ROWS - 1), f"'=cmd{ROWS - 1}", ""]
