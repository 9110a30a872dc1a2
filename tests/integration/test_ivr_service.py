"""The IVR inside the real service (``dialer serve``'s Service, no Asterisk needed): a FastAGI call over the
wire keys the digits of a dashed number; the limit is seeded from the audit log when the service starts;
the audit rows written behind the calls are all in the database after a clean stop."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from dialer.config import load_settings
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Application, AuditLog
from dialer.ivr.lookup import LOOKUP
from dialer.service import Service
from tests.unit.test_ivr_fastagi import asterisk, converse

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_service_ivr_finds_by_digits_seeds_the_limit_and_flushes_on_stop(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        s.add(Application(number="2027-00010", applicant_name="Иванов", status="ready"))
        for minutes in range(5):  # this caller already had 5 unknown numbers in the last 10 minutes
            s.add(
                AuditLog(
                    actor="ivr",
                    action=LOOKUP,
                    target="+79160000099",
                    at=datetime.now(UTC) - timedelta(minutes=minutes),
                    details={"app_number": "5555555555", "status": "not_found"},
                )
            )
        await s.commit()
    agi = _free_port()
    settings = load_settings(
        REPO / "config.yaml",
        data_dir=tmp_path,
        database={"url": db_url},
        fastagi={"bind": f"127.0.0.1:{agi}"},
        http={"bind": f"127.0.0.1:{_free_port()}"},
        ami={"port": _free_port(), "reconnect_max": 0.5},
    )
    service = Service(settings)
    await service.start()
    try:
        reply = asterisk({"ivr/enter-number": "202700010", "ivr/menu": ""})
        found = await converse(agi, reply, caller="+79160000001")
        limited = await converse(agi, reply, caller="89160000099")  # the same line, as carriers send it
    finally:
        await service.stop()
    assert 'SET VARIABLE APP_NUMBER "2027-00010"' in found and 'SET VARIABLE APP_STATUS "ready"' in found
    assert 'SET VARIABLE APP_STATUS "limited"' in limited  # the restart forgot nobody
    async with sessions() as s:
        rows = list(
            (await s.execute(select(AuditLog).where(AuditLog.actor == "ivr").order_by(AuditLog.id))).scalars()
        )
    await engine.dispose()
    written = [(r.action, r.target, r.details.get("status") or r.details.get("app_status")) for r in rows[5:]]
    assert sorted(written) == sorted(
        [
            ("ivr.lookup", "+79160000001", "ready"),
            ("ivr.call", "+79160000001", "ready"),
            ("ivr.lookup", "+79160000099", "limited"),
            ("ivr.call", "+79160000099", "limited"),
        ]
    )
