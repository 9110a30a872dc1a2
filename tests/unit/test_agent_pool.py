"""Agent routing rules, with a fake clock: longest idle first, campaigns, wrap-up, softphone failures,
and waiting callers served in priority order."""

from __future__ import annotations

import asyncio

from dialer.engine.agents import INBOUND_PRIORITY, OUTBOUND_PRIORITY, AgentPool, AgentSlot
from dialer.engine.placing import share_agents


def _pool(now: float = 100.0) -> AgentPool:
    p = AgentPool()
    p.sync(
        [
            (1, "101", "A", "ready", None, frozenset()),
            (2, "102", "B", "ready", None, frozenset({7})),
            (3, "103", "C", "paused", "lunch", frozenset()),
        ],
        now,
    )
    for ext in ("101", "102", "103"):
        p.device_state(ext, "NOT_INUSE", now)
    return p


def test_the_agent_idle_longest_gets_the_call_and_campaign_limits_apply() -> None:
    p = _pool()
    p.agents["101"].since = 50.0  # idle since 50
    p.agents["102"].since = 10.0  # idle since 10: longest
    assert p.try_claim(7, "k1", 101.0).ext == "102"  # type: ignore[union-attr]
    assert p.try_claim(8, "k2", 101.0).ext == "101"  # type: ignore[union-attr]  (102 only serves campaign 7)
    assert p.try_claim(8, "k3", 101.0) is None  # 103 is paused


def test_wrapup_then_ready_and_a_failing_softphone_leaves_rotation() -> None:
    p = _pool()
    p.ringing("101", "k", 1, 101.0)
    p.connected("101", "k", 102.0)
    p.leg_ended("101", 130.0, wrapup_seconds=15)
    assert p.agents["101"].state == "wrapup" and not p.agents["101"].free
    p.tick(140.0)
    assert p.agents["101"].state == "wrapup"
    p.tick(145.0)
    assert p.agents["101"].state == "ready" and p.agents["101"].free
    p.failed("101", 150.0, "softphone did not answer (NOANSWER)")
    assert p.agents["101"].state == "paused" and p.agents["101"].pause_reason.startswith("softphone")  # type: ignore[union-attr]
    p.device_state("102", "UNAVAILABLE", 151.0)
    assert p.free_agents() == []


def test_saving_the_disposition_ends_wrapup_early() -> None:
    p = _pool()
    p.ringing("101", "k", 1, 101.0)
    p.leg_ended("101", 110.0, wrapup_seconds=60)
    p.end_wrapup("101", 112.0)
    assert p.agents["101"].state == "ready"


async def test_waiting_callers_are_served_in_priority_order() -> None:
    p = _pool()
    for ext in ("101", "102"):
        p.ringing(ext, f"busy-{ext}", None, 100.0)
    loop = asyncio.get_running_loop()
    inbound = asyncio.create_task(p.claim(None, "in", loop.time() + 5, 100.0, priority=INBOUND_PRIORITY))
    await asyncio.sleep(0.01)
    outbound = asyncio.create_task(p.claim(None, "out", loop.time() + 5, 100.0, priority=OUTBOUND_PRIORITY))
    await asyncio.sleep(0.01)
    assert p.waiting_inbound == 1
    p.leg_ended("101", 105.0, wrapup_seconds=0)  # one agent frees: the answered outbound call gets it
    got = await asyncio.wait_for(outbound, 1)
    assert got is not None and got.ext == "101" and not inbound.done()
    p.leg_ended("102", 106.0, wrapup_seconds=0)
    got_in = await asyncio.wait_for(inbound, 1)
    assert got_in is not None and got_in.ext == "102"


async def test_claim_gives_up_at_its_deadline() -> None:
    p = _pool()
    p.ringing("101", "x", None, 100.0)
    p.ringing("102", "y", None, 100.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await p.claim(None, "z", t0 + 0.2, 100.0) is None
    assert 0.15 < loop.time() - t0 < 1.0


def test_campaigns_running_together_share_agents_by_weight() -> None:
    free = [
        AgentSlot(i, str(100 + i), presence="ready", state="ready", device="NOT_INUSE") for i in range(12)
    ]
    out = share_agents(free, [(1, 1), (2, 2)], busy={})
    assert (len(out[1]), len(out[2])) == (4, 8)
    # busy agents count toward a campaign's share
    out = share_agents(free, [(1, 1), (2, 1)], busy={2: 4})
    assert (len(out[1]), len(out[2])) == (8, 4)
    # an agent limited to one campaign is never lent to another
    only2 = [
        AgentSlot(99, "199", campaigns=frozenset({2}), presence="ready", state="ready", device="NOT_INUSE")
    ]
    assert share_agents(only2, [(1, 5), (2, 1)], busy={}) == {1: [], 2: only2}
