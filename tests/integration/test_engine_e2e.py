"""The outbound dialer end to end on the real Asterisk: SIP softphone agents, the simulated network."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.engine_harness import FakeClock, Harness, seed_answered_today, sim

pytestmark = pytest.mark.asterisk

MSK = ZoneInfo("Europe/Moscow")


async def _hangup_all(h: Harness) -> None:
    await h.svc.ami.send({"Action": "Hangup", "Channel": "/^PJSIP/carrier-.*/", "Cause": "16"})


async def test_a_campaign_runs_to_completion_with_every_outcome_right(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    expected = {
        "1": "connected",
        "2": "connected",
        "3": "busy",
        "4": "noanswer",
        "5": "congestion",
        "6": "invalid",
        "7": "connected",
        "9": "connected",
        "0": "connected",
    }
    phones = [sim(d, 100) for d in expected]
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101", "102", "103", "104")
        await h.campaign("all", phones, mode="progressive", max_attempts=1, ring_timeout=15, wrapup_seconds=1)
        await h.state("all", "start")
        await h.wait(lambda: h.completed("all"), 90, "campaign completed")
        attempts = await h.attempts()
        st = await h.status("all")
    by_phone = {a.phone: a for a in attempts}
    assert len(attempts) == len(phones)  # each number dialled exactly once
    for d, outcome in expected.items():
        a = by_phone[sim(d, 100)]
        assert a.outcome == outcome, (d, a.outcome, a.hangup_cause)
        assert a.ended_at is not None
        if outcome == "connected":
            # every answered call reached an agent's softphone, well inside the 2-second abandon limit
            assert a.agent_id is not None and a.bridged_at is not None
            assert a.wait_seconds is not None and a.wait_seconds < 1.0, a.wait_seconds
    # the person talks as long as the network scripts it: the agent really was on the line
    assert by_phone[sim("1", 100)].talk_seconds == pytest.approx(8, abs=1.0)
    assert by_phone[sim("2", 100)].talk_seconds == pytest.approx(30, abs=1.0)
    assert by_phone[sim("4", 100)].ring_seconds == pytest.approx(15, abs=2.5)  # rang the full timeout
    assert st.contacts_by_state == {"done": 5, "exhausted": 3, "invalid": 1}
    assert st.abandoned_today == 0 and st.answered_today == 5


async def test_with_no_agent_free_the_call_is_abandoned_with_the_message(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101")
        # three calls for the one agent: two people answer with nobody to take them
        await h.campaign(
            "busy-day", [sim("1", 200 + i) for i in range(3)], mode="ratio", ratio=3.0, max_attempts=1
        )
        # a day that has connected 300 calls can afford a few abandons under its 3% cap
        await seed_answered_today(h.sessions, "busy-day", 300)
        await h.state("busy-day", "start")
        await h.wait(lambda: h.completed("busy-day"), 60, "campaign completed")
        attempts = await h.attempts()
    attempts = [a for a in attempts if a.action_id.startswith("dlr-")]
    outcomes = sorted(a.outcome or "" for a in attempts)
    assert outcomes == ["abandoned", "abandoned", "connected"]
    for a in attempts:
        if a.outcome == "abandoned":
            assert a.agent_id is None and a.answered_at is not None
            # the message naming the caller was played before hanging up (a few seconds, not a cut-off)
            assert (a.ended_at - a.answered_at).total_seconds() > 3.0
    missing = [ln for ln in sandbox.log_text().splitlines() if "does not exist" in ln]
    assert missing == [], "sound files missing:\n" + "\n".join(missing)


async def test_pause_stops_new_calls_and_resume_goes_on(sandbox: Any, db_url: str, tmp_path: Path) -> None:
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101", "102")
        await h.campaign(
            "pp", [sim("1", 300 + i) for i in range(6)], mode="progressive", max_attempts=1, wrapup_seconds=0
        )
        await h.state("pp", "start")
        await h.wait(lambda: h.svc.dialer.calls, 10, "first calls placed")
        await h.state("pp", "pause")
        await asyncio.sleep(1.5)
        placed_at_pause = len(await h.attempts())
        # calls in flight finish normally; nothing new starts
        await h.wait(lambda: not h.svc.dialer.calls, 20, "calls in flight finished")
        await asyncio.sleep(2)
        paused = await h.attempts()
        assert len(paused) == placed_at_pause
        assert all(a.outcome == "connected" for a in paused)
        await h.state("pp", "resume")
        await h.wait(lambda: h.completed("pp"), 60, "campaign completed")
        assert len(await h.attempts()) == 6


async def test_retries_follow_the_rules(sandbox: Any, db_url: str, tmp_path: Path) -> None:
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101")
        await h.campaign(
            "retry",
            [sim("3", 400), sim("6", 401)],
            mode="progressive",
            max_attempts=2,
            retry_delays={"busy": 120},
        )
        clock = FakeClock(datetime.now(UTC) + timedelta(seconds=1))
        h.use_clock(clock)
        await h.state("retry", "start")
        await h.wait(lambda: _done_attempts(h, 2), 15, "both numbers tried once")
        await asyncio.sleep(2)
        assert len(await h.attempts()) == 2  # the busy number waits for its delay
        clock.now += timedelta(seconds=119)
        await asyncio.sleep(2)
        assert len(await h.attempts()) == 2
        clock.now += timedelta(seconds=2)
        await h.wait(lambda: h.completed("retry"), 20, "campaign completed")
        attempts = await h.attempts()
        contacts = {c.phone: c for c in await h.contacts()}
    busy = [a for a in attempts if a.phone == sim("3", 400)]
    assert [a.outcome for a in busy] == ["busy", "busy"]
    assert (busy[1].originated_at - busy[0].originated_at) >= timedelta(seconds=120)
    # an invalid number is never retried; the busy one stops at the attempt limit
    assert [a.outcome for a in attempts if a.phone == sim("6", 401)] == ["invalid"]
    assert contacts[sim("3", 400)].state == "exhausted" and contacts[sim("3", 400)].attempts == 2
    assert contacts[sim("6", 401)].state == "invalid"


async def _done_attempts(h: Harness, n: int) -> bool:
    return sum(1 for a in await h.attempts() if a.ended_at is not None and a.state != "not_sent") >= n


async def test_no_call_starts_outside_the_calling_window(sandbox: Any, db_url: str, tmp_path: Path) -> None:
    # a Wednesday, 18:59:58 in Moscow; the window is 09:00-19:00
    clock = FakeClock(datetime(2027, 3, 3, 18, 59, 58, tzinfo=MSK).astimezone(UTC))
    window = {d: "09:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    async with Harness(db_url, tmp_path, window=window) as h:
        h.use_clock(clock)
        await h.agents("101", "102")
        await h.campaign(
            "late",
            [sim("7", 500 + i) for i in range(6)],
            mode="progressive",
            max_attempts=1,
            wrapup_seconds=0,
        )
        await h.state("late", "start")
        await h.wait(lambda: len(h.svc.dialer.calls) == 2, 10, "two calls at 18:59:58")
        clock.now = datetime(2027, 3, 3, 19, 0, 0, tzinfo=MSK).astimezone(UTC)
        # the agents free up after ~7 s; the window is closed by then
        await asyncio.sleep(10)
        assert len(await h.attempts()) == 2
        clock.now = datetime(2027, 3, 4, 8, 59, 59, tzinfo=MSK).astimezone(UTC)
        await asyncio.sleep(2)
        assert len(await h.attempts()) == 2
        clock.now = datetime(2027, 3, 4, 9, 0, 0, tzinfo=MSK).astimezone(UTC)
        await h.wait(lambda: _done_attempts(h, 4), 20, "dialling resumes at 09:00")
        for a in await h.attempts():
            local = a.originated_at.astimezone(MSK).time()
            assert local < datetime(2027, 1, 1, 19, 0).time() and local >= datetime(2027, 1, 1, 9, 0).time()


async def test_answering_machines_are_detected_and_left_a_message(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    async with Harness(db_url, tmp_path) as h:
        await h.agents("101", "102")
        await h.campaign("amd", [sim("1", 550), sim("8", 551)], mode="progressive", max_attempts=1, amd=True)
        await h.state("amd", "start")
        await h.wait(lambda: h.completed("amd"), 60, "campaign completed")
        by_phone = {a.phone: a for a in await h.attempts()}
    human, machine = by_phone[sim("1", 550)], by_phone[sim("8", 551)]
    # a short "hello?" then silence: HUMAN, or NOTSURE when AMD cannot tell; either way it reaches an agent
    assert (
        human.outcome == "connected"
        and human.amd_status in ("HUMAN", "NOTSURE")
        and human.agent_id is not None
    )
    assert machine.outcome == "machine" and machine.amd_status == "MACHINE" and machine.agent_id is None
    # the machine got the message naming the caller, then the call ended (it never reached an agent)
    assert (machine.ended_at - machine.answered_at).total_seconds() > 3.0


async def test_an_agent_whose_softphone_stops_answering_leaves_rotation(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    from dialer.sandbox import softphones

    softphones.start(sandbox.root, "104", answer="manual")  # rings, nobody picks up
    try:
        await asyncio.to_thread(sandbox.wait_registered, ["104"], 20)
        async with Harness(db_url, tmp_path) as h:
            await h.agents("104")
            await h.campaign("deaf", [sim("2", 560)], mode="progressive", max_attempts=1)
            await h.state("deaf", "start")
            await h.wait(lambda: h.completed("deaf"), 60, "campaign completed")
            (attempt,) = await h.attempts()
            async with h.sessions() as s:
                from sqlalchemy import select

                from dialer.db.models import Agent

                agent = (await s.execute(select(Agent).where(Agent.extension == "104"))).scalar_one()
        assert attempt.outcome == "abandoned" and attempt.agent_id is None
        assert agent.presence == "paused" and "did not answer" in (agent.pause_reason or "")
    finally:
        softphones.start(sandbox.root, "104")
        await asyncio.to_thread(sandbox.wait_registered, ["104"], 20)


async def test_a_restarted_asterisk_stops_dialling_until_reconciled_and_the_campaign_goes_on(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    from dialer.ami.link import LinkState

    async with Harness(db_url, tmp_path) as h:
        eng = h.svc.dialer
        await h.agents("101", "102")
        await h.campaign(
            "restart",
            [sim("9", 570 + i) for i in range(5)],
            mode="progressive",
            max_attempts=2,
            retry_delays={"failed": 60},
            wrapup_seconds=0,
        )
        down_at: list[float] = []
        up_at: list[float] = []
        sent_while: list[tuple[bool, bool]] = []  # (link up, reconciled) at each Originate that went out
        real_send = eng.ami.send

        async def spy(action: dict[str, Any], **kw: Any) -> Any:
            state = (eng.ami.is_up, eng.reconciled)
            resp = await real_send(action, **kw)
            if action.get("Action") == "Originate":
                sent_while.append(state)
            return resp

        eng.ami.send = spy  # type: ignore[method-assign]
        eng.ami.on_state(
            lambda st: (down_at if st is not LinkState.UP else up_at).append(
                asyncio.get_running_loop().time()
            )
        )
        await h.state("restart", "start")
        await h.wait(lambda: len(eng.calls) == 2, 15, "two calls up")
        await asyncio.to_thread(sandbox.rx, "core restart now")
        await h.wait(lambda: down_at, 15, "link lost")
        assert not eng.reconciled
        await h.wait(lambda: eng.reconciled and up_at, 60, "link back and reconciled")
        await asyncio.to_thread(sandbox.wait_registered, ["101", "102"], 30)
        await h.wait(lambda: _done_attempts(h, 5), 90, "every number tried after the restart")
        attempts = await h.attempts()
        contacts = await h.contacts()
    # the calls cut by the restart were closed from what was known; nothing stayed in flight
    assert all(a.ended_at is not None for a in attempts if a.state != "not_sent")
    assert all(c.attempts <= 2 for c in contacts)
    assert {c.phone for c in contacts} == {a.phone for a in attempts if a.state != "not_sent"}
    # no call started while the link was down or not yet reconciled
    assert sent_while and all(up and reconciled for up, reconciled in sent_while), sent_while
