"""Call tracking replayed from event sequences recorded on the real Asterisk sandbox
(tests/recordings/record.py): the same state machine the live engine runs, fed from a file."""

from __future__ import annotations

import json
from pathlib import Path

from dialer.engine.outcomes import classify
from dialer.engine.tracker import PREFIX, CallTracker

REC = Path(__file__).resolve().parents[1] / "recordings"


def _replay() -> tuple[dict[str, str], dict[str, list[str]], CallTracker]:
    events = [json.loads(line) for line in (REC / "outbound.jsonl").read_text().splitlines() if line.strip()]
    expected = json.loads((REC / "outbound.expected.json").read_text())
    tracker = CallTracker()
    t0 = float(events[0].get("Timestamp", 0))
    for key in expected:
        tracker.expect(key, t0)
    outcomes: dict[str, str] = {}
    changes: dict[str, list[str]] = {}
    last = t0
    for ev in events:
        last = float(ev.get("Timestamp", last))
        for ch in tracker.feed(ev, last):
            changes.setdefault(ch.key, []).append(ch.kind)
            if ch.kind == "finished":
                call = tracker.calls[ch.key]
                # the live engine tells the tracker when its routing gave up; a replay infers it
                outcomes[ch.key] = classify(call.facts).value
    for ch in tracker.expire(last + 60):
        outcomes[ch.key] = classify(tracker.calls[ch.key].facts).value
    return outcomes, changes, tracker


def test_every_recorded_call_is_classified_as_the_live_engine_did() -> None:
    expected = json.loads((REC / "outbound.expected.json").read_text())
    outcomes, _, _ = _replay()
    assert outcomes == {k: v["outcome"] for k, v in expected.items()}
    # the recording covers every simulated outcome
    assert {"connected", "abandoned", "busy", "noanswer", "congestion", "invalid"} <= set(outcomes.values())


def test_connected_calls_go_through_answer_agent_ringing_and_connection_in_order() -> None:
    expected = json.loads((REC / "outbound.expected.json").read_text())
    _, changes, tracker = _replay()
    for key, info in expected.items():
        assert key.startswith(PREFIX)
        kinds = changes[key]
        assert kinds.count("finished") == 1
        # after the customer hangs up only the agent's leg may still end (the agent's wrap-up starts then)
        assert set(kinds[kinds.index("finished") + 1 :]) <= {"agent_leg_ended"}
        if info["outcome"] == "connected":
            assert kinds.index("answered") < kinds.index("agent_ringing") < kinds.index("agent_connected")
            call = tracker.calls[key]
            assert call.bridged_at is not None and call.answered_at is not None
            assert 0 <= call.bridged_at - call.answered_at < 2.0  # reached an agent inside 2 s
        if info["outcome"] in ("busy", "congestion", "invalid"):
            # PJSIP: Originate's Reason is 0; the Hangup cause told them apart
            assert tracker.calls[key].facts.originate_reason == 0
            assert "answered" not in kinds
