"""What a call's CDR rows say happened to it. Pure: rows in, verdict out.

Every outbound call is originated with ``ChannelId`` = ``dlr-<key>``, so its rows carry ``uniqueid`` (the
customer's leg) = ``linkedid`` = the key. Rows seen on the sandbox's Asterisk 22 (cdr.conf: unanswered and
congestion on):

- connected to an agent: ``dstchannel`` = ``PJSIP/101-…``, ``lastapp`` Dial, disposition ANSWERED (an agent's
  phone that did not answer leaves a row of its own with disposition NO ANSWER; the call may go on to
  another agent);
- answered, no agent: disposition ANSWERED, no agent channel; ``userfield`` holds what the dialplan decided
  (``abandon``, ``machine``; set in ``[dialer-answered]``);
- not answered: disposition BUSY, CONGESTION, NO ANSWER (an unallocated number also gives NO ANSWER) or
  FAILED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from dialer.engine.outcomes import Outcome


@dataclass(frozen=True)
class CdrRow:
    uniqueid: str
    linkedid: str
    channel: str
    dstchannel: str
    lastapp: str
    disposition: str
    start: datetime | None
    answer: datetime | None
    end: datetime | None
    billsec: int
    userfield: str


@dataclass(frozen=True)
class CallFate:
    """Asterisk's verdict on one call."""

    outcome: Outcome
    agent: str | None  # extension the customer was connected to
    started_at: datetime | None
    answered_at: datetime | None
    bridged_at: datetime | None
    ended_at: datetime | None
    talk_seconds: float | None

    @property
    def connected(self) -> bool:
        return self.outcome is Outcome.CONNECTED


def agent_of(channel: str) -> str | None:
    """``PJSIP/101-0000001a`` -> ``101`` (agents are numeric endpoints; the trunk is not)."""
    if not channel.startswith("PJSIP/"):
        return None
    name = channel[6:].rsplit("-", 1)[0]
    return name if name.isdigit() else None


_NOT_ANSWERED = {
    "BUSY": Outcome.BUSY,
    "CONGESTION": Outcome.CONGESTION,
    "NO ANSWER": Outcome.NOANSWER,
    "FAILED": Outcome.FAILED,
}


def fate(key: str, rows: list[CdrRow]) -> CallFate | None:
    """The verdict for the call ``key`` from its rows, or None when Asterisk has no record of it."""
    mine = sorted((r for r in rows if r.uniqueid == key), key=lambda r: (r.start or _EPOCH, r.end or _EPOCH))
    if not mine:
        return None
    started = mine[0].start
    ended = max((r.end for r in mine if r.end), default=None)
    answered = min((r.answer for r in mine if r.answer), default=None)
    for r in mine:
        agent = agent_of(r.dstchannel)
        if agent and r.disposition == "ANSWERED":
            return CallFate(Outcome.CONNECTED, agent, started, answered, r.answer, ended, float(r.billsec))
    if answered is not None or any(r.disposition == "ANSWERED" for r in mine):
        machine = any(r.userfield == "machine" for r in mine)
        outcome = Outcome.MACHINE if machine else Outcome.ABANDONED
        return CallFate(outcome, None, started, answered, None, ended, None)
    last = mine[-1].disposition.upper()
    return CallFate(_NOT_ANSWERED.get(last, Outcome.FAILED), None, started, None, None, ended, None)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_stamp(value: object, tz: tzinfo = UTC) -> datetime | None:
    """A CDR time as the backend gives it: ``YYYY-MM-DD HH:MM:SS`` in the PBX's zone ``tz``
    (cdr_sqlite3_custom), a datetime (cdr_pgsql), or seconds since the epoch; empty for a time that never
    came (an unanswered call's answer)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value).strip()
    try:
        secs = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=tz)
    return datetime.fromtimestamp(secs, UTC) if secs > 0 else None
