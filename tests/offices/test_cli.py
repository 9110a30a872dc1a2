"""``dialer office ...`` as an operator runs it: CSV import with a report, linking applications, slots,
booking, the day's list as CSV, reminders; bad input is one line on stderr."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.db.engine import make_engine, make_sessionmaker
from tests.offices.conftest import make_applications

REPO = Path(__file__).resolve().parents[2]


def dialer(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DIALER_DATABASE__URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), "office", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


async def seed(url: str, **kw: Any) -> None:
    engine = make_engine(url)
    try:
        await make_applications(make_sessionmaker(engine), **kw)
    finally:
        await engine.dispose()


async def test_office_cli_end_to_end(db_url: str, tmp_path: Path) -> None:
    await seed(db_url, numbers=["A-1", "A-2"], pickup_office="МФЦ Тверской")
    await seed(db_url, numbers=["B-1"], pickup_office="Почта №7")
    offices = tmp_path / "offices.csv"
    offices.write_text(
        "name;address;directions;capacity;mon;tue;wed;thu;fri;sat;sun;slot_minutes\n"
        "МФЦ Тверской;ул. Тверская, 8;Метро Охотный ряд;1;09:00-10:00;09:00-10:00;09:00-10:00;"
        "09:00-10:00;09:00-10:00;09:00-10:00;09:00-10:00;30\n"
        "Без часов;где-то;как-то;1;25:00-26:00;;;;;;;30\n",
        encoding="utf-8",
    )
    r = dialer(db_url, "import", str(offices))
    assert r.returncode == 0, r.stderr
    assert "2 rows, 1 created, 0 updated, 1 rejected" in r.stdout
    assert "line 3: hours: mon: not a valid time range: '25:00-26:00'" in r.stdout
    assert "applications linked to their office: 2 now, 0 before" in r.stdout
    assert "no office named 'Почта №7': 1 application(s)" in r.stdout

    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow")).date() + timedelta(days=1)
    r = dialer(db_url, "slots", "мфц тверской", day.isoformat())
    assert r.stdout.splitlines() == ["09:00-09:30\t1/1 free", "09:30-10:00\t1/1 free"]
    r = dialer(db_url, "book", "A-1", "МФЦ Тверской", f"{day}T09:30+03:00")
    assert r.returncode == 0 and r.stdout.startswith("appointment 1: A-1 at МФЦ Тверской")
    r = dialer(db_url, "book", "A-2", "МФЦ Тверской", f"{day}T09:30+03:00")
    assert r.returncode == 1 and r.stderr.strip() == f"dialer: the slot at {day} 09:30 is full"
    r = dialer(db_url, "appointments", day.isoformat(), "--csv")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("id,office,start") and lines[1].startswith(
        f"1,МФЦ Тверской,{day}T09:30:00+03:00"
    )
    r = dialer(db_url, "reminders", "--date", day.isoformat())
    assert r.stdout.strip().startswith(f"campaign reminders-{day}: 1 contacts (draft")
    r = dialer(db_url, "reminders", "--date", day.isoformat())
    assert r.stdout.strip() == f"campaign reminders-{day} already exists (1 contacts)"
    r = dialer(db_url, "cancel", "1")
    assert r.returncode == 0 and "is free again" in r.stdout
    r = dialer(db_url, "slots", "МФЦ Тверской", day.isoformat())
    assert r.stdout.splitlines()[1] == "09:30-10:00\t1/1 free"
    r = dialer(db_url, "add", "Новый", "--address", "a", "--directions", "d", "--capacity", "0")
    assert (
        r.returncode == 1
        and r.stderr.strip() == "dialer: capacity: Input should be greater than or equal to 1"
    )
