"""The audit's verdict: Asterisk's records (CDR) against the service's attempts and contacts. Pure: facts in,
anomalies out, so every rule is tested with hand-written rows.

The witness is the PBX: a call it placed leaves rows keyed by the dialer's channel id (``dlr-<key>``), written
as the call ends. Each rule below names a promise the dialer makes (README, "How the outbound dialer works")
and reports every breach with its attempt and channel, so a human can look both sides up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from dialer.callrecords.fate import CallFate, CdrRow, fate
from dialer.engine.outcomes import Outcome
from dialer.engine.window import CallingWindow

KINDS = (
    "call_without_attempt",  # Asterisk placed a call the service has no (sent) attempt for
    "attempt_not_placed",  # an attempt the service closed as sent that Asterisk never placed
    "outcome_mismatch",  # connected / answered vs not, as the service and Asterisk tell it
    "agent_mismatch",  # connected to another agent (or to none) than Asterisk says
    "overlapping_calls",  # one number with two calls up at once
    "over_attempt_limit",  # a contact called more times than its campaign allows
    "outside_window",  # a call started outside its campaign's calling window
    "do_not_call",  # a call to a number already on the do-not-call list
    "stuck_in_flight",  # an attempt, contact or claimed number left in flight
    "abandon_over_cap",  # a campaign's day whose abandon rate went over its cap
)

WINDOW_GRACE = timedelta(seconds=10)  # the decision to call precedes Asterisk's channel by a moment
RECORD_LAG = timedelta(seconds=10)  # Asterisk writes a call's row as its channel goes away
STUCK_AFTER_RECORD = timedelta(seconds=120)  # the call ended in Asterisk this long ago, still open here
ANSWERED = frozenset({Outcome.CONNECTED, Outcome.ABANDONED, Outcome.MACHINE})


@dataclass(frozen=True)
class AttemptFact:
    id: int
    key: str  # the channel id (uniqueid) the call was originated with
    campaign_id: int | None
    contact_id: int | None
    phone: str
    state: str  # created, sent, bridged, ended, not_sent (given back: never left the service)
    outcome: str | None
    agent: str | None  # extension
    originated_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class ContactFact:
    id: int
    campaign_id: int
    phone: str
    state: str


@dataclass(frozen=True)
class CampaignFact:
    id: int
    name: str
    max_attempts: int
    abandon_cap: float
    window: CallingWindow
    timezone: str


@dataclass(frozen=True)
class Facts:
    """What the audit compares: the witness's rows and the service's side, read at ``now``."""

    records: Sequence[CdrRow]
    attempts: Sequence[AttemptFact]  # in scope, plus any whose key the records name
    campaigns: Mapping[int, CampaignFact]
    contacts: Sequence[ContactFact] = ()
    placed_per_contact: Mapping[int, int] = field(default_factory=dict)  # all attempts ever, not given back
    do_not_call: Mapping[str, datetime] = field(default_factory=dict)  # phone -> added at
    inflight: Mapping[str, int] = field(default_factory=dict)  # claimed phone -> attempt id
    now: datetime | None = None
    stuck_after: timedelta = timedelta(hours=2)  # an open attempt with no record older than this is stuck
    blind: Sequence[tuple[datetime, datetime]] = ()  # spans the witness could not record (a killed PBX)
    # spans the service was down (a soak's kill): nobody could route an answered call to an agent then, so an
    # abandoned call up during one is counted apart and left out of the abandon cap
    outages: Sequence[tuple[datetime, datetime]] = ()


@dataclass(frozen=True)
class Anomaly:
    kind: str
    detail: str
    attempt_id: int | None = None
    channel: str | None = None  # the call's channel id (dlr-...)
    phone: str | None = None
    campaign: str | None = None

    def line(self) -> str:
        where = " ".join(
            f"{k}={v}"
            for k, v in (
                ("campaign", self.campaign),
                ("attempt", self.attempt_id),
                ("channel", self.channel),
                ("phone", self.phone),
            )
            if v is not None
        )
        return f"{self.kind}: {where}: {self.detail}" if where else f"{self.kind}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    anomalies: list[Anomaly]
    calls: dict[str, int]  # witnessed calls by Asterisk's verdict, plus attempts and unwitnessed ones
    unwitnessed: list[int]  # attempts with no record inside a blind span (not judged)

    def counts(self) -> dict[str, int]:
        c = Counter(a.kind for a in self.anomalies)
        return {k: c.get(k, 0) for k in KINDS}


def group_calls(rows: Iterable[CdrRow]) -> dict[str, list[CdrRow]]:
    """Rows by call: the customer leg and the agent legs share the linkedid (= the dialer's key)."""
    out: dict[str, list[CdrRow]] = defaultdict(list)
    for r in rows:
        key = r.linkedid or r.uniqueid
        if key:
            out[key].append(r)
    return dict(out)


def audit(f: Facts) -> Report:
    calls = group_calls(f.records)
    fates: dict[str, CallFate] = {}
    for key, rows in calls.items():
        v = fate(key, rows)
        if v is not None:
            fates[key] = v
    by_key = {a.key: a for a in f.attempts}
    camp_name = {cid: c.name for cid, c in f.campaigns.items()}
    out: list[Anomaly] = []
    unwitnessed: list[int] = []

    def anomaly(kind: str, detail: str, a: AttemptFact | None = None, key: str | None = None) -> None:
        out.append(
            Anomaly(
                kind,
                detail,
                attempt_id=a.id if a else None,
                channel=key or (a.key if a else None),
                phone=a.phone if a else None,
                campaign=camp_name.get(a.campaign_id) if a and a.campaign_id is not None else None,
            )
        )

    # 1. calls Asterisk placed with no attempt sent for them
    for key in sorted(calls, key=lambda k: _start(fates.get(k))):
        a = by_key.get(key)
        if a is None:
            anomaly(
                "call_without_attempt",
                "Asterisk placed this call; the service has no attempt for it",
                key=key,
            )
        elif a.state == "not_sent":
            anomaly(
                "call_without_attempt", "Asterisk placed this call; the service gave it back as never sent", a
            )

    for a in sorted(f.attempts, key=lambda a: a.id):
        v = fates.get(a.key)
        ended = a.ended_at is not None
        # 2. attempts sent and closed that Asterisk never placed
        if v is None and ended and a.state != "not_sent":
            if f.now is not None and a.ended_at is not None and f.now - a.ended_at < RECORD_LAG:
                continue  # its row may not be written yet
            if _blind(a.originated_at, a.ended_at, f.blind):
                unwitnessed.append(a.id)
            else:
                anomaly(
                    "attempt_not_placed", f"closed as {a.outcome or '?'}; Asterisk has no record of it", a
                )
        # 3. outcomes that disagree with Asterisk's verdict
        if v is not None and ended and a.outcome:
            mine = _outcome(a.outcome)
            if (mine is Outcome.CONNECTED) != v.connected or (mine in ANSWERED) != (v.outcome in ANSWERED):
                anomaly("outcome_mismatch", f"service says {a.outcome}, Asterisk says {v.outcome.value}", a)
            elif v.connected and (a.agent or None) != v.agent:
                anomaly(
                    "agent_mismatch", f"service says agent {a.agent or 'none'}, Asterisk says {v.agent}", a
                )
        # 9. attempts left open
        if not ended and f.now is not None:
            if v is not None and v.ended_at is not None and f.now - v.ended_at > STUCK_AFTER_RECORD:
                anomaly(
                    "stuck_in_flight", f"still {a.state}; Asterisk ended the call at {_iso(v.ended_at)}", a
                )
            elif v is None and a.originated_at is not None and f.now - a.originated_at > f.stuck_after:
                anomaly("stuck_in_flight", f"still {a.state} since {_iso(a.originated_at)}, no record", a)

    # 5. two calls to one number up at once
    spans: dict[str, list[tuple[datetime, datetime, AttemptFact]]] = defaultdict(list)
    for key, v in fates.items():
        a = by_key.get(key)
        if a is None:
            continue
        # Asterisk's times; the attempt's when the record carries none (a backend that drops them)
        start, end = v.started_at or a.originated_at, v.ended_at or a.ended_at
        if start is not None:
            spans[a.phone].append((start, end or start, a))
    for phone in sorted(spans):
        seq = sorted(spans[phone], key=lambda s: s[0])
        latest = seq[0]
        for s in seq[1:]:
            if s[0] < latest[1]:
                anomaly(
                    "overlapping_calls",
                    f"started {_iso(s[0])} while attempt {latest[2].id} ({latest[2].key}) was up until "
                    f"{_iso(latest[1])}",
                    s[2],
                )
            if s[1] > latest[1]:
                latest = s

    # 6. over the attempt limit
    seen_contacts: set[int] = set()
    for a in sorted(f.attempts, key=lambda a: a.id):
        camp = f.campaigns.get(a.campaign_id) if a.campaign_id is not None else None
        if a.contact_id is None or a.contact_id in seen_contacts or camp is None:
            continue
        placed = f.placed_per_contact.get(a.contact_id)
        if placed is None:
            continue
        seen_contacts.add(a.contact_id)
        limit = camp.max_attempts
        if placed > limit:
            anomaly("over_attempt_limit", f"contact {a.contact_id} called {placed} times, limit {limit}", a)

    # 7, 8. when each call started: outside the window, or on the do-not-call list
    for a in sorted(f.attempts, key=lambda a: a.id):
        v = fates.get(a.key)
        if v is None and a.state == "not_sent":
            continue
        start = (v.started_at if v else None) or a.originated_at
        camp = f.campaigns.get(a.campaign_id) if a.campaign_id is not None else None
        if start is None:
            continue
        if camp is not None and not (camp.window.is_open(start) or camp.window.is_open(start - WINDOW_GRACE)):
            local = start.astimezone(camp.window.tz)
            anomaly(
                "outside_window", f"started {local:%a %Y-%m-%d %H:%M:%S} {camp.timezone}, window closed", a
            )
        added = f.do_not_call.get(a.phone)
        if added is not None and added <= start:
            anomaly("do_not_call", f"started {_iso(start)}; on the do-not-call list since {_iso(added)}", a)

    # 9. contacts and claimed numbers left in flight
    open_by_contact = {a.contact_id for a in f.attempts if a.ended_at is None}
    ended_ids = {a.id for a in f.attempts if a.ended_at is not None}
    for c in f.contacts:
        if c.state == "dialing" and c.id not in open_by_contact:
            out.append(
                Anomaly(
                    "stuck_in_flight",
                    f"contact {c.id} is dialing with no open attempt",
                    phone=c.phone,
                    campaign=camp_name.get(c.campaign_id),
                )
            )
    for _phone, attempt_id in sorted(f.inflight.items()):
        if attempt_id in ended_ids:
            a = next(x for x in f.attempts if x.id == attempt_id)
            anomaly("stuck_in_flight", f"number still claimed by attempt {attempt_id}, which ended", a)

    # 10. each campaign's day against its abandon cap (Asterisk's verdict where it has one)
    days: dict[tuple[int, date], Counter[str]] = defaultdict(Counter)
    in_outage = 0
    for a in f.attempts:
        camp = f.campaigns.get(a.campaign_id) if a.campaign_id is not None else None
        if camp is None or a.originated_at is None or a.state == "not_sent":
            continue
        v = fates.get(a.key)
        outcome = v.outcome if v is not None else _outcome(a.outcome)
        if outcome is Outcome.ABANDONED and f.outages:
            start = (v.started_at if v else None) or a.originated_at
            end = (v.ended_at if v else None) or a.ended_at
            if _blind(start, end, f.outages):
                in_outage += 1
                continue
        if outcome in (Outcome.CONNECTED, Outcome.ABANDONED):
            days[(camp.id, a.originated_at.astimezone(camp.window.tz).date())][outcome.value] += 1
    for (cid, day), n in sorted(days.items()):
        camp = f.campaigns[cid]
        answered = n["connected"] + n["abandoned"]
        rate = n["abandoned"] / answered
        if rate > camp.abandon_cap:
            out.append(
                Anomaly(
                    "abandon_over_cap",
                    f"{day}: {n['abandoned']} abandoned of {answered} answered ({rate:.1%}, cap {camp.abandon_cap:.1%})",
                    campaign=camp.name,
                )
            )

    verdicts = Counter(v.outcome.value for v in fates.values())
    summary = {
        "attempts": sum(1 for a in f.attempts if a.state != "not_sent"),
        "placed": len(calls),
        "connected": verdicts.get("connected", 0),
        "abandoned": verdicts.get("abandoned", 0),
        "machine": verdicts.get("machine", 0),
        "not_answered": sum(n for k, n in verdicts.items() if k not in ("connected", "abandoned", "machine")),
        "unwitnessed": len(unwitnessed),
        "abandoned_in_outage": in_outage,
    }
    return Report(out, summary, unwitnessed)


def _outcome(value: str | None) -> Outcome | None:
    try:
        return Outcome(value) if value else None
    except ValueError:
        return None


def _blind(start: datetime | None, end: datetime | None, spans: Sequence[tuple[datetime, datetime]]) -> bool:
    """The attempt's life touches a span when the PBX could not write records (it was killed)."""
    if start is None:
        return False
    stop = end or start
    return any(s <= stop and start <= e for s, e in spans)


def _start(v: CallFate | None) -> float:
    return v.started_at.timestamp() if v and v.started_at else 0.0


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")
