"""Runs the real service (engine, FastAGI, web) in the caller's event loop against the sandbox: for the
integration tests, the benchmarks and the recorders alike (so ``bench/`` needs nothing from ``tests/``)."""

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

REPO = Path(__file__).resolve().parents[2]  # the repository (config.yaml)
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
