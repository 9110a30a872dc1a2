"""Record the call book's replay fixtures from the real sandbox (cacofonisk-style): one file per scenario.

Run as root with the sandbox free:  .venv/bin/python -m tests.recordings.record [SCENARIO ...]
It takes the sandbox lock once, starts the sandbox and the whole service (engine, FastAGI routes, IVR) on a
throw-away SQLite database, and plays every scenario in turn, each with its own campaign and agents. While a
scenario runs, every AMI event the service receives is written to ``<scenario>.jsonl`` as a JSON line
(``TestEvent`` noise left out), in the order the service saw them, and so are the service's own decisions that
AMI never shows, as lines whose ``Event`` starts with ``Dialer``:

- ``DialerAgents``: the agents as the engine knew them when the scenario began (presence, softphone state);
- ``DialerCampaign``: the campaign's settings the engine ran the scenario's calls with;
- ``DialerPlaced``: an attempt registered in the call book just before its Originate;
- ``DialerRoute``: a FastAGI route call (``answered``, ``inbound``): the channel variables it read and what it
  set, written when the route returned (with the time it started), so a replay runs the real route at that
  point, on the clock of its start, and checks it decides the same;
- ``DialerReconcile``: after a lost link, the channels Asterisk still had and Asterisk's records of the calls
  that ended unseen (what ``Recovery`` closed them with).

Nothing here says what the outcome should be: the replay test (tests/unit/test_callbook_replay.py) states that
by hand from the sandbox's numbering table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from dialer.agents import services as agents
from dialer.config import load_settings
from dialer.db.models import Agent, AgentPresence, Application, Campaign, Contact
from dialer.sandbox import Sandbox, softphones
from dialer.sandbox.lock import exclusive
from tests.integration.engine_harness import REPO, Harness, seed_answered_today, sim

HERE = Path(__file__).resolve().parent
SKIP = {"TestEvent"}
EXTS = ("101", "102", "103", "104")
INBOUND_APP = "5050000001"


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "value"):
        return v.value
    return v


class Tape:
    """The AMI tap and the hooks' writer: lines go to the current scenario's file, nowhere between scenarios."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.campaigns: set[int] = set()

    def __call__(self, event: Any) -> None:
        if self.path is not None and str(event.get("Event", "")) not in SKIP:
            self._write(dict(event))

    def note(self, kind: str, **data: Any) -> None:
        if self.path is not None:
            self._write({"Event": "Dialer" + kind, "Timestamp": f"{time.time():.6f}", **_plain(data)})

    def _write(self, d: dict[str, Any]) -> None:
        assert self.path is not None
        with self.path.open("a") as f:
            f.write(json.dumps(d, ensure_ascii=False, default=str) + "\n")


class TapedAgi:
    """The route's AGI session, with every variable read and set noted."""

    def __init__(self, agi: Any) -> None:
        self._agi = agi
        self.env = agi.env
        self.got: dict[str, str | None] = {}
        self.set: list[list[str]] = []
        self.played: list[str] = []

    @property
    def hungup(self) -> bool:
        return bool(self._agi.hungup)

    async def get_variable(self, name: str) -> str | None:
        v: str | None = await self._agi.get_variable(name)
        self.got[name] = v
        return v

    async def set_variable(self, name: str, value: str) -> None:
        await self._agi.set_variable(name, value)
        self.set.append([name, value])

    async def stream_file(self, name: str, escape: str = "") -> str:
        self.played.append(name)
        r: str = await self._agi.stream_file(name, escape)
        return r


def hook(h: Harness, tape: Tape) -> None:
    eng = h.svc.dialer
    book = eng.book
    real_register = book.register

    def register(lc: Any) -> None:
        if not lc.inbound:
            if lc.camp_id not in tape.campaigns and lc.camp_id in eng.campaigns:
                tape.campaigns.add(lc.camp_id)
                c = eng.campaigns[lc.camp_id]
                tape.note(
                    "Campaign",
                    id=c.id,
                    name=c.name,
                    mode=c.mode,
                    max_attempts=c.max_attempts,
                    ring_timeout=c.ring_timeout,
                    wrapup_seconds=c.wrapup_seconds,
                    amd=c.amd,
                    abandon_cap=c.abandon_cap,
                )
            tape.note(
                "Placed", camp_id=lc.camp_id, ring_timeout=lc.ring_timeout, amd=lc.amd, **asdict(lc.placed)
            )
        real_register(lc)

    book.register = register

    for name, handler in list(h.svc.fastagi.routes.items()):
        if name not in ("answered", "inbound"):
            continue

        def taped(handler: Callable[[Any], Awaitable[None]], name: str) -> Callable[[Any], Awaitable[None]]:
            async def route(agi: Any) -> None:
                t = TapedAgi(agi)
                started = time.time()
                error = None
                try:
                    await handler(t)
                except BaseException as e:
                    error = type(e).__name__
                    raise
                finally:
                    tape.note(
                        "Route",
                        route=name,
                        started=f"{started:.6f}",
                        uniqueid=agi.env.get("agi_uniqueid", ""),
                        callerid=agi.env.get("agi_callerid", ""),
                        got=t.got,
                        set=t.set,
                        played=t.played,
                        error=error,
                    )

            return route

        h.svc.fastagi.routes[name] = taped(handler, name)

    rec = eng.recovery
    real_fates, real_close = rec.fates, rec._close_vanished
    seen: dict[str, Any] = {}

    async def fates(keys: list[str]) -> Any:
        out = await real_fates(keys)
        seen["fates"] = out
        return out

    async def close_vanished(live: dict[str, Any], wall: float) -> None:
        seen.clear()
        try:
            await real_close(live, wall)
        finally:
            f = seen.get("fates")
            tape.note(
                "Reconcile",
                live=sorted(live),
                fates=None if f is None else {k: asdict(v) for k, v in f.items()},
            )

    rec.fates = fates
    rec._close_vanished = close_vanished


# ---- scenario helpers ----------------------------------------------------------------------------------
async def only_agents(h: Harness, *ready: str) -> None:
    """Exactly these agents ready (in this order: the first has been idle longest), the others logged out;
    returns once the engine's pool shows it."""
    for e in EXTS:
        await agents.ensure_agent(h.sessions, e)
        if e not in ready:
            await agents.set_presence(h.sessions, e, AgentPresence.LOGGED_OUT, actor="rec")
    for e in ready:
        await agents.set_presence(h.sessions, e, AgentPresence.READY, actor="rec")
        await asyncio.sleep(0.05)  # distinct "since": the claim order is idle-longest first
    pool = h.svc.dialer.pool

    def settled() -> bool:
        for e in EXTS:
            a = pool.agents.get(e)
            if e in ready and (a is None or not a.free):
                return False
            if e not in ready and a is not None and a.state != "logged_out":
                return False
        return True

    try:
        await h.wait(settled, 30, f"agents {ready} ready, the others logged out")
    except AssertionError:
        seen = {e: (a.presence, a.state, a.device, a.reserved_for) for e, a in pool.agents.items()}
        raise AssertionError(f"agents {ready} not ready, the others not logged out: {seen}") from None


def quiet(h: Harness) -> bool:
    eng = h.svc.dialer
    return not eng.book.calls and all(
        a.state in ("ready", "paused", "logged_out") for a in eng.pool.agents.values()
    )


async def start_tape(h: Harness, tape: Tape, name: str) -> None:
    path = HERE / f"{name}.jsonl"
    path.unlink(missing_ok=True)
    tape.path = path
    pool = h.svc.dialer.pool
    rows = sorted(pool.agents.values(), key=lambda a: (a.since, a.ext))
    tape.note(
        "Agents",
        agents=[
            {
                "id": a.id,
                "ext": a.ext,
                "name": a.name,
                "presence": a.presence,
                "pause_reason": a.pause_reason,
                "campaigns": sorted(a.campaigns),
                "device": a.device,
            }
            for a in rows
        ],
    )


async def campaign_run(h: Harness, tape: Tape, name: str, phones: list[str], **spec: Any) -> None:
    spec.setdefault("mode", "progressive")
    spec.setdefault("max_attempts", 1)
    spec.setdefault("ring_timeout", 15)
    spec.setdefault("wrapup_seconds", 5)
    await h.campaign(name, phones, **spec)


async def finish(h: Harness, tape: Tape, name: str | None, timeout: float = 90) -> None:
    if name is not None:
        await h.wait(lambda: h.completed(name), timeout, f"campaign {name} completed")
    await h.wait(lambda: quiet(h), timeout, "calls over and every agent out of wrap-up")
    await asyncio.sleep(0.5)  # the last device-state events
    tape.path = None


async def talking(h: Harness, ext: str) -> None:
    await h.wait(lambda: h.svc.dialer.pool.agents[ext].state == "talking", 30, f"{ext} talking")


# ---- the scenarios ----------------------------------------------------------------------------------------
async def customer_hangs_up_first(h: Harness, sb: Sandbox, tape: Tape) -> None:
    await only_agents(h, "101")
    await start_tape(h, tape, "customer_hangs_up_first")
    await campaign_run(h, tape, "rec-cust", [sim("1", 801)], wrapup_seconds=7)
    await h.state("rec-cust", "start")
    await finish(h, tape, "rec-cust")


async def agent_hangs_up_first(h: Harness, sb: Sandbox, tape: Tape) -> None:
    await only_agents(h, "101")
    await start_tape(h, tape, "agent_hangs_up_first")
    await campaign_run(h, tape, "rec-agent", [sim("2", 802)], wrapup_seconds=6)
    await h.state("rec-agent", "start")
    await talking(h, "101")
    await asyncio.sleep(4)  # the conversation: the agent ends it long before the customer's 30 s
    await h.svc.ami.send({"Action": "Hangup", "Channel": "/^PJSIP/101-.*/", "Cause": "16"})
    await finish(h, tape, "rec-agent")


async def hangup_during_routing(h: Harness, sb: Sandbox, tape: Tape) -> None:
    # 104 rings but nobody picks up; the customer (last digit 7) hangs up 1 s after answering
    await only_agents(h, "104")
    await start_tape(h, tape, "hangup_during_routing")
    await campaign_run(h, tape, "rec-routing", [sim("7", 803)], wrapup_seconds=5)
    await h.state("rec-routing", "start")
    await finish(h, tape, "rec-routing")


async def softphone_no_answer(h: Harness, sb: Sandbox, tape: Tape) -> None:
    await only_agents(h, "104")
    await start_tape(h, tape, "softphone_no_answer")
    await campaign_run(h, tape, "rec-deaf", [sim("2", 804)], wrapup_seconds=5)
    await h.state("rec-deaf", "start")
    await finish(h, tape, "rec-deaf")


async def amd_machine(h: Harness, sb: Sandbox, tape: Tape) -> None:
    await only_agents(h, "101")
    await start_tape(h, tape, "amd_machine")
    await campaign_run(h, tape, "rec-amd", [sim("8", 805)], amd=True, wrapup_seconds=5)
    await h.state("rec-amd", "start")
    await finish(h, tape, "rec-amd")


async def no_agent_abandon(h: Harness, sb: Sandbox, tape: Tape) -> None:
    # one agent, two lines: the 1 answers after 2 s and talks 8 s; the 7 answers after 6 s, nobody is free
    await only_agents(h, "101")
    await start_tape(h, tape, "no_agent_abandon")
    await campaign_run(
        h, tape, "rec-noagent", [sim("1", 806), sim("7", 807)], mode="ratio", ratio=2.0, wrapup_seconds=5
    )
    await seed_answered_today(h.sessions, "rec-noagent", 300)  # a day that can afford an abandon
    await h.state("rec-noagent", "start")
    await finish(h, tape, "rec-noagent")


async def link_drop_mid_call(h: Harness, sb: Sandbox, tape: Tape) -> None:
    """The AMI link is cut while 101 talks (last digit 1: 8 s) and stays down until the call is over and
    Asterisk has written its record; reconciliation then closes the call from that record."""
    from tests.integration.engine_harness import pbx_records

    await only_agents(h, "101")
    await start_tape(h, tape, "link_drop_mid_call")
    await campaign_run(h, tape, "rec-link", [sim("1", 808)], wrapup_seconds=5)
    await h.state("rec-link", "start")
    await talking(h, "101")
    ami = h.svc.ami
    real_connect = ami._connect
    down = {"on": True}

    async def refused() -> None:
        if down["on"]:
            raise OSError("connection refused (recording a link outage)")
        await real_connect()

    ami._connect = refused  # type: ignore[method-assign]
    key = next(iter(h.svc.dialer.book.calls))
    assert ami._manager is not None
    ami._manager.close()
    await h.wait(lambda: not ami.is_up, 10, "link down")
    await h.wait(lambda: pbx_records(h.settings, [key]), 40, "Asterisk's record of the call")
    down["on"] = False
    await h.wait(lambda: h.svc.dialer.reconciled, 30, "link back and reconciled")
    ami._connect = real_connect  # type: ignore[method-assign]
    await finish(h, tape, "rec-link")


async def inbound_operator(h: Harness, sb: Sandbox, tape: Tape) -> None:
    """A 505 caller keys their application number, hears the status and presses 0 for an operator; 101
    answers; the caller hangs up a few seconds later."""
    from dialer.ivr import prompts as P
    from tests.integration.test_ivr_sandbox_support import Pbx505

    async with h.sessions() as s:
        if (await s.execute(select(Application).where(Application.number == INBOUND_APP))).first() is None:
            s.add(Application(number=INBOUND_APP, applicant_name="Петров Пётр Петрович", status="issued"))
            await s.commit()
    await only_agents(h, "101")
    await start_tape(h, tape, "inbound_operator")
    async with Pbx505(sb, h.settings) as p:
        c = await p.call("+79161230001")
        await p.wait_prompt(c, P.WELCOME)
        await p.press(c, INBOUND_APP + "#")
        await p.wait_prompt(c, P.CONFIRM_NUMBER)
        await p.press(c, "1")
        await p.wait_prompt(c, P.MENU)
        await p.press(c, "0")
        await talking(h, "101")
        await asyncio.sleep(3)  # the conversation
        await p.hang_up(c)
        await p.finished(c)
    await finish(h, tape, None)


async def callback_reserved_agent(h: Harness, sb: Sandbox, tape: Tape) -> None:
    """An agent's own callback: the contact asked to be called back by 102; 101, idle longer, stays free."""
    await only_agents(h, "101", "102")
    await start_tape(h, tape, "callback_reserved_agent")
    await campaign_run(h, tape, "rec-callback", [sim("1", 809)], wrapup_seconds=5)
    async with h.sessions() as s:
        a102 = (await s.execute(select(Agent.id).where(Agent.extension == "102"))).scalar_one()
        camp = (await s.execute(select(Campaign.id).where(Campaign.name == "rec-callback"))).scalar_one()
        await s.execute(update(Contact).where(Contact.campaign_id == camp).values(callback_agent_id=a102))
        await s.commit()
    await h.state("rec-callback", "start")
    await finish(h, tape, "rec-callback")


async def outbound(h: Harness, sb: Sandbox, tape: Tape) -> None:
    """Every last digit of the numbering table once (two agents, progressive), then three answers for one
    agent (ratio 3 on a day that can afford abandons): the tracker's replay (tests/unit/test_tracker_replay.py)."""
    await only_agents(h, "101", "102")
    await start_tape(h, tape, "outbound")
    await campaign_run(h, tape, "rec", [sim(d, 700) for d in "1234567890"], wrapup_seconds=0, ring_timeout=15)
    await h.state("rec", "start")
    await h.wait(lambda: h.completed("rec"), 120, "campaign rec completed")
    await h.wait(lambda: quiet(h), 60, "calls over")
    await agents.set_presence(h.sessions, "102", AgentPresence.LOGGED_OUT, actor="rec")
    await h.wait(lambda: h.svc.dialer.pool.agents["102"].state == "logged_out", 10, "102 logged out")
    await campaign_run(h, tape, "rec-abandon", [sim("1", 710 + i) for i in range(3)], mode="ratio", ratio=3.0)
    await seed_answered_today(h.sessions, "rec-abandon", 300)
    await h.state("rec-abandon", "start")
    await finish(h, tape, "rec-abandon")


SCENARIOS: dict[str, Callable[[Harness, Sandbox, Tape], Awaitable[None]]] = {
    "outbound": outbound,
    "customer_hangs_up_first": customer_hangs_up_first,
    "agent_hangs_up_first": agent_hangs_up_first,
    "amd_machine": amd_machine,
    "no_agent_abandon": no_agent_abandon,
    "callback_reserved_agent": callback_reserved_agent,
    "link_drop_mid_call": link_drop_mid_call,
    "inbound_operator": inbound_operator,
    "hangup_during_routing": hangup_during_routing,
    "softphone_no_answer": softphone_no_answer,
}
MANUAL_104 = {"hangup_during_routing", "softphone_no_answer"}  # 104's softphone rings, nobody answers


async def run(tmp: Path, sb: Sandbox, names: list[str]) -> None:
    tape = Tape()
    async with Harness(f"sqlite+aiosqlite:///{tmp / 'rec.db'}", tmp) as h:
        h.svc.ami.add_tap(tape)
        hook(h, tape)
        manual = False
        failed: list[str] = []
        try:
            for name in names:
                if (name in MANUAL_104) != manual:
                    manual = name in MANUAL_104
                    softphones.start(sb.root, "104", answer="manual" if manual else "auto")
                    await asyncio.to_thread(sb.wait_registered, ["104"], 20)
                print(f"recording {name} ...", flush=True)
                try:
                    await SCENARIOS[name](h, sb, tape)
                except Exception as e:  # the next scenarios still get their turn on this sandbox
                    tape.path = None
                    failed.append(name)
                    print(f"  {name} FAILED: {type(e).__name__}: {e}", flush=True)
                    await h.svc.ami.send({"Action": "Hangup", "Channel": "/^PJSIP/.*/", "Cause": "16"})
                    await h.wait(lambda: quiet(h), 60, "the sandbox quiet again")
                    continue
                print(f"  {name}.jsonl: {sum(1 for _ in (HERE / f'{name}.jsonl').open())} lines", flush=True)
        finally:
            tape.path = None
            if manual:
                with contextlib.suppress(Exception):
                    softphones.start(sb.root, "104")
        if failed:
            raise SystemExit(f"record: failed: {', '.join(failed)}")


def main() -> None:
    names = sys.argv[1:] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit(f"record: unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}")
    logging.basicConfig(
        filename=str(HERE.parent.parent / "data" / "record.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = load_settings(REPO / "config.yaml")
    with exclusive(settings.sandbox.root):
        sb = Sandbox(settings)
        sb.up()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                asyncio.run(run(Path(tmp), sb, names))
        finally:
            sb.down()


if __name__ == "__main__":
    main()
