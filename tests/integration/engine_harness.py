"""Runs the real service (engine, FastAGI, web) in the test's event loop against the sandbox."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dialer.agents import services as agents
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import CampaignSpec
from dialer.config import WEEKDAYS, load_settings
from dialer.db.models import AgentPresence, CallAttempt, Contact
from dialer.service import Service

REPO = Path(__file__).resolve().parents[2]
ALL_DAY = {d: "00:00-24:00" for d in WEEKDAYS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Harness:
    def __init__(self, db_url: str, tmp: Path, *, window: dict[str, str] | None = None, **over: Any) -> None:
        self.settings = load_settings(
            REPO / "config.yaml",
            data_dir=tmp,
            database={"url": db_url},
            http={"bind": f"127.0.0.1:{free_port()}"},
            calling_window={"hours": window or ALL_DAY, "holidays": []},
            **over,
        )
        self.svc = Service(self.settings)
        self.sessions = self.svc.sessions

    async def __aenter__(self) -> Harness:
        await self.svc.start()
        await self.wait(lambda: self.svc.dialer.reconciled, 20, "engine reconciled with Asterisk")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.svc.stop()

    def use_clock(self, clock: Callable[[], datetime]) -> None:
        self.svc.dialer.clock = clock

    @staticmethod
    async def wait(pred: Callable[[], Any], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = pred()
            if asyncio.iscoroutine(r):
                r = await r
            if r:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {what}")
            await asyncio.sleep(0.2)

    async def campaign(self, name: str, phones: list[str], **spec: Any) -> None:
        await campaigns.create_campaign(
            self.sessions,
            CampaignSpec(name=name, **spec),
            actor="test",
            default_tz="Europe/Moscow",
            default_caller_id="505",
        )
        rows = "phone,application_number,name\n" + "".join(
            f"{p},{name}-{i},Заявитель {i}\n" for i, p in enumerate(phones)
        )
        report = await campaigns.import_contacts(self.sessions, name, io.BytesIO(rows.encode()), actor="test")
        assert report.accepted == len(phones), report

    async def agents(self, *exts: str) -> None:
        for e in exts:
            await agents.ensure_agent(self.sessions, e)
            await agents.set_presence(self.sessions, e, AgentPresence.READY, actor="test")

    async def state(self, name: str, action: str) -> None:
        await campaigns.change_state(self.sessions, name, action, actor="test")

    async def status(self, name: str) -> Any:
        return await campaigns.campaign_status(self.sessions, name, now=datetime.now(UTC))

    async def attempts(self) -> list[CallAttempt]:
        async with self.sessions() as s:
            return list((await s.execute(select(CallAttempt).order_by(CallAttempt.id))).scalars())

    async def contacts(self) -> list[Contact]:
        async with self.sessions() as s:
            return list((await s.execute(select(Contact).order_by(Contact.id))).scalars())

    async def completed(self, name: str) -> bool:
        return bool((await self.status(name)).state == "completed")


def sim(last: str, n: int = 0) -> str:
    """A simulated number whose last digit decides its behaviour (see the README)."""
    return f"+7990000{n:03d}{last}"


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

    url = settings.call_records.url.get_secret_value()
    reader = CdrReader(url, settings.call_records.table)
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
