"""The chain end to end on the real Asterisk 22: configuration, AMI, the simulated carrier network over a
PJSIP trunk, agent softphones, and an Asterisk restart."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dialer.ami.link import AmiLink, LinkState
from dialer.config import Settings

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def ami(sandbox: Any, base_settings: Settings) -> AsyncIterator[AmiLink]:
    link = AmiLink.from_settings(base_settings.ami)
    link.start()
    await link.wait_up(15)
    yield link
    await link.stop()


class Calls:
    """Collects events per call: the Originate's ActionID and the channel's Uniqueid (set with ChannelId)."""

    def __init__(self, link: AmiLink) -> None:
        self.by_uid: dict[str, list[dict[str, Any]]] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        link.on_event("*", self._on)

    def _on(self, e: Any) -> None:
        ev = dict(e)
        ev["_t"] = time.monotonic()
        if ev.get("Event") == "OriginateResponse":
            self.responses[ev.get("ActionID", "")] = ev
        uid = ev.get("Uniqueid")
        if uid:
            self.by_uid.setdefault(uid, []).append(ev)

    def events(self, uid: str, name: str) -> list[dict[str, Any]]:
        return [e for e in self.by_uid.get(uid, []) if e.get("Event") == name]


async def _originate(
    link: AmiLink, channel: str, timeout_ms: int = 20000, **extra: str
) -> tuple[str, str, float]:
    aid, uid = f"t-{uuid.uuid4().hex[:10]}", f"u-{uuid.uuid4().hex[:10]}"
    t0 = time.monotonic()
    resp = await link.send(
        {
            "Action": "Originate",
            "Channel": channel,
            "Application": "Wait",
            "Data": "40",
            "CallerID": '"505" <505>',
            "Timeout": str(timeout_ms),
            "ActionID": aid,
            "ChannelId": uid,
            **extra,
        }
    )
    assert resp.get("Response") == "Success", dict(resp)
    return aid, uid, t0


async def _wait(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_configuration_loads_without_errors_or_warnings(sandbox: Any) -> None:
    for carrier in (False, True):
        # loading the configuration: everything logged until the first "Asterisk Ready." (later lines come
        # from the calls other tests place, or a deliberate restart)
        boot = sandbox.log_text(carrier=carrier).split("Asterisk Ready.", 1)[0]
        bad = [ln for ln in boot.splitlines() if re.search(r"\b(WARNING|ERROR)\[", ln)]
        assert bad == [], ("carrier" if carrier else "pbx") + " log:\n" + "\n".join(bad)
    endpoints = sandbox.rx("pjsip show endpoints")
    for name in ("carrier", "101", "120"):
        assert re.search(rf"Endpoint:\s+{name}\b", endpoints), endpoints
    assert "dialer-answered" in sandbox.rx("dialplan show dialer-answered")
    assert "ivr-505" in sandbox.rx("dialplan show ivr-505")
    assert "sim-pstn" in sandbox.rx("dialplan show sim-pstn", carrier=True)


async def test_ami_user_logs_in_with_least_privilege(ami: AmiLink) -> None:
    chans = await ami.list_action({"Action": "CoreShowChannels"})
    assert isinstance(chans, list)
    # the dialer's AMI user may not run CLI commands (write class 'command' not granted)
    resp = await ami.send({"Action": "Command", "Command": "core show version"})
    assert resp.get("Response") == "Error" and "Permission denied" in resp.get("Message", "")


# last digit -> (OriginateResponse Reason, Hangup cause, SIP code from the carrier, talk seconds or None)
EXPECTED = {
    "1": ("4", "16", None, 8.0),
    "2": ("4", "16", None, 30.0),
    "3": ("0", "17", "486", None),
    "5": ("0", "34", "503", None),
    "6": ("0", "1", "404", None),
    "7": ("4", "16", None, 1.0),
    "8": ("4", None, None, None),
    "9": ("4", "16", None, 15.0),
    "0": ("4", "16", None, 15.0),
}


async def test_originate_to_the_simulated_network_gives_each_numbers_outcome(ami: AmiLink) -> None:
    calls = Calls(ami)
    placed: dict[str, tuple[str, str, float]] = {}
    for digit in [*EXPECTED, "4"]:
        timeout = 16000 if digit == "4" else 20000
        placed[digit] = await _originate(ami, f"PJSIP/799000012{digit}{digit}@carrier", timeout_ms=timeout)

    def finished() -> bool:
        return all(aid in calls.responses for aid, _, _ in placed.values())

    await _wait(finished, 25)
    # number 4 rings and is never answered: Originate times out (Reason 3) after the ring timeout
    aid, uid, t0 = placed["4"]
    r4 = calls.responses[aid]
    assert r4["Reason"] == "3" and r4["Response"] == "Failure"
    assert 15.0 <= r4["_t"] - t0 < 25.0

    for digit, (reason, cause, sip, _talk) in EXPECTED.items():
        aid, uid, t0 = placed[digit]
        resp = calls.responses[aid]
        assert resp["Reason"] == reason, (digit, resp)
        if reason == "4":
            assert resp["Uniqueid"] == uid  # our ChannelId ties every later event to the attempt
            ring = resp["_t"] - t0
            assert (5.0 <= ring < 8.5) if digit == "7" else (1.5 <= ring < 4.0), (digit, ring)
        if sip is not None:
            # PJSIP reports busy/congestion/unallocated as Reason 0; only the hangup cause tells them apart
            await _wait(lambda uid=uid: calls.events(uid, "Hangup"), 5)
            h = calls.events(uid, "Hangup")[0]
            assert (h["Cause"], h.get("TechCause")) == (cause, sip), (digit, h)

    # the person hangs up when done talking: normal clearing after the scripted talk time
    for digit in ("1", "7"):
        aid, uid, _ = placed[digit]
        await _wait(lambda uid=uid: calls.events(uid, "Hangup"), 12)
        h = calls.events(uid, "Hangup")[0]
        talked = h["_t"] - calls.responses[aid]["_t"]
        assert h["Cause"] == "16"
        assert abs(talked - EXPECTED[digit][3]) < 1.5, (digit, talked)
    # the answering machine (8) and the 15-s talkers stay up past its 4-s greeting
    for digit in ("8", "9", "0"):
        _, uid, _ = placed[digit]
        assert not calls.events(uid, "Hangup"), digit
    await ami.send({"Action": "Hangup", "Channel": "/^PJSIP/carrier-.*/", "Cause": "16"})


async def test_agent_softphone_is_registered_and_answers(ami: AmiLink, sandbox: Any) -> None:
    assert sandbox.registered_agents().get("101") in ("Avail", "NonQual")
    states = await ami.list_action({"Action": "DeviceStateList"})
    assert any(s.get("Device") == "PJSIP/101" and s.get("State") == "NOT_INUSE" for s in states)
    calls = Calls(ami)
    seen_states: list[str] = []
    ami.on_event("DeviceStateChange", lambda e: seen_states.append(f"{e['Device']}={e['State']}"))
    aid, uid, t0 = await _originate(ami, "PJSIP/101", Data="2")
    await _wait(lambda: aid in calls.responses, 10)
    assert calls.responses[aid]["Reason"] == "4"
    assert calls.responses[aid]["_t"] - t0 < 3.0
    # device_state_busy_at=1: an agent on one call is BUSY for the dialer
    await _wait(lambda: "PJSIP/101=BUSY" in seen_states, 5)
    # the agent stays on the line until the far end (here: Wait(2)) hangs up
    await _wait(lambda: calls.events(uid, "Hangup"), 10)
    assert calls.events(uid, "Hangup")[0]["_t"] - calls.responses[aid]["_t"] > 1.8
    await _wait(lambda: seen_states[-1] == "PJSIP/101=NOT_INUSE", 5)


async def test_ami_link_survives_an_asterisk_restart(ami: AmiLink, sandbox: Any) -> None:
    before = ami.connects
    states: list[LinkState] = []
    ami.on_state(states.append)
    await asyncio.to_thread(sandbox.rx, "core restart now")
    await _wait(lambda: LinkState.DOWN in states, 15)
    await _wait(lambda: ami.state is LinkState.UP and ami.connects > before, 60)
    chans = await ami.list_action({"Action": "CoreShowChannels"})
    assert chans == []
    await asyncio.to_thread(sandbox.wait_registered, ["101"], 30)
