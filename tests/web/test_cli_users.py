"""``dialer user create-agent EXTENSION LOGIN``: the login is not the agent's displayed name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dialer.agents import services as agents
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.web import users

REPO = Path(__file__).resolve().parents[2]


def _dialer(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALER_DATABASE__URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


async def _names(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    try:
        return {a.extension: a.name for a in await agents.list_agents(make_sessionmaker(engine))}
    finally:
        await engine.dispose()


async def test_a_login_for_an_agent_keeps_the_agents_name(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        await agents.ensure_agent(make_sessionmaker(engine), "101", "Иванова Анна")
    finally:
        await engine.dispose()
    pw = tmp_path / "pw"
    pw.write_text("agent-secret-1\n")
    r = _dialer(db_url, "user", "create-agent", "101", "ivanova", "--password-file", str(pw))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "agent user 'ivanova' created for extension 101"
    r = _dialer(
        db_url,
        "user",
        "create-agent",
        "102",
        "petrov",
        "--display-name",
        "Петров П.",
        "--password-file",
        str(pw),
    )
    assert r.returncode == 0, r.stderr
    r = _dialer(db_url, "user", "create-agent", "103", "sidorov", "--password-file", str(pw))
    assert r.returncode == 0, r.stderr
    assert await _names(db_url) == {"101": "Иванова Анна", "102": "Петров П.", "103": "Agent 103"}
    engine = make_engine(db_url)
    try:
        ident = await users.authenticate(make_sessionmaker(engine), "ivanova", "agent-secret-1")
        assert ident is not None
    finally:
        await engine.dispose()
    listed = _dialer(db_url, "user", "list").stdout
    assert "ivanova\tagent\t101" in listed and "petrov\tagent\t102" in listed
