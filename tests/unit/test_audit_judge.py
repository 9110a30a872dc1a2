"""The audit's rules on hand-written call records (rows as Asterisk 22's cdr_sqlite3_custom writes them) and
hand-written attempts: each promise broken once is reported once, with its attempt and channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.audit.judge import KINDS, AttemptFact, CampaignFact, ContactFact, Facts, audit
from dialer.callrecords.fate import CdrRow
from dialer.engine.window import CallingWindow

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Monday
NOW = T0 + timedelta(hours=1)
CAMP = CampaignFact(
    id=1,
    name="pickup",
    max_attempts=2,
    abandon_cap=0.25,
    window=CallingWindow.build(
        "Europe/Moscow", {d: "09:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    ),
    timezone="Europe/Moscow",
)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def row(
    key: str,
    start: float,
    end: float,
    disposition: str,
    *,
    answer: float | None = None,
    agent: str | None = None,
    uniqueid: str | None = None,
    userfield: str = "",
) -> CdrRow:
    return CdrRow(
        uniqueid=uniqueid or key,
        linkedid=key,
        channel="PJSIP/carrier-00000001",
        dstchannel=f"PJSIP/{agent}-00000002" if agent else "",
        lastapp="Dial" if agent else "AGI",
        disposition=disposition,
        start=at(start),
        answer=at(answer) if answer is not None else None,
        end=at(end),
        billsec=int(end - answer) if answer is not None else 0,
        userfield=userfield,
    )


def connected(key: str, start: float, end: float, agent: str = "101") -> CdrRow:
    return row(key, start, end, "ANSWERED", answer=start + 2, agent=agent)


def attempt(
    id: int,
    key: str,
    start: float,
    end: float | None,
    outcome: str | None,
    *,
    phone: str = "+79900000011",
    contact: int | None = None,
    agent: str | None = None,
    state: str | None = None,
) -> AttemptFact:
    return AttemptFact(
        id=id,
        key=key,
        campaign_id=1,
        contact_id=contact if contact is not None else id,
        phone=phone,
        state=state or ("ended" if end is not None else "sent"),
        outcome=outcome,
        agent=agent,
        originated_at=at(start),
        ended_at=at(end) if end is not None else None,
    )


def judge(records: list[CdrRow], attempts: list[AttemptFact], **kw: object) -> dict[str, list[str]]:
    facts = Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=kw.pop("now", NOW), **kw)  # type: ignore[arg-type]
    report = audit(facts)
    out: dict[str, list[str]] = {}
    for a in report.anomalies:
        out.setdefault(a.kind, []).append(f"{a.attempt_id}/{a.channel}")
    return out


def clean_day() -> tuple[list[CdrRow], list[AttemptFact]]:
    records = [
        connected("dlr-a", 0, 20, "101"),
        row("dlr-b", 1, 5, "BUSY", uniqueid="dlr-b"),
        row("dlr-c", 2, 32, "NO ANSWER"),
        row("dlr-d", 3, 10, "ANSWERED", answer=5, userfield="machine"),
        # an agent's phone that did not answer, then the next agent took the call
        row("dlr-e", 4, 6, "NO ANSWER", agent="102", uniqueid="dlr-e-leg"),
        connected("dlr-e", 4, 40, "103"),
    ]
    attempts = [
        attempt(1, "dlr-a", 0, 20, "connected", agent="101", phone="+79900000011"),
        attempt(2, "dlr-b", 1, 5, "busy", phone="+79900000013"),
        attempt(3, "dlr-c", 2, 32, "noanswer", phone="+79900000014"),
        attempt(4, "dlr-d", 3, 10, "machine", phone="+79900000018"),
        attempt(5, "dlr-e", 4, 40, "connected", agent="103", phone="+79900000019"),
    ]
    return records, attempts


def test_a_clean_day_has_no_anomaly_and_counts_what_asterisk_placed() -> None:
    records, attempts = clean_day()
    report = audit(Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW))
    assert report.anomalies == []
    assert report.counts() == dict.fromkeys(KINDS, 0)
    assert report.calls == {
        "attempts": 5,
        "placed": 5,
        "connected": 2,
        "abandoned": 0,
        "machine": 1,
        "not_answered": 2,
        "unwitnessed": 0,
        "abandoned_in_outage": 0,
    }


def test_a_call_asterisk_placed_without_an_attempt_and_an_attempt_it_never_placed() -> None:
    records, attempts = clean_day()
    records.append(row("dlr-ghost", 50, 60, "BUSY"))
    attempts.append(attempt(6, "dlr-lost", 50, 80, "noanswer", phone="+79900000024"))
    # given back as never sent, yet Asterisk has it
    records.append(row("dlr-back", 70, 75, "BUSY"))
    attempts.append(attempt(7, "dlr-back", 70, 70, None, phone="+79900000033", state="not_sent"))
    # given back and really never placed: fine
    attempts.append(attempt(8, "dlr-fine", 70, 70, None, phone="+79900000043", state="not_sent"))
    assert judge(records, attempts) == {
        "call_without_attempt": ["None/dlr-ghost", "7/dlr-back"],
        "attempt_not_placed": ["6/dlr-lost"],
    }


def test_no_record_while_the_pbx_was_killed_is_unwitnessed_not_an_anomaly() -> None:
    records, attempts = clean_day()
    attempts.append(attempt(6, "dlr-lost", 50, 80, "failed", phone="+79900000024"))
    report = audit(
        Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW, blind=[(at(60), at(65))])
    )
    assert report.anomalies == [] and report.unwitnessed == [6]
    # a kill before the call started does not excuse it
    report = audit(
        Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW, blind=[(at(10), at(20))])
    )
    assert [a.kind for a in report.anomalies] == ["attempt_not_placed"]


def test_a_record_not_written_yet_is_not_judged() -> None:
    records, attempts = clean_day()
    attempts.append(attempt(6, "dlr-late", 50, 80, "busy", phone="+79900000023"))
    assert judge(records, attempts, now=at(82)) == {}


def test_outcomes_and_agents_that_disagree_with_asterisk() -> None:
    records, attempts = clean_day()
    attempts[0] = attempt(1, "dlr-a", 0, 20, "abandoned")  # Asterisk: connected to 101
    attempts[1] = attempt(2, "dlr-b", 1, 5, "connected", agent="101", phone="+79900000013")  # Asterisk: busy
    attempts[2] = attempt(3, "dlr-c", 2, 32, "abandoned", phone="+79900000014")  # Asterisk: never answered
    attempts[4] = attempt(5, "dlr-e", 4, 40, "connected", agent="102", phone="+79900000019")  # 103 took it
    assert judge(records, attempts) == {
        "outcome_mismatch": ["1/dlr-a", "2/dlr-b", "3/dlr-c"],
        "agent_mismatch": ["5/dlr-e"],
    }


def test_two_calls_to_one_number_up_at_once() -> None:
    records = [connected("dlr-a", 0, 20), row("dlr-b", 15, 19, "BUSY"), row("dlr-c", 20, 25, "BUSY")]
    attempts = [
        attempt(1, "dlr-a", 0, 20, "connected", agent="101", contact=1),
        attempt(2, "dlr-b", 15, 19, "busy", contact=2),  # same number, other campaign contact
        attempt(3, "dlr-c", 20, 25, "busy", contact=3),  # starts as the first ends: not overlapping
    ]
    assert judge(records, attempts) == {"overlapping_calls": ["2/dlr-b"]}


def test_over_the_attempt_limit_counts_every_placed_attempt_of_the_contact() -> None:
    records = [row("dlr-a", 0, 5, "BUSY"), row("dlr-b", 100, 105, "BUSY"), row("dlr-c", 200, 205, "BUSY")]
    attempts = [
        attempt(i + 1, k, s, s + 5, "busy", contact=7)
        for i, (k, s) in enumerate([("dlr-a", 0), ("dlr-b", 100), ("dlr-c", 200)])
    ]
    assert judge(records, attempts, placed_per_contact={7: 3}) == {"over_attempt_limit": ["1/dlr-a"]}
    assert judge(records[:2], attempts[:2], placed_per_contact={7: 2}) == {}


def test_a_call_outside_the_window_by_asterisks_clock_with_a_moment_of_grace() -> None:
    # 19:00 Moscow = 16:00 UTC: the window closes then (end exclusive)
    close = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    late = (close - T0).total_seconds()
    records = [
        row("dlr-a", late - 30, late - 25, "BUSY"),
        row("dlr-b", late + 3, late + 8, "BUSY"),  # decided at 18:59:58, channel at 19:00:03: grace
        row("dlr-c", late + 60, late + 65, "BUSY"),
    ]
    attempts = [
        attempt(1, "dlr-a", late - 30, late - 25, "busy", phone="+79900000013"),
        attempt(2, "dlr-b", late - 2, late + 8, "busy", phone="+79900000023"),
        attempt(3, "dlr-c", late + 60, late + 65, "busy", phone="+79900000033"),
    ]
    assert judge(records, attempts, now=close + timedelta(hours=1)) == {"outside_window": ["3/dlr-c"]}


def test_a_call_to_a_number_already_on_the_do_not_call_list() -> None:
    records, attempts = clean_day()
    dnc = {"+79900000013": at(0.5), "+79900000014": at(30)}  # added before call 2, after call 3 started
    assert judge(records, attempts, do_not_call=dnc) == {"do_not_call": ["2/dlr-b"]}


def test_attempts_contacts_and_numbers_left_in_flight() -> None:
    records, attempts = clean_day()
    attempts.append(attempt(6, "dlr-f", 100, None, None, phone="+79900000051"))  # Asterisk ended it long ago
    records.append(row("dlr-f", 100, 110, "BUSY"))
    attempts.append(attempt(7, "dlr-g", 200, None, None, phone="+79900000061"))  # no record, 2 h old
    attempts.append(attempt(8, "dlr-h", 3500, None, None, phone="+79900000071"))  # just placed: fine
    contacts = [
        ContactFact(20, 1, "+79900000081", "dialing"),  # no open attempt
        ContactFact(8, 1, "+79900000071", "dialing"),  # attempt 8 is open: fine
    ]
    inflight = {"+79900000011": 1, "+79900000071": 8}  # attempt 1 ended: its claim is stuck
    got = judge(
        records,
        attempts,
        contacts=contacts,
        inflight=inflight,
        stuck_after=timedelta(minutes=30),
    )
    assert got == {"stuck_in_flight": ["6/dlr-f", "7/dlr-g", "None/None", "1/dlr-a"]}


def test_a_day_over_its_abandon_cap_by_asterisks_verdicts() -> None:
    # 1 abandoned of 4 answered = 25%: at the cap, not over
    records = [connected(f"dlr-{i}", i * 30, i * 30 + 20) for i in range(3)]
    records.append(row("dlr-x", 100, 105, "ANSWERED", answer=102, userfield="abandon"))
    attempts = [
        attempt(i + 1, f"dlr-{i}", i * 30, i * 30 + 20, "connected", agent="101", phone=f"+7990000{i:03d}1")
        for i in range(3)
    ]
    attempts.append(attempt(4, "dlr-x", 100, 105, "abandoned", phone="+79900000101"))
    assert judge(records, attempts) == {}
    # the service said connected, Asterisk says abandoned: the day is judged by Asterisk
    records.append(row("dlr-y", 200, 205, "ANSWERED", answer=202, userfield="abandon"))
    attempts.append(attempt(5, "dlr-y", 200, 205, "connected", agent="101", phone="+79900000201"))
    got = audit(Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW))
    assert [(a.kind, a.campaign) for a in got.anomalies] == [
        ("outcome_mismatch", "pickup"),
        ("abandon_over_cap", "pickup"),
    ]
    assert got.anomalies[1].detail == "2026-11-30: 2 abandoned of 5 answered (40.0%, cap 25.0%)"


def test_a_call_abandoned_while_the_service_was_down_is_counted_apart_from_the_cap() -> None:
    records = [connected(f"dlr-{i}", i * 30, i * 30 + 20) for i in range(3)]
    records.append(row("dlr-x", 100, 105, "ANSWERED", answer=102, userfield="abandon-final"))
    records.append(row("dlr-y", 200, 205, "ANSWERED", answer=202, userfield="abandon"))
    attempts = [
        attempt(i + 1, f"dlr-{i}", i * 30, i * 30 + 20, "connected", agent="101", phone=f"+7990000{i:03d}1")
        for i in range(3)
    ]
    attempts.append(attempt(4, "dlr-x", 100, 105, "abandoned", phone="+79900000101"))
    attempts.append(attempt(5, "dlr-y", 200, 205, "abandoned", phone="+79900000201"))
    # the service was killed at 98 s and back at 107 s: call x had nobody to route it
    report = audit(
        Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW, outages=[(at(98), at(107))])
    )
    assert report.anomalies == [] and report.calls["abandoned_in_outage"] == 1
    assert [
        a.kind
        for a in audit(Facts(records=records, attempts=attempts, campaigns={1: CAMP}, now=NOW)).anomalies
    ] == ["abandon_over_cap"]
