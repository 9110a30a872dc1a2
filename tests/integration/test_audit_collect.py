"""``dialer audit`` reading both sides for real: a CDR file as cdr_sqlite3_custom writes it and the service's
database (SQLite and PostgreSQL), each breach reported once with its attempt and channel."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dialer.audit.collect import run_audit
from dialer.config import load_settings
from dialer.db.models import Agent, CallAttempt, Campaign, Contact, DoNotCall, InflightNumber
from tests.conftest import REPO

NOW = datetime.now(UTC).replace(microsecond=0)


def cdr_file(path: Path, rows: list[tuple[Any, ...]]) -> str:
    with sqlite3.connect(path) as c:
        c.execute(
            "CREATE TABLE cdr (AcctId INTEGER PRIMARY KEY, start, answer, end, src, dst, dcontext, channel, "
            "dstchannel, lastapp, lastdata, duration, billsec, disposition, uniqueid, linkedid, userfield)"
        )
        c.executemany(
            "INSERT INTO cdr (start, answer, end, channel, dstchannel, lastapp, billsec, disposition, uniqueid, "
            "linkedid, userfield) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    return f"sqlite:///{path}"


def ts(seconds_ago: float) -> str:
    """As cdr_sqlite3_custom writes it: local time of the PBX (UTC in the sandbox), to the second."""
    return (NOW - timedelta(seconds=seconds_ago)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


async def test_the_audit_reads_records_and_database_and_names_each_breach(
    db_sessions: Any, db_url: str, tmp_path: Path
) -> None:
    sessions = db_sessions
    url = cdr_file(
        tmp_path / "master.db",
        [
            # attempt 1: connected to 101, as the service says
            (
                ts(600),
                ts(598),
                ts(580),
                "PJSIP/carrier-1",
                "PJSIP/101-2",
                "Dial",
                18,
                "ANSWERED",
                "dlr-a",
                "dlr-a",
                "connect",
            ),
            # attempt 2: the service says connected, Asterisk says busy
            (ts(500), "", ts(495), "PJSIP/carrier-3", "", "AppDial2", 0, "BUSY", "dlr-b", "dlr-b", ""),
            # no attempt at all
            (
                ts(400),
                "",
                ts(390),
                "PJSIP/carrier-4",
                "",
                "AppDial2",
                0,
                "NO ANSWER",
                "dlr-ghost",
                "dlr-ghost",
                "",
            ),
            # long before --since: not read
            (
                ts(90000),
                "",
                ts(89990),
                "PJSIP/carrier-5",
                "",
                "AppDial2",
                0,
                "BUSY",
                "dlr-old",
                "dlr-old",
                "",
            ),
        ],
    )
    async with sessions() as s:
        camp = Campaign(
            name="audit",
            state="running",
            window={"hours": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}},
        )
        agent = Agent(extension="101")
        s.add_all([camp, agent])
        await s.flush()
        contacts = [
            Contact(campaign_id=camp.id, phone=f"+7990000000{i}1", state="done", attempts=1) for i in range(4)
        ]
        contacts[3].state = "dialing"  # with no open attempt: stuck
        s.add_all(contacts)
        await s.flush()

        def attempt(n: int, key: str, outcome: str | None, ago: float, **kw: Any) -> CallAttempt:
            return CallAttempt(
                campaign_id=camp.id,
                contact_id=contacts[n].id,
                phone=contacts[n].phone,
                action_id=key,
                uniqueid=key,
                state="ended" if outcome else "sent",
                outcome=outcome,
                originated_at=NOW - timedelta(seconds=ago),
                ended_at=NOW - timedelta(seconds=ago - 20) if outcome else None,
                **kw,
            )

        a1 = attempt(0, "dlr-a", "connected", 600, agent_id=agent.id)
        a2 = attempt(1, "dlr-b", "connected", 500, agent_id=agent.id)
        a3 = attempt(2, "dlr-lost", "noanswer", 300)
        s.add_all([a1, a2, a3])
        await s.flush()
        s.add(InflightNumber(phone=contacts[0].phone, attempt_id=a1.id))  # a1 ended: its claim is stuck
        s.add(DoNotCall(phone=contacts[1].phone, added_at=NOW - timedelta(days=1)))
        await s.commit()
        ids = (a1.id, a2.id, a3.id)

    settings = load_settings(
        REPO / "config.yaml", data_dir=tmp_path, database={"url": db_url}, call_records={"url": url}
    )
    report = await run_audit(settings, NOW - timedelta(hours=1), campaign="audit")
    got = sorted(((a.kind, a.attempt_id, a.channel) for a in report.anomalies), key=str)
    assert got == sorted(
        [
            ("call_without_attempt", None, "dlr-ghost"),
            ("outcome_mismatch", ids[1], "dlr-b"),
            ("do_not_call", ids[1], "dlr-b"),
            ("attempt_not_placed", ids[2], "dlr-lost"),
            ("stuck_in_flight", None, None),
            ("stuck_in_flight", ids[0], "dlr-a"),
        ],
        key=str,
    )
    assert report.calls["placed"] == 3 and report.calls["connected"] == 1
