"""Call tracking: one state machine fed by AMI events, live or replayed from a recording.

Every outbound call is originated with ``ActionID`` = ``ChannelId`` = ``dlr-<key>``, so the customer leg's
Uniqueid is known before the call exists and every later event ties to its attempt. The agent leg is
found through the customer leg's ``DialBegin``/``DialEnd``. Pure: no I/O. Two clocks, never mixed: durations
come from the events' ``Timestamp`` header (Asterisk's clock, ``timestampevents = yes``); deadlines (``expire``)
from the service's clock given to ``feed``, so clock skew between the hosts can't close a call early.

A call is finished once its customer leg has hung up AND Originate has answered (over PJSIP either may
come first); ``expire()`` finishes calls whose second half never comes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialer.engine.outcomes import REASON_ANSWERED, CallFacts

PREFIX = "dlr-"


def _int(v: Any) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


def _ext(channel: str) -> str | None:
    """``PJSIP/101-0000001a`` -> ``101``."""
    if not channel.startswith("PJSIP/"):
        return None
    name = channel[6:].rsplit("-", 1)[0]
    return name if name.isdigit() else None


@dataclass
class TrackedCall:
    key: str
    created: float
    facts: CallFacts = field(default_factory=CallFacts)
    ringing_at: float | None = None
    answered_at: float | None = None
    agent: str | None = None  # extension being dialled or connected
    agent_uid: str | None = None
    bridged_at: float | None = None
    hungup_at: float | None = None
    originate_done: bool = False
    originate_at: float | None = None
    finished: bool = False
    # service clock: when the Hangup / OriginateResponse reached us (for deadlines only)
    hungup_seen: float | None = None
    originate_seen: float | None = None
    answered_seen: float | None = None


@dataclass(frozen=True)
class Change:
    """Something the engine must act on. ``kind``: answered, agent_ringing, agent_connected,
    agent_failed, agent_leg_ended, finished."""

    kind: str
    key: str
    at: float
    agent: str | None = None
    detail: str | None = None


class CallTracker:
    def __init__(self) -> None:
        self.calls: dict[str, TrackedCall] = {}
        self._agent_legs: dict[str, tuple[str, str]] = {}  # agent leg uid -> (call key, extension)
        self._now = 0.0  # the service's clock at the event being fed

    # ---- bookkeeping ---------------------------------------------------------------------------------
    def expect(self, key: str, now: float) -> TrackedCall:
        """Register a call before its Originate is sent."""
        call = self.calls.get(key) or TrackedCall(key, now)
        self.calls[key] = call
        return call

    def forget(self, key: str) -> None:
        """Drop a finished call; its agent leg stays known until that leg's own Hangup (the agent's wrap-up
        starts then, and the customer usually hangs up first)."""
        self.calls.pop(key, None)

    def adopt_agent_leg(self, key: str, agent: str, agent_uid: str) -> None:
        """After a restart: an agent leg found in CoreShowChannels belongs to this call."""
        call = self.calls[key]
        call.agent, call.agent_uid = agent, agent_uid
        self._agent_legs[agent_uid] = (key, agent)

    # ---- events --------------------------------------------------------------------------------------
    def feed(self, ev: Mapping[str, Any], now: float) -> list[Change]:
        name = str(ev.get("Event", ""))
        t = _float(ev.get("Timestamp")) or now
        handler = getattr(self, "_on_" + name.lower(), None)
        if handler is None:
            return []
        self._now = now
        out: list[Change] = handler(ev, t)
        return out

    def _call(self, uid: Any) -> TrackedCall | None:
        return self.calls.get(uid) if isinstance(uid, str) else None

    def _on_newchannel(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("Uniqueid"))
        if call and call.ringing_at is None:
            call.ringing_at = t
        return []

    def _on_originateresponse(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("ActionID"))
        if call is None or call.originate_done:
            return []
        call.originate_done = True
        call.originate_at = t
        call.originate_seen = self._now
        reason = _int(ev.get("Reason"))
        call.facts.originate_reason = reason
        out: list[Change] = []
        if reason == REASON_ANSWERED and not call.facts.answered:
            call.facts.answered = True
            call.answered_at = t
            call.answered_seen = self._now
            out.append(Change("answered", call.key, t))
        return out + self._maybe_finish(call, t)

    def _on_newstate(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("Uniqueid"))
        if call and str(ev.get("ChannelStateDesc")) == "Up" and not call.facts.answered:
            call.facts.answered = True
            call.answered_at = t
            call.answered_seen = self._now
            return [Change("answered", call.key, t)]
        return []

    def _on_dialbegin(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("Uniqueid"))
        ext = _ext(str(ev.get("DestChannel", "")))
        if call is None or ext is None:
            return []
        call.agent = ext
        call.agent_uid = str(ev.get("DestUniqueid", ""))
        self._agent_legs[call.agent_uid] = (call.key, ext)
        return [Change("agent_ringing", call.key, t, agent=ext)]

    def _on_dialend(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("Uniqueid"))
        ext = _ext(str(ev.get("DestChannel", "")))
        if call is None or ext is None:
            return []
        status = str(ev.get("DialStatus", ""))
        if status == "ANSWER":
            call.facts.agent_connected = True
            call.bridged_at = t
            return [Change("agent_connected", call.key, t, agent=ext)]
        return [Change("agent_failed", call.key, t, agent=ext, detail=status)]

    def _on_userevent(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        call = self._call(ev.get("Uniqueid"))
        if call and str(ev.get("UserEvent")) == "DialerAMD":
            call.facts.amd_status = str(ev.get("AMDStatus") or ev.get("Status") or "")
        return []

    def _on_hangup(self, ev: Mapping[str, Any], t: float) -> list[Change]:
        uid = str(ev.get("Uniqueid", ""))
        leg = self._agent_legs.pop(uid, None)
        if leg is not None:
            return [Change("agent_leg_ended", leg[0], t, agent=leg[1])]
        call = self._call(uid)
        if call is None or call.hungup_at is not None:
            return []
        call.hungup_at = t
        call.hungup_seen = self._now
        call.facts.hangup_cause = _int(ev.get("Cause"))
        call.facts.tech_cause = _int(ev.get("TechCause"))
        return self._maybe_finish(call, t)

    def _maybe_finish(self, call: TrackedCall, t: float) -> list[Change]:
        if call.finished or call.hungup_at is None:
            return []
        if not call.originate_done and not call.facts.answered:
            return []  # OriginateResponse (with the Reason) is still to come
        call.finished = True
        return [Change("finished", call.key, t)]

    def expire(self, now: float, grace: float = 3.0) -> list[Change]:
        """Finish calls whose other half is overdue: Originate failed with no channel (no Hangup ever comes),
        or a Hangup whose OriginateResponse never came."""
        out = []
        for call in list(self.calls.values()):
            if call.finished:
                continue
            if call.originate_done and call.hungup_at is None and not call.facts.answered:
                # failed Originate without a channel: no Hangup will come
                seen = call.originate_seen
                if seen is not None and now - seen > grace:
                    call.finished = True
                    out.append(Change("finished", call.key, now))
            elif call.hungup_seen is not None and now - call.hungup_seen > grace:
                call.finished = True
                out.append(Change("finished", call.key, now))
        return out


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
