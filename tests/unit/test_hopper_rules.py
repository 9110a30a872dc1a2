"""Whom the hopper may call, over random contact histories (hypothesis, on a real SQLite database):
never a do-not-call number, never over the attempt limit, never before it is due, never a number that
already has a call in flight (in any campaign), never the same number twice at once."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Base, CallAttempt, Campaign, Contact, DoNotCall, InflightNumber
from dialer.engine import runtime, store
from dialer.engine.window import CallingWindow

NOW = datetime(2027, 3, 3, 10, tzinfo=UTC)
PHONES = [f"+7990000{i:04d}" for i in range(8)]  # few numbers: collisions across campaigns are common

contact_st = st.fixed_dictionaries(
    {
        "campaign": st.integers(0, 1),
        "phone": st.sampled_from(PHONES),
        "state": st.sampled_from(
            ["pending", "pending", "pending", "dialing", "done", "exhausted", "invalid"]
        ),
        "attempts": st.integers(0, 4),
        "due_in": st.integers(-3600, 3600),
        "priority": st.sampled_from([0, 1, 5]),
    }
)


def _runtime(c: Campaign) -> runtime.CampaignRuntime:
    return runtime.CampaignRuntime(
        id=c.id,
        name=c.name,
        state="running",
        caller_id="505",
        mode="progressive",
        params={},
        max_attempts=c.max_attempts,
        retry_delays={},
        abandon_cap=0.03,
        window=CallingWindow.build("UTC", {"wed": "00:00-24:00"}),
        timezone="UTC",
        weight=1,
        ring_timeout=30,
        wrapup_seconds=0,
        amd=False,
    )


async def _scenario(db: Path, contacts: list[dict[str, object]], dnc: set[str], limit: int) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        camps = [Campaign(name="a", max_attempts=3), Campaign(name="b", max_attempts=2)]
        s.add_all(camps)
        await s.flush()
        seen: set[tuple[int, str]] = set()
        for i, c in enumerate(contacts):
            key = (int(c["campaign"]), str(c["phone"]))  # type: ignore[call-overload]
            if key in seen:
                continue
            seen.add(key)
            s.add(
                Contact(
                    campaign_id=camps[key[0]].id,
                    phone=key[1],
                    state=c["state"],
                    attempts=c["attempts"],
                    next_attempt_at=NOW + timedelta(seconds=int(c["due_in"])),
                    priority=c["priority"],  # type: ignore[call-overload]
                    source_line=i,
                )
            )
        for p in dnc:
            s.add(DoNotCall(phone=p))
        await s.commit()
        # numbers already being dialled (by "dialing" contacts) are in flight
        dialing = (await s.execute(select(Contact).where(Contact.state == "dialing"))).scalars().all()
        for d in dialing:
            if await s.get(InflightNumber, d.phone) is None:
                a = CallAttempt(
                    phone=d.phone, action_id=f"x{d.id}", contact_id=d.id, campaign_id=d.campaign_id
                )
                s.add(a)
                await s.flush()
                s.add(InflightNumber(phone=d.phone, attempt_id=a.id))
        await s.commit()
        busy_before = set((await s.execute(select(InflightNumber.phone))).scalars())
        rts = [_runtime(c) for c in camps]
    placed: list[store.Placed] = []
    for rt in rts:
        async with sessions() as s:
            due = await store.fetch_due(s, rt, NOW, limit, reserved=False)
        keys = [(c.priority, c.next_attempt_at) for c in due]
        assert keys == sorted(keys)  # priority first, then the longest-due
        for c in due:
            assert c.phone not in dnc
            assert c.attempts < rt.max_attempts
            assert c.next_attempt_at <= NOW
            assert c.state == "pending"
            assert c.phone not in busy_before
            assert not c.needs_reserved_agent and c.callback_agent_id is None
            p = await store.place(sessions, rt, c, NOW, None)
            if p is not None:
                placed.append(p)
    phones = [p.phone for p in placed]
    assert len(phones) == len(set(phones)), "two calls to one number at once"
    async with sessions() as s:
        inflight = (await s.execute(select(func.count()).select_from(InflightNumber))).scalar_one()
        tried = {
            c.id: c
            for c in (
                await s.execute(select(Contact).where(Contact.id.in_([p.contact_id for p in placed])))
            ).scalars()
        }
    assert inflight == len(busy_before) + len(placed)
    for p in placed:
        c = tried[p.contact_id]
        assert c.state == "dialing" and c.attempts == p.attempts
        assert c.attempts <= next(rt.max_attempts for rt in rts if rt.id == c.campaign_id)
    await engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=st.lists(contact_st, min_size=1, max_size=25),
    dnc=st.sets(st.sampled_from(PHONES), max_size=3),
    limit=st.integers(1, 10),
)
def test_hopper_never_breaks_a_rule(contacts: list[dict[str, object]], dnc: set[str], limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_scenario(Path(tmp) / "h.db", contacts, dnc, limit))
