"""No agent is stranded in "ringing": a claim whose caller vanishes before the agent's phone rings is given
back, by the service itself, even with Asterisk unreachable (nothing else would ever free it)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from dialer.agents import services as agents
from dialer.config import load_settings
from dialer.db.models import Agent, AgentPresence
from dialer.engine.agents import CLAIM_MARGIN
from dialer.service import Service
from tests.integration.engine_harness import REPO, free_port


async def _agent_state(svc: Service, ext: str) -> str:
    async with svc.sessions() as s:
        return str((await s.execute(select(Agent.state).where(Agent.extension == ext))).scalar_one())


async def _wait_state(svc: Service, ext: str, state: str, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if await _agent_state(svc, ext) == state:
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent {ext} not {state} within {timeout} s (is {await _agent_state(svc, ext)})")


async def test_an_operator_claim_whose_caller_vanishes_is_given_back_without_asterisk(
    db_url: str, tmp_path: Path
) -> None:
    agi_port = free_port()
    settings = load_settings(
        REPO / "config.yaml",
        data_dir=tmp_path,
        database={"url": db_url},
        http={"bind": f"127.0.0.1:{free_port()}"},
        fastagi={"bind": f"127.0.0.1:{agi_port}"},
        ami={"port": free_port(), "reconnect_max": 0.5},  # nobody listens: Asterisk is unreachable
    )
    svc = Service(settings)
    await svc.start()
    try:
        await agents.ensure_agent(svc.sessions, "101")
        await agents.set_presence(svc.sessions, "101", AgentPresence.READY, actor="t")
        await _wait_state(svc, "101", "ready", 10)
        reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
        env = {
            "agi_network": "yes",
            "agi_request": f"agi://127.0.0.1:{agi_port}/inbound",
            "agi_channel": "PJSIP/carrier-00000009",
            "agi_uniqueid": "1700000000.99",
            "agi_callerid": "79161110000",
        }
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        got = ""
        while "AGENT_EXTEN" not in got:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode()
            assert line, "the route hung up before handing an agent"
            got = line
            writer.write(b"200 result=0\n" if line.startswith("GET VARIABLE") else b"200 result=1\n")
            await writer.drain()
        assert '"101"' in got
        writer.close()  # the caller is gone before the dialplan could ring the agent
        await _wait_state(svc, "101", "ringing", 5)
        waited = await _wait_state(svc, "101", "ready", CLAIM_MARGIN + 5)
        assert waited <= CLAIM_MARGIN + 3
        # and stopping the service does not wait for the vanished caller
        t0 = time.monotonic()
    finally:
        await svc.stop()
    assert time.monotonic() - t0 < 10
