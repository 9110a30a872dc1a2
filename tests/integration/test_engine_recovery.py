"""Killing the service mid-campaign and starting it again loses nothing and dials nothing twice."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dialer.ami.link import AmiLink
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import CallAttempt, Campaign, Contact, InflightNumber
from dialer.sandbox import CARRIER_AMI
from tests.integration.engine_harness import ALL_DAY, free_port, run_cli, serve_process, sim

pytestmark = pytest.mark.asterisk


async def test_killing_the_service_mid_campaign_loses_and_repeats_nothing(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        json.dumps(
            {
                "data_dir": str(tmp_path),
                "database": {"url": db_url},
                "ami": {"secret": "dialer-sandbox-secret"},
                "http": {"bind": f"127.0.0.1:{free_port()}"},
                "calling_window": {"hours": ALL_DAY, "holidays": []},
                "call_records": {"url": sandbox.settings.call_records.url.get_secret_value()},
            }
        )
    )
    phones = [sim(d, 600 + i) for i, d in enumerate("9191919191")]
    csv = tmp_path / "c.csv"
    csv.write_text(
        "phone,application_number,name\n" + "".join(f"{p},R-{i},Person {i}\n" for i, p in enumerate(phones))
    )
    run_cli(
        cfg,
        "campaign",
        "create",
        "crash",
        "--contacts",
        str(csv),
        "--mode",
        "progressive",
        "--max-attempts",
        "1",
        "--wrapup-seconds",
        "0",
    )
    run_cli(cfg, "agent", "login", "101", "102", "103", "104")
    run_cli(cfg, "campaign", "start", "crash")

    # count what the phone network really receives, per number
    host, port, user, secret = CARRIER_AMI
    network = AmiLink(host, port, user, secret)
    received: Counter[str] = Counter()
    network.on_event(
        "Newchannel",
        lambda e: (
            received.update([str(e.get("Exten"))]) if str(e.get("Exten", "")).startswith("7990000") else None
        ),
    )
    network.start()
    await network.wait_up(10)

    log = tmp_path / "serve.log"
    p = serve_process(cfg, log)
    try:
        # wait until calls are in flight, some answered and talking to agents
        deadline = time.monotonic() + 30
        while sum(received.values()) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3.5)
        assert sum(received.values()) >= 4, log.read_text()
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        await asyncio.sleep(1)
        p = serve_process(cfg, log)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        deadline = time.monotonic() + 150
        state = ""
        while time.monotonic() < deadline:
            async with sessions() as s:
                state = (await s.execute(select(Campaign.state).where(Campaign.name == "crash"))).scalar_one()
            if state == "completed":
                break
            await asyncio.sleep(0.5)
        assert state == "completed", log.read_text()[-3000:]
        async with sessions() as s:
            attempts = list((await s.execute(select(CallAttempt))).scalars())
            contacts = list((await s.execute(select(Contact))).scalars())
            inflight = list((await s.execute(select(InflightNumber))).scalars())
        await engine.dispose()
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(40)
        except subprocess.TimeoutExpired:
            p.kill()
        await network.stop()
    out = log.read_text()
    assert "was in flight when the service stopped" in out or "still on the line" in out, out[-3000:]
    # nothing lost: every contact was tried once and every attempt has an end and an outcome
    assert sorted(c.phone for c in contacts) == sorted(phones)
    assert all(c.attempts == 1 and c.state in ("done", "exhausted") for c in contacts), [
        (c.phone, c.state, c.attempts) for c in contacts
    ]
    assert len(attempts) == len(phones)
    assert all(a.ended_at is not None and a.outcome for a in attempts)
    assert inflight == []
    # nothing dialled twice: the network saw exactly one call per number
    assert {f"+{k}": v for k, v in received.items()} == dict.fromkeys(phones, 1)
