"""The calling window over random clocks and time zones (hypothesis), and the edges users notice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.config import WEEKDAYS
from dialer.engine.window import CallingWindow

ZONES = ["Europe/Moscow", "Europe/London", "America/New_York", "Asia/Kamchatka", "Australia/Lord_Howe", "UTC"]
DAILY = {d: "09:00-19:00" for d in WEEKDAYS}


def test_a_call_may_start_at_18_59_59_and_not_at_19_00_00() -> None:
    w = CallingWindow.build("Europe/Moscow", DAILY)
    msk = ZoneInfo("Europe/Moscow")
    assert w.is_open(datetime(2027, 3, 3, 18, 59, 59, tzinfo=msk))
    assert not w.is_open(datetime(2027, 3, 3, 19, 0, 0, tzinfo=msk))
    assert not w.is_open(datetime(2027, 3, 3, 8, 59, 59, 999999, tzinfo=msk))
    assert w.is_open(datetime(2027, 3, 3, 9, 0, 0, tzinfo=msk))


def test_holidays_and_closed_weekdays() -> None:
    hours = {**DAILY, "sun": "closed", "sat": "10:00-14:00"}
    w = CallingWindow.build("Europe/Moscow", hours, ["2027-01-01"])
    msk = ZoneInfo("Europe/Moscow")
    assert not w.is_open(datetime(2027, 1, 1, 12, tzinfo=msk))  # holiday (a Friday)
    assert not w.is_open(datetime(2027, 1, 3, 12, tzinfo=msk))  # Sunday, closed
    assert w.is_open(datetime(2027, 1, 2, 13, 59, tzinfo=msk)) and not w.is_open(
        datetime(2027, 1, 2, 14, tzinfo=msk)
    )
    assert w.next_open(datetime(2027, 1, 1, 12, tzinfo=msk)) == datetime(2027, 1, 2, 10, tzinfo=msk)


def test_dst_change_keeps_local_hours() -> None:
    ny = ZoneInfo("America/New_York")
    w = CallingWindow.build("America/New_York", DAILY)
    # 2027-03-14: clocks jump 02:00 -> 03:00; 2027-11-07 they fall back
    for day in (date(2027, 3, 14), date(2027, 11, 7), date(2027, 3, 13)):
        assert w.is_open(datetime.combine(day, time(18, 59, 59), tzinfo=ny))
        assert not w.is_open(datetime.combine(day, time(19, 0), tzinfo=ny))
        assert w.is_open(datetime.combine(day, time(9, 0), tzinfo=ny))
    # a window starting inside the spring-forward gap opens at the first real instant after it
    gap = CallingWindow.build("America/New_York", {d: "02:30-05:00" for d in WEEKDAYS})
    first = gap.next_open(datetime(2027, 3, 14, 0, 0, tzinfo=ny))
    assert first is not None and gap.is_open(first)
    assert first.astimezone(ny).replace(tzinfo=None) >= datetime(2027, 3, 14, 3, 0)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.integers(0, 22),
    length=st.integers(1, 10),
    ts=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_open_exactly_when_local_wall_time_is_inside(
    zone: str, start: int, length: int, ts: datetime
) -> None:
    end = min(24, start + length)
    spec = f"{start:02d}:00-{end:02d}:00" if end < 24 else f"{start:02d}:00-24:00"
    w = CallingWindow.build(zone, {d: spec for d in WEEKDAYS})
    now = ts.replace(tzinfo=UTC)
    local = now.astimezone(ZoneInfo(zone))
    inside = time(start) <= local.time() and (end == 24 or local.time() < time(end))
    assert w.is_open(now) == inside
    left = w.seconds_left(now)
    if inside:
        assert 0 < left <= length * 3600 + 3600  # + a DST hour at most
        assert not w.is_open(now + timedelta(seconds=left + 0.001)) or end == 24
    else:
        assert left == 0
        nxt = w.next_open(now)
        assert nxt is not None and nxt >= now and w.is_open(nxt)
        # nothing earlier opens: one second before is closed (unless it is the instant itself)
        assert nxt == now or not w.is_open(nxt - timedelta(seconds=1))
