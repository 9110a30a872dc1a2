"""``dialer demo load``: demo campaigns over the simulated phone network, and an admin login, for
`scripts/demo.sh`.

- ``demo-pickup`` dials: its calling window is all day, every day, so the demo dials whatever the time
  (real campaigns use the configured window, 09:00-19:00 by default).
- ``demo-far-east`` waits: its window is 09:00-19:00 in a Russian time zone where it is now outside those
  hours (Russia spans UTC+2 to UTC+12, ten hours, so one zone is always closed), to show what a waiting
  campaign looks like on the dashboard.
- the admin login ``admin`` with a generated password, printed once (only its hash is stored).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import secrets
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from dialer.agents import services as agents
from dialer.campaigns import services
from dialer.campaigns.schemas import CampaignSpec, WindowSpec
from dialer.config import WEEKDAYS, load_settings
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import AgentPresence, Application, Campaign
from dialer.engine.window import CallingWindow
from dialer.web import users
from dialer.web.models import Role, User

NAME = "demo-pickup"
WAITING = "demo-far-east"
ADMIN = "admin"
# west to east: Kaliningrad UTC+2 ... Kamchatka UTC+12
RUSSIAN_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
OFFICE_HOURS = {d: "09:00-19:00" for d in WEEKDAYS}


def closed_zone(now: datetime) -> str:
    """A Russian time zone where ``now`` is outside 09:00-19:00 (the easternmost such)."""
    for tz in reversed(RUSSIAN_ZONES):
        if not CallingWindow.build(tz, OFFICE_HOURS).is_open(now):
            return tz
    raise AssertionError("Russia spans ten hours: one zone is always outside a ten-hour window")


async def ensure_admin(sessions: users.Sessions) -> str | None:
    """Create the demo's admin login with a generated password; None if there is one already (the password
    was printed when it was made and is not stored)."""
    async with sessions() as s:
        if (await s.execute(select(User).where(User.username == ADMIN))).scalar_one_or_none():
            return None
    password = secrets.token_urlsafe(12)
    await users.create_user(sessions, ADMIN, password, Role.ADMIN, actor="demo")
    return password


OFFICES = ["МФЦ Тверской", "МФЦ Арбат", "МФЦ Басманный", "Отдел МВД Хамовники"]
SURNAMES = ["Иванов", "Петрова", "Сидоров", "Кузнецова", "Смирнов", "Попова", "Волков", "Соколова"]
# mostly people who answer and talk, some busy / unanswered / invalid numbers, as a real list has
MIX = "9912991299129139912599126991279912"


async def load(config: str | None, contacts: int, agent_count: int) -> list[str]:
    """Load the demo (once); the lines to print, the admin's password among them when it was made now."""
    settings = load_settings(config)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        password = await ensure_admin(sessions)
        login = (
            [f"login: {ADMIN}", f"password: {password}"] if password else [f"login: {ADMIN} (made before)"]
        )
        async with sessions() as s:
            if (await s.execute(select(Campaign).where(Campaign.name == NAME))).scalar_one_or_none():
                return [f"demo campaigns {NAME!r} and {WAITING!r} already loaded", *login]
        rng = random.Random(505)
        rows = ["phone,application_number,name,pickup_office"]
        for i in range(contacts):
            last = MIX[i % len(MIX)]
            rows.append(
                f"+7990000{i:03d}{last},2027-{i:05d},{rng.choice(SURNAMES)} {chr(1040 + i % 30)}.,{rng.choice(OFFICES)}"
            )
        spec = CampaignSpec(
            name=NAME,
            mode="predictive",
            max_attempts=3,
            wrapup_seconds=5,
            ring_timeout=20,
            window=WindowSpec(hours={d: "00:00-24:00" for d in WEEKDAYS}),
            retry_delays={"busy": 120, "noanswer": 300, "congestion": 120, "failed": 120, "abandoned": 120},
        )
        await services.create_campaign(
            sessions, spec, actor="demo", default_tz=settings.timezone, default_caller_id=settings.caller_id
        )
        report = await services.import_contacts(
            sessions, NAME, io.BytesIO("\n".join(rows).encode()), actor="demo", region="RU"
        )
        async with sessions() as s:
            for app in (await s.execute(select(Application))).scalars():
                app.pickup_from = app.pickup_from or date.today() + timedelta(days=rng.randint(0, 5))
            await s.commit()
        for ext in range(101, 101 + agent_count):
            await agents.ensure_agent(sessions, str(ext), f"Оператор {ext}")
            await agents.set_presence(sessions, str(ext), AgentPresence.READY, actor="demo")
        await services.change_state(sessions, NAME, "start", actor="demo")
        tz = closed_zone(datetime.now(UTC))
        await services.create_campaign(
            sessions,
            CampaignSpec(
                name=WAITING, mode="progressive", timezone=tz, window=WindowSpec(hours=OFFICE_HOURS)
            ),
            actor="demo",
            default_tz=settings.timezone,
            default_caller_id=settings.caller_id,
        )
        far = "\n".join(["phone,application_number,name,pickup_office", *rows[1:11]]).replace(
            "2027-", "2028-"
        )
        await services.import_contacts(sessions, WAITING, io.BytesIO(far.encode()), actor="demo", region="RU")
        await services.change_state(sessions, WAITING, "start", actor="demo")
        return [
            f"demo campaign {NAME!r}: {report.accepted} contacts, agents 101-{100 + agent_count} ready, running",
            f"demo campaign {WAITING!r}: 10 contacts, running, waiting for 09:00 in {tz}",
            *login,
        ]
    finally:
        await engine.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    print("\n".join(asyncio.run(load(args.config, args.contacts, args.agents))))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("demo", help="load a demo campaign over the sandbox's simulated phone network")
    ds = s.add_subparsers(dest="demo_cmd", required=True, metavar="ACTION")
    x = ds.add_parser(
        "load",
        help="applications, a running predictive campaign, one waiting for its window, agents 101-104 ready, "
        "and an admin login (its generated password printed once)",
    )
    x.add_argument("--contacts", type=int, default=60)
    x.add_argument("--agents", type=int, default=4)
    s.set_defaults(func=cmd_demo)
