"""Call tracking replayed from event sequences recorded on the real Asterisk sandbox
(tests/recordings/outbound.jsonl, made by tests/recordings/record.py): the same state machine the live engine
runs, fed from a file. The expected outcomes are written by hand from the sandbox's numbering table (README):
the last digit of the number decides."""

from __future__ import annotations

import json
from pathlib import Path

from dialer.engine.outcomes import classify
from dialer.engine.tracker import PREFIX, CallTracker

REC = Path(__file__).resolve().parents[1] / "recordings"

# campaign "rec": two agents, progressive, every last digit once (+7990000700d)
BY_DIGIT = {
    "1": "connected",  # answers after 2 s
    "2": "connected",
    "3": "busy",  # SIP 486
    "4": "noanswer",  # rings out the 15 s ring timeout
    "5": "congestion",  # SIP 503
    "6": "invalid",  # SIP 404
    "7": "connected",  # answers after 6 s; an agent is free (progressive)
    "8": "connected",  # an answering machine, but the campaign has no AMD: it reaches an agent
    "9": "connected",
    "0": "connected",
}


def _replay() -> tuple[dict[str, str], dict[str, str], dict[str, list[str]], CallTracker]:
    """(key -> phone, key -> outcome, key -> changes, tracker)."""
    events = [json.loads(line) for line in (REC / "outbound.jsonl").read_text().splitlines() if line.strip()]
    tracker = CallTracker()
    phones: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    changes: dict[str, list[str]] = {}
    last = 0.0
    for ev in events:
        last = float(ev.get("Timestamp", last))
        if ev["Event"] == "DialerPlaced":  # the engine expects each call before its Originate
            phones[ev["key"]] = ev["phone"]
            tracker.expect(ev["key"], last)
            continue
        for ch in tracker.feed(ev, last):
            changes.setdefault(ch.key, []).append(ch.kind)
            if ch.kind == "finished":
                # the live engine's route knows when it gave up; a replay infers it from the facts
                outcomes[ch.key] = classify(tracker.calls[ch.key].facts).value
    for ch in tracker.expire(last + 60):
        outcomes[ch.key] = classify(tracker.calls[ch.key].facts).value
    return phones, outcomes, changes, tracker


def test_every_recorded_call_is_classified_by_its_number() -> None:
    phones, outcomes, _, _ = _replay()
    assert set(outcomes) == set(phones)  # every call placed was finished exactly once
    first = {phones[k][-1]: o for k, o in outcomes.items() if phones[k].startswith("+7990000700")}
    assert first == BY_DIGIT
    # campaign "rec-abandon": three numbers answering after 2 s, ratio 3, one agent: one reaches it
    abandon = sorted(o for k, o in outcomes.items() if phones[k].startswith("+799000071"))
    assert abandon == ["abandoned", "abandoned", "connected"]


def test_connected_calls_go_through_answer_agent_ringing_and_connection_in_order() -> None:
    phones, outcomes, changes, tracker = _replay()
    for key, outcome in outcomes.items():
        assert key.startswith(PREFIX)
        kinds = changes[key]
        assert kinds.count("finished") == 1
        # after the customer hangs up only the agent's leg may still end (the agent's wrap-up starts then)
        assert set(kinds[kinds.index("finished") + 1 :]) <= {"agent_leg_ended"}
        if outcome == "connected":
            assert kinds.index("answered") < kinds.index("agent_ringing") < kinds.index("agent_connected")
            call = tracker.calls[key]
            assert call.bridged_at is not None and call.answered_at is not None
            assert 0 <= call.bridged_at - call.answered_at < 2.0  # reached an agent inside 2 s
        if outcome in ("busy", "congestion", "invalid"):
            # PJSIP: Originate's Reason is 0; the Hangup cause told them apart
            assert tracker.calls[key].facts.originate_reason == 0
            assert "answered" not in kinds
    assert outcomes, phones
