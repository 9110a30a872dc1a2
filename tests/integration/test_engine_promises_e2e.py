"""The engine's promises on the real sandbox, judged from outside: the simulated network's own events
(calls per number, identity shown to the person called) and the PBX's own call records (CDR). Expected
outcomes come from the sandbox's numbering table (README): last digit 1 answers after 2 s and talks 8 s,
2 talks 30 s."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dialer.callrecords.fate import fate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Agent, CallAttempt, Campaign, Contact
from dialer.engine.outcomes import Outcome
from tests.integration.engine_harness import (
    ALL_DAY,
    Harness,
    NetworkWatch,
    free_port,
    pbx_records,
    run_cli,
    seed_answered_today,
    serve_process,
    sim,
)

pytestmark = pytest.mark.asterisk

FAST_RETRY = {"busy": 1, "noanswer": 1, "congestion": 1, "failed": 1, "abandoned": 1, "machine": 1}


async def test_a_crash_during_a_connected_call_never_gets_the_person_called_again(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    """kill -9 while the customer talks to agent 101; the call ends while the service is down; on restart
    the service learns from Asterisk's record that the call was connected and never dials the number again,
    although the contact had attempts left and every retry delay is one second."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        json.dumps(
            {
                "data_dir": str(tmp_path),
                "database": {"url": db_url},
                "ami": {"secret": "dialer-sandbox-secret"},
                "http": {"bind": f"127.0.0.1:{free_port()}"},
                "fastagi": {"bind": "127.0.0.1:4573"},  # where the dialplan reaches the service
                "calling_window": {"hours": ALL_DAY, "holidays": []},
                "call_records": {"url": sandbox.settings.call_records.url.get_secret_value()},
            }
        )
    )
    phone = sim("2", 700)  # answers after 2 s, talks 30 s
    csv = tmp_path / "c.csv"
    csv.write_text(f"phone,application_number,name\n{phone},K-1,Person\n")
    run_cli(
        cfg,
        "campaign",
        "create",
        "crash-talk",
        "--contacts",
        str(csv),
        "--mode",
        "progressive",
        "--max-attempts",
        "3",
        "--wrapup-seconds",
        "0",
    )
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        camp = (await s.execute(select(Campaign).where(Campaign.name == "crash-talk"))).scalar_one()
        camp.retry_delays = FAST_RETRY
        await s.commit()
    run_cli(cfg, "agent", "login", "101")
    run_cli(cfg, "campaign", "start", "crash-talk")
    log = tmp_path / "serve.log"
    async with NetworkWatch() as network:
        p = serve_process(cfg, log)
        try:
            deadline = time.monotonic() + 40
            bridged = None
            while bridged is None and time.monotonic() < deadline:
                async with sessions() as s:
                    bridged = (
                        await s.execute(select(CallAttempt).where(CallAttempt.state == "bridged"))
                    ).scalar_one_or_none()
                await asyncio.sleep(0.2)
            assert bridged is not None, log.read_text()[-3000:]
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            # the person talks on to the end of the call while the service is down
            records: dict[str, list[Any]] = {}
            deadline = time.monotonic() + 60
            while not records and time.monotonic() < deadline:
                records = await pbx_records(sandbox.settings, [bridged.uniqueid or ""])
                await asyncio.sleep(0.5)
            assert records, "Asterisk wrote no record of the call"
            p = serve_process(cfg, log)
            deadline = time.monotonic() + 60
            state = ""
            while state != "completed" and time.monotonic() < deadline:
                async with sessions() as s:
                    state = (
                        await s.execute(select(Campaign.state).where(Campaign.name == "crash-talk"))
                    ).scalar_one()
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # a wrong retry would be dialled within a second or two
            assert state == "completed", log.read_text()[-3000:]
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()
        assert network.calls == {phone: 1}, network.calls
    async with sessions() as s:
        attempts = list((await s.execute(select(CallAttempt))).scalars())
        contact = (await s.execute(select(Contact))).scalar_one()
        agent101 = (await s.execute(select(Agent.id).where(Agent.extension == "101"))).scalar_one()
    await engine.dispose()
    assert len(attempts) == 1
    a = attempts[0]
    assert a.outcome == "connected" and a.agent_id == agent101 and a.bridged_at is not None
    assert contact.state == "done" and contact.attempts == 1
    assert "Asterisk's record" in log.read_text()


async def test_ratio_mode_holds_the_abandon_cap_from_the_first_call_and_the_customer_sees_505(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    """Ratio 5 with one agent abandoned 32 of 40 calls; a day with no answered call yet can't afford a
    single abandon, so the calls go one at a time and every answered call reaches the agent. On the
    network the person called keeps seeing 505: no update carries the agent's name or extension."""
    phones = [sim("1", 710 + i) for i in range(4)]
    async with NetworkWatch() as network, Harness(db_url, tmp_path) as h:
        await h.agents("101")
        await h.campaign("ratio-day", phones, mode="ratio", ratio=5.0, max_attempts=1, wrapup_seconds=0)
        await h.state("ratio-day", "start")
        await h.wait(lambda: h.completed("ratio-day"), 120, "campaign completed")
        attempts = await h.attempts()
    assert sorted(a.outcome or "" for a in attempts) == ["connected"] * 4
    records = await pbx_records(h.settings, [a.uniqueid or "" for a in attempts])
    verdicts = {k: fate(k, rows) for k, rows in records.items()}
    assert {k: v.outcome if v else None for k, v in verdicts.items()} == {
        a.uniqueid: Outcome.CONNECTED for a in attempts
    }
    assert network.calls == dict.fromkeys(phones, 1)
    leaked = [
        u
        for u in network.identity_updates
        if "101" in (u.get("ConnectedLineNum", "") + u.get("CallerIDNum", ""))
        or "Agent" in (u.get("ConnectedLineName", "") + u.get("CallerIDName", ""))
    ]
    assert leaked == [], leaked


async def test_the_abandon_message_promises_a_call_back_only_when_there_will_be_one(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    """A day with 300 connected calls can afford a few abandons; ratio 3 with one agent abandons two of
    three calls. With no attempt left the message doesn't promise a call back; with one left it does (the
    PBX's record names the message played)."""
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101")
        await h.campaign(
            "last-try",
            [sim("1", 720 + i) for i in range(3)],
            mode="ratio",
            ratio=3.0,
            max_attempts=1,
            wrapup_seconds=0,
        )
        await seed_answered_today(h.sessions, "last-try", 300)
        await h.state("last-try", "start")
        await h.wait(lambda: h.completed("last-try"), 60, "campaign completed")
        final = [a for a in await h.attempts() if a.outcome == "abandoned"]
        await h.campaign(
            "again",
            [sim("1", 730 + i) for i in range(3)],
            mode="ratio",
            ratio=3.0,
            max_attempts=2,
            wrapup_seconds=0,
        )
        await seed_answered_today(h.sessions, "again", 300)
        await h.state("again", "start")

        final_ids = {a.id for a in final}

        async def second_campaign() -> list[CallAttempt]:
            return [a for a in await h.attempts() if a.id not in final_ids and a.action_id.startswith("dlr-")]

        async def ended() -> bool:
            return sum(a.ended_at is not None for a in await second_campaign()) >= 3

        await h.wait(ended, 60, "the second campaign's three calls ended")
        promised = [a for a in await second_campaign() if a.outcome == "abandoned"]
        contacts = await h.contacts()
    assert len(final) == 2 and len(promised) == 2
    records = await pbx_records(h.settings, [a.uniqueid or "" for a in final + promised])
    said = {k: {r.userfield for r in rows} for k, rows in records.items()}
    assert all(said[a.uniqueid or ""] >= {"abandon-final"} for a in final), said
    assert all("abandon" in said[a.uniqueid or ""] for a in promised), said
    by_phone = {c.phone: c for c in contacts}
    assert all(by_phone[a.phone].state == "exhausted" for a in final)
    assert all(by_phone[a.phone].state == "pending" for a in promised)
