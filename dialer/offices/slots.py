"""An office's appointment slots, computed from its hours: pure (no I/O, no clock), so the API, the agent
page, the IVR and the reports all see the same slots, and tests can walk any day, DST changes included.

Opening hours reuse the calling window's definition (``dialer.engine.window.CallingWindow``: weekday ->
``"HH:MM-HH:MM"`` or ``"closed"``, plus holidays). Slots are laid out in local wall time from the opening
time, every ``slot_minutes``, and each must end by closing time; a slot that starts inside a one-off closure
or overlaps it is dropped. Wall times are turned into instants with zoneinfo: a time that does not exist
(spring-forward gap) is skipped, a time that exists twice (fall-back) is offered once, at its first
occurrence. Starts are returned in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dialer.engine.window import CallingWindow
from dialer.hours import parse_hours

DAY_MINUTES = 24 * 60


def _minutes(t: time) -> int:
    """Minutes after midnight; parse_hours writes an end of 24:00 as 23:59:59.999999."""
    if t == time(23, 59, 59, 999999):
        return DAY_MINUTES
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Closure:
    """A one-off closure on one local day, [start, end) in minutes after midnight."""

    day: date
    start: int
    end: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Closure:
        day = raw.get("day")
        spec = str(raw.get("hours") or "closed").strip().lower()
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        if spec == "closed":
            return cls(d, 0, DAY_MINUTES)
        a, b = parse_hours(spec)
        return cls(d, _minutes(a), _minutes(b))


@dataclass(frozen=True)
class Schedule:
    window: CallingWindow  # the opening hours and holidays
    closures: tuple[Closure, ...]
    slot_minutes: int
    capacity: int
    horizon_days: int

    @classmethod
    def build(
        cls,
        tz: str,
        hours: Mapping[str, str],
        *,
        holidays: Iterable[date | str] = (),
        closures: Sequence[Mapping[str, Any]] = (),
        slot_minutes: int = 15,
        capacity: int = 1,
        horizon_days: int = 14,
    ) -> Schedule:
        if slot_minutes < 1:
            raise ValueError("slot_minutes must be at least 1")
        return cls(
            CallingWindow.build(tz, hours, holidays),
            tuple(Closure.parse(c) for c in closures),
            slot_minutes,
            capacity,
            horizon_days,
        )

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.window.tz).date()

    def day_slots(self, day: date) -> list[datetime]:
        """Every slot start of a local day (UTC, ascending); empty when the office is closed that day."""
        if day in self.window.holidays:
            return []
        span = self.window.hours[day.weekday()]
        if span is None:
            return []
        open_m, close_m = _minutes(span[0]), _minutes(span[1])
        closed = [(c.start, c.end) for c in self.closures if c.day == day]
        tz = self.window.tz
        out: list[datetime] = []
        m = open_m
        while m + self.slot_minutes <= close_m:
            end = m + self.slot_minutes
            if not any(a < end and m < b for a, b in closed):
                wall = datetime.combine(day, time(m // 60, m % 60), tzinfo=tz)  # fold=0: first occurrence
                instant = wall.astimezone(UTC)
                back = instant.astimezone(tz)
                in_gap = back.replace(tzinfo=None) != wall.replace(tzinfo=None)  # spring-forward
                if not in_gap and (not out or instant > out[-1]):
                    out.append(instant)
            m = end
        return out

    def is_slot(self, start: datetime) -> bool:
        """True if ``start`` (aware) is exactly one of the office's slot starts."""
        if start.tzinfo is None:
            raise ValueError("naive datetime")
        start = start.astimezone(UTC)
        return start in self.day_slots(self.local_day(start))

    def bookable_days(self, now: datetime, ready_from: date | None = None) -> tuple[date, date]:
        """First and last local day one may book at ``now``: today (or the day the passport is ready)
        through today + horizon_days."""
        today = self.local_day(now)
        first = max(today, ready_from) if ready_from is not None else today
        return first, today + timedelta(days=self.horizon_days)

    def why_not_bookable(self, start: datetime, now: datetime, ready_from: date | None = None) -> str | None:
        """None when ``start`` may be booked at ``now``, else the reason, phrased for a person."""
        start = start.astimezone(UTC)
        day = self.local_day(start)
        local = start.astimezone(self.window.tz)
        _, last = self.bookable_days(now)
        if start <= now:
            return f"{local:%Y-%m-%d %H:%M} is in the past"
        if ready_from is not None and day < ready_from:
            return f"the passport can be collected from {ready_from.isoformat()}, not {day.isoformat()}"
        if day > last:
            return f"booking opens {self.horizon_days} days ahead: the last day is {last.isoformat()}"
        if not self.day_slots(day):
            return f"the office is closed on {day.isoformat()}"
        if not self.is_slot(start):
            return (
                f"the office has no slot starting at {local:%Y-%m-%d %H:%M %z} "
                f"(closed then, or not on its {self.slot_minutes}-minute grid)"
            )
        return None

    def day_places(self, day: date) -> int:
        """How many people the office can see that day (slots x capacity): the reports' denominator."""
        return len(self.day_slots(day)) * self.capacity
