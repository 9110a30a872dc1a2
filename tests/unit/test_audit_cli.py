"""``dialer audit``'s arguments and failures: a clear line and exit status 2, never a traceback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.audit.cli import parse_since, parse_span

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_since_reads_durations_dates_and_times_in_the_service_zone() -> None:
    assert parse_since("24h", NOW, "Europe/Moscow") == NOW - timedelta(hours=24)
    assert parse_since("90", NOW, "Europe/Moscow") == NOW - timedelta(seconds=90)
    # a date is local midnight: 00:00 in Moscow is 21:00 UTC the day before
    assert parse_since("2026-11-30", NOW, "Europe/Moscow") == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert parse_since("2026-11-30T09:00", NOW, "Europe/Moscow") == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert parse_since("2026-11-30T09:00+00:00", NOW, "Europe/Moscow") == datetime(
        2026, 11, 30, 9, tzinfo=UTC
    )
    assert parse_span("7d") == timedelta(days=7)
    with pytest.raises(ValueError, match="not a duration, date or date-time: 'yesterday'"):
        parse_since("yesterday", NOW, "Europe/Moscow")


def _audit(tmp_path: Path, config: dict[str, object], *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(json.dumps({"data_dir": str(tmp_path), **config}))
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(cfg), "audit", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_bad_since_no_records_and_an_unmigrated_database_each_say_so_in_one_line(tmp_path: Path) -> None:
    records = tmp_path / "master.db"
    with sqlite3.connect(records) as c:
        c.execute(
            "CREATE TABLE cdr (AcctId INTEGER PRIMARY KEY, start, answer, end, src, dst, dcontext, channel, "
            "dstchannel, lastapp, lastdata, duration, billsec, disposition, uniqueid, linkedid, userfield)"
        )
    cr = {"call_records": {"url": f"sqlite:///{records}"}}
    r = _audit(tmp_path, cr, "--since", "yesterday")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("dialer: --since: not a duration, date or date-time: 'yesterday'")
    assert r.stderr.count("\n") == 1

    r = _audit(tmp_path, {"call_records": {"url": None}})
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "call_records.url is not set" in r.stderr

    r = _audit(tmp_path, cr, "--since", "2h")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "database unreadable" in r.stderr and "dialer db upgrade" in r.stderr
