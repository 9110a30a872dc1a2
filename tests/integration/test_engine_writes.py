"""The engine's database promises on SQLite and PostgreSQL: an outcome is retried until committed (the
number stays in flight meanwhile), a late write never reopens an ended attempt, a disposition saved during
the call is kept, a stopped campaign's contact keeps its remaining attempts, and recovery never downgrades
a call the database saw connected."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dialer.agents import services as agents
from dialer.callrecords.fate import CallFate
from dialer.campaigns import services as campaigns
from dialer.campaigns.schemas import CampaignSpec
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import AgentPresence, CallAttempt, Contact, InflightNumber
from dialer.dispositions import services as dispositions
from dialer.dispositions.schemas import DispositionIn
from dialer.engine import attempts, runtime, store
from dialer.engine.attempts import Finish
from dialer.engine.callbook import SaveFinish
from dialer.engine.outbox import Outbox
from dialer.engine.outcomes import CallFacts, Outcome
from dialer.engine.runtime import Sessions

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _campaign(sessions: Sessions, phones: list[str], **spec: Any) -> runtime.CampaignRuntime:
    await campaigns.create_campaign(
        sessions,
        CampaignSpec(name="w", **spec),
        actor="t",
        default_tz="Europe/Moscow",
        default_caller_id="505",
    )
    rows = "phone,application_number,name\n" + "".join(f"{p},W-{i},P {i}\n" for i, p in enumerate(phones))
    await campaigns.import_contacts(sessions, "w", io.BytesIO(rows.encode()), actor="t")
    await campaigns.change_state(sessions, "w", "start", actor="t")
    await agents.ensure_agent(sessions, "101")
    await agents.set_presence(sessions, "101", AgentPresence.READY, actor="t")
    window = {"hours": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    (camp,) = await runtime.load_campaigns(sessions, window, "Europe/Moscow")
    return camp


async def _place(sessions: Sessions, camp: runtime.CampaignRuntime) -> store.Placed:
    async with sessions() as s:
        (contact,) = await store.fetch_due(s, camp, NOW + timedelta(days=1), 1, reserved=False)
    placed = await store.place(sessions, camp, contact, NOW, None)
    assert placed is not None
    return placed


def _finish(p: store.Placed, outcome: Outcome, agent: str | None = None) -> Finish:
    return Finish(
        attempt_id=p.attempt_id,
        outcome=outcome,
        facts=CallFacts(answered=outcome is Outcome.CONNECTED, agent_connected=outcome is Outcome.CONNECTED),
        ended_at=NOW + timedelta(seconds=40),
        answered_at=None,
        bridged_at=None,
        agent_ext=agent,
        ring_seconds=None,
        wait_seconds=None,
        talk_seconds=None,
        decided_at=NOW + timedelta(seconds=40),
    )


async def _inflight(sessions: Sessions) -> set[str]:
    async with sessions() as s:
        return set((await s.execute(select(InflightNumber.phone))).scalars())


async def test_an_outcome_that_fails_to_commit_is_retried_and_the_number_stays_blocked(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    camp = await _campaign(sessions, ["+79900001231", "+79900001232"], max_attempts=3)
    a, b = await _place(sessions, camp), await _place(sessions, camp)
    real = attempts.finish
    failing = {a.attempt_id}

    async def flaky(sess: Sessions, f: Finish, c: Any) -> Any:
        if f.attempt_id in failing:
            raise ConnectionError("database went away")
        return await real(sess, f, c)

    monkeypatch.setattr(attempts, "finish", flaky)
    box = Outbox(sessions, {camp.id: camp}.get)
    box.add(
        [SaveFinish(_finish(a, Outcome.BUSY), camp.id), SaveFinish(_finish(b, Outcome.NOANSWER), camp.id)]
    )
    await box.flush(1000.0)
    # the second call's outcome is written although the first one's failed
    assert box.attempt_ids() == {a.attempt_id}
    assert await _inflight(sessions) == {a.phone}  # nobody may dial that number meanwhile
    failing.clear()
    await box.flush(1000.1)  # backoff: not due yet
    assert box.attempt_ids() == {a.attempt_id}
    await box.flush(1010.0)
    assert box.attempt_ids() == set() and await _inflight(sessions) == set()
    async with sessions() as s:
        outcomes = {x.id: x.outcome for x in (await s.execute(select(CallAttempt))).scalars()}
    assert outcomes == {a.attempt_id: "busy", b.attempt_id: "noanswer"}


async def test_a_late_write_never_reopens_an_ended_attempt(sessions: Sessions) -> None:
    camp = await _campaign(sessions, ["+79900001231"])
    p = await _place(sessions, camp)
    await attempts.finish(sessions, _finish(p, Outcome.NOANSWER), camp)
    await attempts.mark_sent(sessions, p.attempt_id)
    await attempts.mark_bridged(sessions, p.attempt_id, "101", NOW)
    async with sessions() as s:
        a = await s.get(CallAttempt, p.attempt_id)
        assert a is not None and a.state == "ended" and a.outcome == "noanswer" and a.bridged_at is None


async def test_a_disposition_saved_during_the_call_is_kept_when_the_call_ends(sessions: Sessions) -> None:
    camp = await _campaign(sessions, ["+79900001231"], max_attempts=3)
    p = await _place(sessions, camp)
    await attempts.mark_bridged(sessions, p.attempt_id, "101", NOW)
    when = datetime.now(UTC) + timedelta(days=2)
    await dispositions.record(
        sessions, p.attempt_id, DispositionIn(kind="callback", callback_at=when), actor="t", agent_id=None
    )
    await attempts.finish(sessions, _finish(p, Outcome.CONNECTED, "101"), camp)
    async with sessions() as s:
        c = (await s.execute(select(Contact))).scalar_one()
    assert c.state == "pending" and c.priority == 0 and c.next_attempt_at is not None


async def test_a_call_ending_after_stop_cancels_its_contact_instead_of_exhausting_it(
    sessions: Sessions,
) -> None:
    camp = await _campaign(sessions, ["+79900001234"], max_attempts=3)
    p = await _place(sessions, camp)
    await campaigns.change_state(sessions, "w", "stop", actor="t")
    await attempts.finish(sessions, _finish(p, Outcome.NOANSWER), None)  # the engine no longer loads it
    async with sessions() as s:
        c = (await s.execute(select(Contact))).scalar_one()
    assert c.state == "cancelled" and c.attempts == 1


async def test_recovery_never_downgrades_a_call_the_database_saw_connected(sessions: Sessions) -> None:
    camp = await _campaign(sessions, ["+79900001232", "+79900001234", "+79900001233"], max_attempts=3)
    talked, unsent, lost = (
        await _place(sessions, camp),
        await _place(sessions, camp),
        await _place(sessions, camp),
    )
    await attempts.mark_bridged(sessions, talked.attempt_id, "101", NOW)
    await attempts.mark_sent(sessions, lost.attempt_id)
    open_attempts = {a.id: a for a in await attempts.unfinished_attempts(sessions)}
    later = NOW + timedelta(minutes=2)
    # no record of any of them (Asterisk's records lost): the conservative rule
    assert (
        await attempts.close_lost(sessions, open_attempts[talked.attempt_id], None, camp, later)
        is Outcome.CONNECTED
    )
    assert await attempts.close_lost(sessions, open_attempts[unsent.attempt_id], None, camp, later) is None
    assert (
        await attempts.close_lost(sessions, open_attempts[lost.attempt_id], None, camp, later)
        is Outcome.FAILED
    )
    async with sessions() as s:
        rows = {a.id: a for a in (await s.execute(select(CallAttempt))).scalars()}
        contacts = {c.phone: c for c in (await s.execute(select(Contact))).scalars()}
    assert rows[talked.attempt_id].outcome == "connected" and rows[talked.attempt_id].agent_id is not None
    assert rows[talked.attempt_id].bridged_at is not None
    assert contacts[talked.phone].state == "done"  # never called again
    assert rows[unsent.attempt_id].state == "not_sent"
    assert contacts[unsent.phone].state == "pending" and contacts[unsent.phone].attempts == 0
    assert contacts[lost.phone].state == "pending" and contacts[lost.phone].attempts == 1
    assert await _inflight(sessions) == set()


async def test_recovery_takes_asterisks_record_over_the_databases_guess(sessions: Sessions) -> None:
    camp = await _campaign(sessions, ["+79900001231"], max_attempts=3)
    p = await _place(sessions, camp)
    await attempts.mark_sent(sessions, p.attempt_id)  # the bridge was never written: the service died first
    (attempt,) = await attempts.unfinished_attempts(sessions)
    f = CallFate(
        Outcome.CONNECTED,
        "101",
        NOW,
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=10),
        8.0,
    )
    assert (
        await attempts.close_lost(sessions, attempt, f, camp, NOW + timedelta(minutes=1)) is Outcome.CONNECTED
    )
    async with sessions() as s:
        a = await s.get(CallAttempt, p.attempt_id)
        c = (await s.execute(select(Contact))).scalar_one()
    assert a is not None and a.outcome == "connected" and a.agent_id is not None and a.talk_seconds == 8.0
    assert c.state == "done"


class _QuietAsterisk:
    """An Asterisk with no channels at all (the link just came back): what reconciliation sees."""

    is_up = True

    def __init__(self) -> None:
        from dialer.ami.link import LinkState

        self.state = LinkState.UP

    async def list_action(self, action: dict[str, Any], timeout: float = 10.0) -> list[Any]:
        return []


async def test_reconciliation_never_closes_an_attempt_that_is_about_to_be_sent(
    sessions: Sessions, tmp_path: Any
) -> None:
    """Committed, registered, its Originate not yet sent (the link flapped): a reconciliation running at that
    moment must leave it alone, or it would be closed as lost and then still be originated."""
    from types import SimpleNamespace

    from dialer.bus import EventBus
    from dialer.config import load_settings
    from dialer.engine.callbook import LiveCall
    from dialer.engine.engine import Engine
    from tests.integration.engine_harness import REPO

    camp = await _campaign(sessions, ["+79900001231"])
    p = await _place(sessions, camp)
    settings = load_settings(REPO / "config.yaml", data_dir=tmp_path, call_records={"url": None})
    svc = SimpleNamespace(settings=settings, sessions=sessions, ami=_QuietAsterisk(), bus=EventBus())
    eng = Engine(svc)  # type: ignore[arg-type]
    tracked = eng.tracker.expect(p.key, 1000.0)
    eng.book.register(LiveCall(p, camp.id, tracked, 1000.0, camp.ring_timeout, sent=False))
    await eng.recovery.reconcile()
    assert p.key in eng.book.calls and eng.reconciled
    async with sessions() as s:
        a = await s.get(CallAttempt, p.attempt_id)
    assert a is not None and a.ended_at is None and a.state == "created"
    assert await _inflight(sessions) == {p.phone}


async def test_an_outcome_seen_through_an_outage_is_checked_against_asterisks_record(
    sessions: Sessions,
) -> None:
    """The soak's findings: a bridge made while the link was frozen ends as 'abandoned' in the engine's eyes,
    but Asterisk recorded it connected (the person must not be called again); an Originate never
    acknowledged that Asterisk has no record of placed no call (it is given back, not counted)."""
    camp = await _campaign(sessions, ["+79900001231", "+79900001232"], max_attempts=3)
    talked, ghost = await _place(sessions, camp), await _place(sessions, camp)
    await attempts.mark_sent(sessions, talked.attempt_id)
    connected = CallFate(
        Outcome.CONNECTED,
        "101",
        NOW,
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=12),
        10.0,
    )

    async def records(keys: list[str]) -> dict[str, CallFate]:
        return {talked.key: connected} if talked.key in keys else {}

    box = Outbox(sessions, {camp.id: camp}.get)
    box.verify_with = records
    box.add(
        [
            SaveFinish(_finish(talked, Outcome.ABANDONED), camp.id, talked.key, verify=True, acked=True),
            SaveFinish(_finish(ghost, Outcome.FAILED), camp.id, ghost.key, verify=True, acked=False),
        ]
    )
    await box.flush(1000.0)
    async with sessions() as s:
        rows = {a.id: a for a in (await s.execute(select(CallAttempt))).scalars()}
        contacts = {c.phone: c for c in (await s.execute(select(Contact))).scalars()}
    assert rows[talked.attempt_id].outcome == "connected" and rows[talked.attempt_id].talk_seconds == 10.0
    assert contacts[talked.phone].state == "done"
    assert rows[ghost.attempt_id].state == "not_sent"
    assert contacts[ghost.phone].state == "pending" and contacts[ghost.phone].attempts == 0
    assert contacts[ghost.phone].next_attempt_at is not None
    assert await _inflight(sessions) == set()


class _AsteriskWithABridge(_QuietAsterisk):
    """The customer's channel is up and bridged to agent 101's leg (made while the link was frozen)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    async def list_action(self, action: dict[str, Any], timeout: float = 10.0) -> list[Any]:
        if action["Action"] != "CoreShowChannels":
            return []
        return [
            {
                "Channel": "PJSIP/carrier-00000001",
                "Uniqueid": self.key,
                "Linkedid": self.key,
                "ChannelState": "6",
            },
            {"Channel": "PJSIP/101-00000002", "Uniqueid": "1.2", "Linkedid": self.key, "ChannelState": "6"},
        ]


async def test_reconciliation_learns_a_bridge_made_while_the_link_was_down(
    sessions: Sessions, tmp_path: Any
) -> None:
    from types import SimpleNamespace

    from dialer.bus import EventBus
    from dialer.config import load_settings
    from dialer.engine.callbook import LiveCall, MarkBridged
    from dialer.engine.engine import Engine
    from tests.integration.engine_harness import REPO

    camp = await _campaign(sessions, ["+79900001231"])
    p = await _place(sessions, camp)
    settings = load_settings(REPO / "config.yaml", data_dir=tmp_path, call_records={"url": None})
    svc = SimpleNamespace(
        settings=settings, sessions=sessions, ami=_AsteriskWithABridge(p.key), bus=EventBus()
    )
    eng = Engine(svc)  # type: ignore[arg-type]
    eng.pool.sync(await runtime.load_agents(sessions), 1000.0)
    tracked = eng.tracker.expect(p.key, 1000.0)
    tracked.facts.answered = True
    lc = LiveCall(p, camp.id, tracked, 1000.0, camp.ring_timeout, blind=True)
    eng.book.register(lc)
    eng.pool.ringing("101", p.key, camp.id, 1000.0)  # claimed by the route, then the link froze
    await eng.recovery.reconcile()
    assert eng.pool.agents["101"].state == "talking" and lc.tracked.facts.agent_connected
    assert any(isinstance(e, MarkBridged) and e.agent == "101" for e in eng.book.outbox)


class _AsteriskHangingUpDuringReconciliation(_AsteriskWithABridge):
    """Lists the call (the customer talking to agent 101), then hangs both legs up while the engine is still
    reading the database to adopt it: the soak's stuck call (kill -9, restart, the call ending that instant).
    A real Asterisk can't be made to hang up in that window on demand."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.engine: Any = None

    async def list_action(self, action: dict[str, Any], timeout: float = 10.0) -> list[Any]:
        listed = await super().list_action(action, timeout)
        if action["Action"] == "CoreShowChannels":
            loop = asyncio.get_running_loop()
            for uid in ("1.2", self.key):  # the agent's leg, then the customer's
                ev = {"Event": "Hangup", "Uniqueid": uid, "Linkedid": self.key, "Cause": "16"}
                loop.call_soon(self.engine._on_event, ev)
        return listed


async def test_a_call_that_ends_while_it_is_being_adopted_is_closed_not_followed_for_ever(
    sessions: Sessions, tmp_path: Any
) -> None:
    from types import SimpleNamespace

    from dialer.bus import EventBus
    from dialer.config import load_settings
    from dialer.engine.engine import Engine
    from tests.integration.engine_harness import REPO

    camp = await _campaign(sessions, ["+79900001680"])
    p = await _place(sessions, camp)
    await attempts.mark_bridged(sessions, p.attempt_id, "101", NOW)  # left by the killed process, talking
    settings = load_settings(REPO / "config.yaml", data_dir=tmp_path, call_records={"url": None})
    pbx = _AsteriskHangingUpDuringReconciliation(p.key)
    svc = SimpleNamespace(settings=settings, sessions=sessions, ami=pbx, bus=EventBus())
    eng = Engine(svc)  # type: ignore[arg-type]
    pbx.engine = eng
    eng.pool.sync(await runtime.load_agents(sessions), 1000.0)
    await eng.recovery.reconcile()
    assert p.key not in eng.book.calls, "the call hung up but is still followed"
    await eng._commit(time.time())
    async with sessions() as s:
        a = await s.get(CallAttempt, p.attempt_id)
        contact = await s.get(Contact, p.contact_id)
    assert a is not None and a.ended_at is not None and a.outcome == "connected"
    assert contact is not None and contact.state == "done"  # talked to an agent: never called again
    assert await _inflight(sessions) == set()
    assert eng.pool.agents["101"].state != "talking"
