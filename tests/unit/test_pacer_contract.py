"""The pacer learns the same from production as from the simulator: one scripted call sequence, written once,
driven through the engine's call book (as AMI events and route calls, in the recordings' format, replayed by
tests/unit/replay.py) and through the simulator (dialer/simulator/), gives the same observations in the same
order — CallEnded(ring, outcome), AgentCallFinished(talk, wrap-up), Abandoned.

One agent; the numbers are on the engine's half-second tick so both sides measure exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialer.pacing import Abandoned, AgentCallFinished, CallEnded, Observation, PacingDecision, PacingView
from dialer.simulator.engine import DaySimulation
from dialer.simulator.scenario import AgentShift, CallFate, Scenario
from tests.unit.replay import replay_lines

T0 = 1_800_000_000.0  # the engine's clock at the start of the script
RING_TIMEOUT = 15.0
AMD_DELAY = 2.5  # the answering-machine detector listens this long after the answer
MESSAGE = 4.0  # seconds of the message an abandoned call or a machine hears before the PBX hangs up


@dataclass(frozen=True)
class Scripted:
    """One call: dialled at ``at``; ``fate`` live/busy/noanswer/machine after ``ring`` s; a live call that
    reaches the agent talks ``talk`` s and is wrapped up in ``wrap`` s (the campaign's wrap-up)."""

    at: float
    fate: str
    ring: float
    talk: float = 0.0
    wrap: float = 0.0


WRAP = 5.0
SEQUENCE = (
    Scripted(0.0, "live", 2.0, talk=8.0, wrap=WRAP),  # answered, connected, talks 8 s, wrap-up 5 s
    Scripted(3.0, "live", 2.0),  # answered while the only agent talks: abandoned
    Scripted(20.0, "busy", 3.0),
    Scripted(30.0, "noanswer", RING_TIMEOUT),
)
WITH_MACHINE = (*SEQUENCE, Scripted(50.0, "machine", 2.0))


# ---- the simulator's side --------------------------------------------------------------------------------
class ScriptedPacer:
    def __init__(self, script: tuple[Scripted, ...]) -> None:
        self.at = {c.at for c in script}
        self.observed: list[Observation] = []

    def decide(self, view: PacingView) -> PacingDecision:
        return PacingDecision(1 if view.now in self.at else 0, 0.0, "script")

    def observe(self, obs: Observation) -> None:
        self.observed.append(obs)


@dataclass(frozen=True)
class ScriptedDay(Scenario):
    script: tuple[Scripted, ...] = ()

    def _call(self, t: float) -> Scripted:
        return next(c for c in self.script if c.at == t)

    def fate_of(self, key: int, t: float) -> CallFate:
        # the simulator's rule (Scenario.fate_of): with AMD the ringing phase ends at the detector's verdict
        c = self._call(t)
        if c.fate in ("live", "machine"):
            ring = c.ring + (self.amd_delay if self.amd else 0.0)
            return CallFate(ring, c.fate, c.fate == "live", 0.0)  # type: ignore[arg-type]
        return CallFate(c.ring, c.fate, False, 0.0)  # type: ignore[arg-type]

    def agent_call_of(self, key: int, t: float) -> tuple[float, float]:
        c = next(c for c in self.script if c.fate == "live" and c.talk and self._connects_at(c) == t)
        return c.talk, c.wrap

    def _connects_at(self, c: Scripted) -> float:
        return c.at + c.ring + (self.amd_delay if self.amd else 0.0)

    def shift(self, seed: int, day: int, agent: int) -> AgentShift:
        return AgentShift(0.0, self.day_seconds, ())


def simulator(script: tuple[Scripted, ...], amd: bool) -> list[Observation]:
    sc = ScriptedDay(
        agents=1,
        ring_timeout=RING_TIMEOUT,
        amd=amd,
        amd_delay=AMD_DELAY,
        abandon_after=2.0,
        day_seconds=120.0,
        script=script,
    )
    pacer = ScriptedPacer(script)
    DaySimulation(sc, pacer, seed=1, day=0).run()
    return pacer.observed


# ---- the engine's side: the same calls as Asterisk and the routes show them to the call book ---------------
def engine(script: tuple[Scripted, ...], amd: bool) -> list[Observation]:
    lines: list[tuple[float, dict[str, Any]]] = []

    def at(t: float, ev: dict[str, Any]) -> None:
        lines.append((t, {**ev, "Timestamp": f"{T0 + t:.6f}"}))

    at(-1.0, {"Event": "DialerAgents", "agents": [_agent("101")]})
    at(-1.0, {"Event": "DialerCampaign", **_campaign(amd)})
    agent_free_at = 0.0
    for n, c in enumerate(script):
        key, chan = f"dlr-{n:020d}", f"PJSIP/carrier-{n:08x}"
        at(c.at, {"Event": "DialerPlaced", **_placed(n, key), "camp_id": 1, "ring_timeout": 15, "amd": amd})
        at(c.at, {"Event": "Newchannel", "Uniqueid": key, "Channel": chan})
        end = c.at + c.ring
        if c.fate in ("busy", "noanswer"):
            cause, reason = (17, 0) if c.fate == "busy" else (19, 3)
            at(end, {"Event": "Hangup", "Uniqueid": key, "Channel": chan, "Cause": str(cause)})
            at(end, {"Event": "OriginateResponse", "ActionID": key, "Reason": str(reason)})
            continue
        at(end, {"Event": "Newstate", "Uniqueid": key, "Channel": chan, "ChannelStateDesc": "Up"})
        at(end, {"Event": "OriginateResponse", "ActionID": key, "Reason": "4"})
        verdict = end + (AMD_DELAY if amd else 0.0)
        got: dict[str, str | None] = {"AGENT_FAILED": ""}
        if amd:
            got["AMDSTATUS"] = "MACHINE" if c.fate == "machine" else "HUMAN"
        route = {"Event": "DialerRoute", "route": "answered", "uniqueid": key, "callerid": "", "error": None}
        if c.fate == "machine":
            at(verdict, {**route, "got": got, "set": [["DIALER_ACTION", "machine"]], "played": []})
            at(verdict + MESSAGE, {"Event": "Hangup", "Uniqueid": key, "Channel": chan, "Cause": "16"})
        elif verdict < agent_free_at:  # nobody free within 2 s: the message, then the PBX hangs up
            decision = [["DIALER_CALLBACK", "0"], ["DIALER_ACTION", "abandon"]]
            at(
                verdict + 2.0,
                {**route, "got": got, "set": decision, "played": [], "started": f"{T0 + verdict}"},
            )
            at(verdict + 2.0 + MESSAGE, {"Event": "Hangup", "Uniqueid": key, "Channel": chan, "Cause": "16"})
        else:
            decision = [["AGENT_EXTEN", "101"], ["DIALER_ACTION", "connect"]]
            at(verdict, {**route, "got": got, "set": decision, "played": []})
            leg, agent_chan = f"agent-{n}", f"PJSIP/101-{n:08x}"
            dial = {"Uniqueid": key, "DestChannel": agent_chan, "DestUniqueid": leg}
            at(verdict, {"Event": "DialBegin", **dial})
            at(verdict, {"Event": "DialEnd", **dial, "DialStatus": "ANSWER"})
            hangup = verdict + c.talk  # the customer hangs up; the agent's leg ends with it
            at(hangup, {"Event": "Hangup", "Uniqueid": key, "Channel": chan, "Cause": "16"})
            at(hangup, {"Event": "Hangup", "Uniqueid": leg, "Channel": agent_chan, "Cause": "16"})
            agent_free_at = hangup + c.wrap
    lines.sort(key=lambda x: x[0])  # stable: events at one instant keep the order written
    r = replay_lines([ev for _, ev in lines])
    for name, replayed, live in r.routes:
        assert replayed == live, (name, replayed, live)
    return r.observed["contract"]


def _agent(ext: str) -> dict[str, Any]:
    return {
        "id": 1,
        "ext": ext,
        "name": "",
        "presence": "ready",
        "pause_reason": None,
        "campaigns": [],
        "device": "NOT_INUSE",
    }


def _campaign(amd: bool) -> dict[str, Any]:
    return {
        "id": 1,
        "name": "contract",
        "mode": "predictive",
        "max_attempts": 1,
        "ring_timeout": int(RING_TIMEOUT),
        "wrapup_seconds": int(WRAP),
        "amd": amd,
        "abandon_cap": 0.03,
    }


def _placed(n: int, key: str) -> dict[str, Any]:
    return {
        "attempt_id": n + 1,
        "key": key,
        "campaign_id": 1,
        "contact_id": n + 1,
        "phone": f"+7990000{n:04d}",
        "attempts": 1,
        "reserved_agent": None,
        "label": "",
        "application": None,
    }


# ---- the contract -------------------------------------------------------------------------------------------
def test_without_amd_the_pacer_hears_the_same_from_the_engine_as_from_the_simulator() -> None:
    sim = simulator(SEQUENCE, amd=False)
    assert sim == [
        CallEnded(2.0, "live"),
        CallEnded(2.0, "live"),
        Abandoned(),
        AgentCallFinished(8.0, WRAP),
        CallEnded(3.0, "busy"),
        CallEnded(RING_TIMEOUT, "noanswer"),
    ]  # the script, read by hand
    assert engine(SEQUENCE, amd=False) == sim


def test_with_amd_the_pacer_hears_the_same_and_the_ringing_ends_at_the_detectors_verdict() -> None:
    sim = simulator(WITH_MACHINE, amd=True)
    verdict = 2.0 + AMD_DELAY
    assert sim == [
        CallEnded(verdict, "live"),
        CallEnded(verdict, "live"),
        Abandoned(),
        AgentCallFinished(8.0, WRAP),
        CallEnded(3.0, "busy"),
        CallEnded(RING_TIMEOUT, "noanswer"),
        CallEnded(verdict, "machine"),
    ]
    assert engine(WITH_MACHINE, amd=True) == sim


# a busy call whose ringing ends while the abandoned caller hears the message (between the 2 s and the hang-up)
OVERLAP = (*SEQUENCE[:2], Scripted(4.0, "busy", 4.0))


def test_an_abandon_reaches_the_pacer_when_the_two_seconds_run_out() -> None:
    sim = simulator(OVERLAP, amd=False)
    assert sim == [
        CallEnded(2.0, "live"),
        CallEnded(2.0, "live"),
        Abandoned(),
        CallEnded(4.0, "busy"),
        AgentCallFinished(8.0, WRAP),
    ]
    assert engine(OVERLAP, amd=False) == sim
