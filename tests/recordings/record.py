"""Record real AMI event sequences from the sandbox for the replay tests (cacofonisk-style).

Run as root with the sandbox free:  .venv/bin/python -m tests.recordings.record
It starts the sandbox, runs the service on a throw-away SQLite database through a campaign covering every
simulated outcome (and two abandoned calls), and writes ``outbound.jsonl`` (every AMI event, in order) and
``outbound.expected.json`` (attempt key -> phone and the outcome the live engine recorded).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from dialer.config import load_settings
from dialer.sandbox import Sandbox
from dialer.sandbox.lock import exclusive
from tests.integration.engine_harness import REPO, Harness, sim

HERE = Path(__file__).resolve().parent


async def run(tmp: Path) -> None:
    events = HERE / "outbound.jsonl"
    events.unlink(missing_ok=True)
    os.environ["DIALER_RECORD_EVENTS"] = str(events)
    async with Harness(f"sqlite+aiosqlite:///{tmp / 'rec.db'}", tmp) as h:
        await h.agents("101", "102")
        await h.campaign(
            "rec",
            [sim(d, 700) for d in "1234567890"],
            mode="progressive",
            max_attempts=1,
            ring_timeout=15,
            wrapup_seconds=0,
        )
        await h.campaign(
            "rec-abandon", [sim("1", 710 + i) for i in range(3)], mode="ratio", ratio=3.0, max_attempts=1
        )
        await h.state("rec", "start")
        await h.wait(lambda: h.completed("rec") if not h.svc.dialer.calls else False, 120, "first campaign")
        await h.agents("101")
        async with h.sessions() as s:
            from sqlalchemy import update

            from dialer.db.models import Agent

            await s.execute(update(Agent).where(Agent.extension == "102").values(presence="logged_out"))
            await s.commit()
        await asyncio.sleep(1.5)
        await h.state("rec-abandon", "start")
        await h.wait(lambda: h.completed("rec-abandon"), 60, "abandon campaign")
        expected = {a.action_id: {"phone": a.phone, "outcome": a.outcome} for a in await h.attempts()}
    (HERE / "outbound.expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


def main() -> None:
    settings = load_settings(REPO / "config.yaml")
    with exclusive(settings.sandbox.root):
        sb = Sandbox(settings)
        sb.up()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                asyncio.run(run(Path(tmp)))
        finally:
            sb.down()


if __name__ == "__main__":
    main()
