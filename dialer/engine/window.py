"""The calling window: when an outbound call may START, in the campaign's local time. Pure and DST-safe.

Instants are UTC; each is converted to local wall time with zoneinfo, so a DST change can neither open
the window early nor keep it open late: 19:00 local is 19:00 local on both sides of the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.hours import WEEKDAYS, parse_hours


@dataclass(frozen=True)
class CallingWindow:
    tz: ZoneInfo
    hours: tuple[tuple[time, time] | None, ...]  # Monday..Sunday, [start, end)
    holidays: frozenset[date]

    @classmethod
    def build(cls, tz: str, hours: Mapping[str, str], holidays: Iterable[date | str] = ()) -> CallingWindow:
        spans: list[tuple[time, time] | None] = []
        for day in WEEKDAYS:
            spec = hours.get(day, "closed").strip().lower()
            spans.append(None if spec == "closed" else parse_hours(spec))
        hol = frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in holidays)
        return cls(ZoneInfo(tz), tuple(spans), hol)

    def is_open(self, now: datetime) -> bool:
        """True if a call may start at this instant (start inclusive, end exclusive)."""
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        local = now.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        span = self.hours[local.weekday()]
        if span is None:
            return False
        t = local.time().replace(tzinfo=None)
        return span[0] <= t < span[1]

    def seconds_left(self, now: datetime) -> float:
        """Seconds until the window closes (0 when closed)."""
        if not self.is_open(now):
            return 0.0
        local = now.astimezone(self.tz)
        span = self.hours[local.weekday()]
        assert span is not None
        end = datetime.combine(local.date(), span[1], tzinfo=self.tz)
        return max(0.0, (end.astimezone(UTC) - now.astimezone(UTC)).total_seconds())

    def next_open(self, now: datetime) -> datetime | None:
        """The first instant at or after ``now`` when a call may start (None if never within 400 days)."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.tz)
        for offset in range(0, 400):
            d = local.date() + timedelta(days=offset)
            span = self.hours[d.weekday()]
            if span is None or d in self.holidays:
                continue
            start = datetime.combine(d, span[0], tzinfo=self.tz).astimezone(UTC)
            # a start inside a DST gap maps to just after it; step forward until truly open
            for minutes in range(0, 180):
                cand = start + timedelta(minutes=minutes)
                if cand >= now and self.is_open(cand):
                    return cand
                if cand.astimezone(self.tz).date() != d:
                    break
        return None


def day_start_utc(now: datetime, tz: str) -> datetime:
    """Local midnight of ``now``'s day in ``tz``, as UTC: where a day's counters (the abandon rate) start."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
