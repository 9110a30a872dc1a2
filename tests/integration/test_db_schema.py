"""The schema on SQLite and PostgreSQL: migrations up and down, no drift, and an index-backed hopper query."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import (
    Application,
    CallAttempt,
    Campaign,
    Contact,
    ContactState,
    InflightNumber,
)

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "applications",
    "campaigns",
    "contacts",
    "call_attempts",
    "inflight_numbers",
    "agents",
    "agent_campaigns",
    "dispositions",
    "do_not_call",
    "audit_log",
    "users",
    "web_sessions",
    "api_tokens",
    "offices",
    "slot_counters",
    "appointments",
}


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DIALER_DATABASE__URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), "db", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_cli_upgrade_check_downgrade_on_an_empty_database(empty_db_url: str) -> None:
    r = _cli(empty_db_url, "upgrade")
    assert r.returncode == 0, r.stderr
    assert "upgraded to head" in r.stdout
    assert "dialer-test-pw" not in r.stdout + r.stderr  # the password never printed
    assert await _tables(empty_db_url) == TABLES
    r = _cli(empty_db_url, "check")
    assert r.returncode == 0, r.stderr + r.stdout
    r = _cli(empty_db_url, "downgrade", "base")
    assert r.returncode == 0, r.stderr
    assert await _tables(empty_db_url) == set()
    r = _cli(empty_db_url, "upgrade")
    assert r.returncode == 0 and await _tables(empty_db_url) == TABLES


async def test_timestamps_come_back_as_utc_and_constraints_hold(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    moscow_noon = datetime(2027, 3, 1, 12, 0, tzinfo=UTC) + timedelta(hours=0)
    async with sessions() as s:
        camp = Campaign(name="c1")
        s.add(camp)
        app = Application(number="A-1", applicant_name="Иванов И.И.", phone="+79900001231", status="ready")
        s.add(app)
        await s.flush()
        s.add(
            Contact(
                campaign_id=camp.id, application_id=app.id, phone="+79900001231", next_attempt_at=moscow_noon
            )
        )
        await s.commit()
    async with sessions() as s:
        c = (await s.execute(select(Contact))).scalar_one()
        assert c.next_attempt_at == moscow_noon and c.next_attempt_at.tzinfo is not None
        assert c.state == ContactState.PENDING and c.attempts == 0
    # the same number twice in one campaign for one application is a duplicate
    async with sessions() as s:
        s.add(Contact(campaign_id=camp.id, application_id=app.id, phone="+79900001231"))
        with pytest.raises(IntegrityError):
            await s.commit()
    # application numbers are unique
    async with sessions() as s:
        s.add(Application(number="A-1", applicant_name="x"))
        with pytest.raises(IntegrityError):
            await s.commit()
    # one in-flight call per number, across campaigns, enforced by the database
    async with sessions() as s:
        a1 = CallAttempt(phone="+79900001231", action_id="a1")
        a2 = CallAttempt(phone="+79900001231", action_id="a2")
        s.add_all([a1, a2])
        await s.flush()
        s.add(InflightNumber(phone="+79900001231", attempt_id=a1.id))
        await s.commit()
        s.add(InflightNumber(phone="+79900001231", attempt_id=a2.id))
        with pytest.raises(IntegrityError):
            await s.commit()
    await engine.dispose()


async def test_next_due_contacts_query_uses_the_due_index(db_url: str) -> None:
    """With many contacts, "next N due in campaign X" must be an index range scan, not a table scan."""
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    async with sessions() as s:
        camps = [Campaign(name=f"c{i}") for i in range(3)]
        s.add_all(camps)
        await s.flush()
        rows = [
            {
                "campaign_id": camps[i % 3].id,
                "phone": f"+7990{i:07d}",
                "state": "pending" if i % 4 else "done",
                "priority": 5,
                "attempts": 0,
                "needs_reserved_agent": False,
                "next_attempt_at": now + timedelta(minutes=i % 50 - 25),
                "created_at": now,
            }
            for i in range(20000)
        ]
        await s.execute(Contact.__table__.insert(), rows)
        await s.commit()
    q = (
        select(Contact.id)
        .where(Contact.campaign_id == camps[1].id, Contact.state == "pending", Contact.next_attempt_at <= now)
        .order_by(Contact.priority, Contact.next_attempt_at)
        .limit(50)
    )
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE contacts"))
        ts = "2027-03-01 09:00:00.000000" if conn.dialect.name == "sqlite" else "2027-03-01 09:00:00+00"
        sql = (
            f"SELECT id FROM contacts WHERE campaign_id = {camps[1].id} AND state = 'pending' "
            f"AND next_attempt_at <= '{ts}' ORDER BY priority, next_attempt_at LIMIT 50"
        )
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        plan = "\n".join(
            " ".join(str(c) for c in row) for row in (await conn.execute(text(prefix + sql))).all()
        )
        got = (await conn.execute(q)).scalars().all()
        total_due = (
            await conn.execute(
                select(func.count())
                .select_from(Contact)
                .where(
                    Contact.campaign_id == camps[1].id,
                    Contact.state == "pending",
                    Contact.next_attempt_at <= now,
                )
            )
        ).scalar_one()
    await engine.dispose()
    assert "ix_contacts_due" in plan, plan
    assert "SCAN contacts" not in plan and "Seq Scan" not in plan, plan
    assert len(got) == 50 and total_due > 50


def test_alembic_check_finds_no_drift(db_url: str) -> None:
    migrate.check(db_url)
