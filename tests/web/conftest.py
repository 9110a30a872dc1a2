"""The real Service (its aiohttp app, database and bus) on each test database, served on a local port;
Asterisk is not needed (the AMI port is dead, and the service stays up). Users: admin ``boss`` and agent
``anna`` on extension 101, each with a bearer token."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from dialer.config import load_settings
from dialer.db.models import Agent, Application, CallAttempt, Campaign, Contact
from dialer.service import Service
from dialer.web import users
from dialer.web.app import runner_options
from dialer.web.models import Role

REPO = Path(__file__).resolve().parents[2]
ADMIN_PW = "boss-password-1"
AGENT_PW = "anna-password-1"


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Web:
    service: Service
    client: TestClient[Any, Any]
    admin_token: str
    agent_token: str
    other_agent_token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def call(self, token: str | None, method: str, path: str, **kw: Any) -> ClientResponse:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return await self.client.request(method, "/api/v1" + path, headers=headers, **kw)

    async def admin(self, method: str, path: str, **kw: Any) -> ClientResponse:
        return await self.call(self.admin_token, method, path, **kw)

    async def agent(self, method: str, path: str, **kw: Any) -> ClientResponse:
        return await self.call(self.agent_token, method, path, **kw)


def make_service(db_url: str, data_dir: Path) -> Service:
    settings = load_settings(
        REPO / "config.yaml",
        database={"url": db_url},
        data_dir=data_dir,
        ami={"port": dead_port(), "secret": "x", "reconnect_max": 1.0},
    )
    return Service(settings)


async def seed_users(service: Service) -> tuple[str, str, str]:
    ss = service.sessions
    await users.create_user(ss, "boss", ADMIN_PW, Role.ADMIN, actor="test")
    await users.create_user(
        ss, "anna", AGENT_PW, Role.AGENT, actor="test", extension="101", agent_name="Anna"
    )
    await users.create_user(
        ss, "boris", AGENT_PW, Role.AGENT, actor="test", extension="102", agent_name="Boris"
    )
    return (
        await users.create_token(ss, "boss", actor="test"),
        await users.create_token(ss, "anna", actor="test"),
        await users.create_token(ss, "boris", actor="test"),
    )


@pytest.fixture
async def web(db_url: str, tmp_path: Path) -> AsyncIterator[Web]:
    service = make_service(db_url, tmp_path)
    tokens = await seed_users(service)
    server = TestServer(service.app, host="127.0.0.1")
    await server.start_server(**runner_options(service.settings))  # as `dialer serve` runs it
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    try:
        yield Web(service, client, *tokens)
    finally:
        await client.close()
        await service.engine.dispose()


async def seed_call(
    service: Service,
    *,
    campaign: str = "spring",
    extension: str = "101",
    number: str = "A-1",
    phone: str = "+79161234567",
    outcome: str | None = "connected",
    at: datetime | None = None,
) -> dict[str, int]:
    """A campaign (created if new), an application, a contact and one bridged call to an agent: what the
    engine leaves in the database when it connects a call."""
    from sqlalchemy import select

    at = at or datetime.now(UTC)
    async with service.sessions() as s:
        camp = (await s.execute(select(Campaign).where(Campaign.name == campaign))).scalar_one_or_none()
        if camp is None:
            camp = Campaign(name=campaign, state="running")
            s.add(camp)
        app = (await s.execute(select(Application).where(Application.number == number))).scalar_one_or_none()
        if app is None:
            app = Application(
                number=number,
                applicant_name="Иванов Иван",
                phone=phone,
                status="ready",
                pickup_office="МФЦ Тверской",
            )
            s.add(app)
        agent = (await s.execute(select(Agent).where(Agent.extension == extension))).scalar_one()
        await s.flush()
        contact = Contact(
            campaign_id=camp.id, application_id=app.id, phone=phone, state="dialing", attempts=1
        )
        s.add(contact)
        await s.flush()
        attempt = CallAttempt(
            campaign_id=camp.id,
            contact_id=contact.id,
            phone=phone,
            action_id=f"t-{contact.id}-{at.timestamp()}",
            agent_id=agent.id,
            state="bridged",
            outcome=outcome,
            created_at=at,
            originated_at=at,
            answered_at=at,
            bridged_at=at,
            talk_seconds=42.0,
        )
        s.add(attempt)
        await s.commit()
        return {
            "campaign_id": camp.id,
            "contact_id": contact.id,
            "attempt_id": attempt.id,
            "agent_id": agent.id,
        }
