"""``dialer demo load``: a demo campaign over the simulated phone network, for `scripts/demo.sh`.

The demo campaign's calling window is all day, every day, so the demo dials whatever the time; real
campaigns use the configured window (09:00-19:00 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
from datetime import date, timedelta

from sqlalchemy import select

from dialer.agents import services as agents
from dialer.campaigns import services
from dialer.campaigns.schemas import CampaignSpec, WindowSpec
from dialer.config import WEEKDAYS, load_settings
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import AgentPresence, Application, Campaign

NAME = "demo-pickup"
OFFICES = ["МФЦ Тверской", "МФЦ Арбат", "МФЦ Басманный", "Отдел МВД Хамовники"]
SURNAMES = ["Иванов", "Петрова", "Сидоров", "Кузнецова", "Смирнов", "Попова", "Волков", "Соколова"]
# mostly people who answer and talk, some busy / unanswered / invalid numbers, as a real list has
MIX = "9912991299129139912599126991279912"


async def load(config: str | None, contacts: int, agent_count: int) -> str:
    settings = load_settings(config)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as s:
            if (await s.execute(select(Campaign).where(Campaign.name == NAME))).scalar_one_or_none():
                return f"demo campaign {NAME!r} already loaded"
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
        return f"demo campaign {NAME!r}: {report.accepted} contacts, agents 101-{100 + agent_count} ready, running"
    finally:
        await engine.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    print(asyncio.run(load(args.config, args.contacts, args.agents)))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("demo", help="load a demo campaign over the sandbox's simulated phone network")
    ds = s.add_subparsers(dest="demo_cmd", required=True, metavar="ACTION")
    x = ds.add_parser("load", help="applications, a running predictive campaign, agents 101-104 ready")
    x.add_argument("--contacts", type=int, default=60)
    x.add_argument("--agents", type=int, default=4)
    s.set_defaults(func=cmd_demo)
