"""Memory and speed of a large CSV import through the web API (upload streamed to disk, imported in
batches): peak RSS for a small and a large file, their ratio (about 1 when memory does not grow with the
file) and rows per second.

    .venv/bin/python -m bench.import_memory                     # 100k and 1M application rows
    .venv/bin/python -m bench.import_memory --rows 20000 200000 --kind contacts

Each size runs in a fresh process, so one run's peak does not hide the next one's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BAD_EVERY = 100  # one row in a hundred has a bad phone: the report must hold those, and only those


def write_csv(path: Path, rows: int, kind: str) -> None:
    """Write the file row by row (never held in memory)."""
    rnd = random.Random(rows)
    statuses = ("ready", "ready", "ready", "processing", "submitted")
    with open(path, "w", encoding="utf-8", newline="") as f:
        if kind == "applications":
            f.write(
                "application_number;applicant_name;phone;status;pickup_office;pickup_from;expected_date\n"
            )
        else:
            f.write("phone;application_number;name\n")
        for i in range(rows):
            phone = "+7916" + f"{i:07d}" if i % BAD_EVERY else "12345"
            name = f"Заявитель {rnd.randrange(10**6)}"
            if kind == "applications":
                f.write(f"P-{i:08d};{name};{phone};{statuses[i % 5]};МФЦ №{i % 40};2027-03-01;\n")
            else:
                f.write(f"{phone};P-{i:08d};{name}\n")


async def child(rows: int, kind: str) -> dict[str, Any]:
    from aiohttp import ClientSession, FormData
    from aiohttp.test_utils import TestServer

    from dialer.config import load_settings
    from dialer.db import migrate
    from dialer.service import Service
    from dialer.web import users
    from dialer.web.models import Role

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    csv_path = tmp / "big.csv"
    write_csv(csv_path, rows, kind)
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = load_settings(REPO / "config.yaml", database={"url": url}, data_dir=tmp, ami={"port": 1})
    service = Service(settings)
    await users.create_user(service.sessions, "bench", "bench-password", Role.ADMIN, actor="bench")
    token = await users.create_token(service.sessions, "bench", actor="bench")
    server = TestServer(service.app, host="127.0.0.1")
    await server.start_server()
    headers = {"Authorization": f"Bearer {token}"}
    path = "/api/v1/applications/import"
    try:
        async with ClientSession(str(server.make_url("/")), headers=headers) as http:
            if kind == "contacts":
                await http.post("/api/v1/campaigns", json={"name": "bench"})
                path = "/api/v1/campaigns/bench/contacts/import"
            t0 = time.monotonic()
            with open(csv_path, "rb") as f:
                form = FormData()
                form.add_field("file", f, filename="big.csv", content_type="text/csv")
                async with http.post(path, data=form) as r:
                    job = await r.json()
                    assert r.status == 202, job
            uploaded = time.monotonic() - t0
            while job["state"] == "running":
                await asyncio.sleep(0.5)
                async with http.get(f"/api/v1/imports/{job['id']}") as r:
                    job = await r.json()
            seconds = time.monotonic() - t0
    finally:
        await server.close()
        await service.engine.dispose()
    assert job["state"] == "done", job
    return {
        "rows": rows,
        "kind": kind,
        "file_mb": round(csv_path.stat().st_size / 2**20, 1),
        "accepted": job["accepted"],
        "rejected": job["rejected"],
        "upload_seconds": round(uploaded, 1),
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.import_memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--kind", choices=["applications", "contacts"], default="applications")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(asyncio.run(child(args.child, args.kind))))
        return 0
    results = []
    for n in args.rows:
        out = subprocess.run(
            [sys.executable, "-m", "bench.import_memory", "--child", str(n), "--kind", args.kind],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        res = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(res)
        print(
            f"{res['rows']:>9,} {res['kind']} rows ({res['file_mb']} MB): {res['seconds']} s "
            f"({res['rows_per_s']:,} rows/s), {res['accepted']:,} accepted, {res['rejected']:,} rejected, "
            f"peak RSS {res['peak_rss_mb']} MB"
        )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        ratio = big["peak_rss_mb"] / small["peak_rss_mb"]
        print(
            f"peak RSS ratio {big['rows']:,} / {small['rows']:,} rows: {ratio:.2f} (rows ratio {big['rows'] / small['rows']:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
