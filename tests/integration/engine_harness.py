"""Test helpers around the service harness (dialer/sandbox/harness.py): a day's seeded history, the PBX's
own call records, and the simulated network's view."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dialer.db.models import CallAttempt
from dialer.sandbox.harness import ALL_DAY, REPO, FakeClock, Harness, free_port, sim

__all__ = [
    "ALL_DAY",
    "REPO",
    "FakeClock",
    "Harness",
    "NetworkWatch",
    "free_port",
    "pbx_records",
    "run_cli",
    "seed_answered_today",
    "serve_process",
    "sim",
]


async def seed_answered_today(sessions: Any, campaign: str, connected: int) -> None:
    """Earlier connected calls of today: a day that has earned some abandons under its cap."""
    from dialer.db.models import Campaign

    async with sessions() as s:
        camp_id = (await s.execute(select(Campaign.id).where(Campaign.name == campaign))).scalar_one()
        now = datetime.now(UTC)
        for i in range(connected):
            s.add(
                CallAttempt(
                    campaign_id=camp_id,
                    phone=f"+7990999{i:04d}",
                    action_id=f"seed-{campaign}-{i}",
                    state="ended",
                    outcome="connected",
                    originated_at=now,
                    created_at=now,
                    ended_at=now,
                )
            )
        await s.commit()


async def pbx_records(settings: Any, keys: list[str]) -> dict[str, list[Any]]:
    """Asterisk's own records (CDR) of these calls, as the PBX wrote them."""
    from dialer.callrecords.reader import CdrReader

    reader = CdrReader.from_settings(settings.call_records)
    assert reader is not None, "call_records.url is not set"
    try:
        return await reader.rows_for(keys)
    finally:
        await reader.close()


class NetworkWatch:
    """The simulated phone network's own view (the carrier Asterisk's AMI): calls per number, and every
    caller-ID / connected-line update its channels received."""

    def __init__(self) -> None:
        from collections import Counter

        from dialer.ami.link import AmiLink
        from dialer.sandbox import CARRIER_AMI

        host, port, user, secret = CARRIER_AMI
        self.link = AmiLink(host, port, user, secret)
        self.calls: Counter[str] = Counter()
        self.identity_updates: list[dict[str, str]] = []
        self.link.on_event("*", self._on)

    def _on(self, e: Any) -> None:
        name = str(e.get("Event", ""))
        if name == "Newchannel" and str(e.get("Exten", "")).startswith("7990000"):
            self.calls.update([f"+{e.get('Exten')}"])
        if name in ("NewCallerid", "NewConnectedLine"):
            self.identity_updates.append({k: str(v) for k, v in e.items()})

    async def __aenter__(self) -> NetworkWatch:
        self.link.start()
        await self.link.wait_up(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.link.stop()


def serve_process(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    """`dialer serve` as its own process (so a test can kill -9 it), its output appended to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "dialer", "--config", str(cfg), "serve"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run_cli(cfg: Path, *args: str) -> str:
    """A `dialer` CLI command that must succeed; its output."""
    r = subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout
