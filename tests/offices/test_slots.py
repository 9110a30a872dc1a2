"""The pure slot computation: hours, holidays, closures, grid, horizon and the two DST changes a year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.offices.slots import Schedule

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
WEEK = {"mon": "09:00-12:00", "tue": "09:00-10:00", "sat": "closed"}


def local(starts: list[datetime], tz: ZoneInfo) -> list[str]:
    return [s.astimezone(tz).strftime("%H:%M") for s in starts]


def test_a_day_is_cut_into_slots_that_end_by_closing_time() -> None:
    sched = Schedule.build("Europe/Moscow", {"mon": "09:00-10:50"}, slot_minutes=20, capacity=3)
    monday = date(2027, 3, 1)
    assert local(sched.day_slots(monday), MSK) == ["09:00", "09:20", "09:40", "10:00", "10:20"]
    assert sched.day_places(monday) == 15
    assert all(s.tzinfo is UTC for s in sched.day_slots(monday))
    assert sched.day_slots(monday)[0] == datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


def test_closed_days_holidays_and_one_off_closures() -> None:
    sched = Schedule.build(
        "Europe/Moscow",
        WEEK,
        holidays=["2027-03-08"],
        closures=[{"day": "2027-03-01", "hours": "10:00-11:00"}, {"day": "2027-03-02"}],
        slot_minutes=30,
    )
    assert local(sched.day_slots(date(2027, 3, 1)), MSK) == ["09:00", "09:30", "11:00", "11:30"]
    assert sched.day_slots(date(2027, 3, 2)) == []  # closed all day by a closure
    assert sched.day_slots(date(2027, 3, 6)) == []  # Saturday "closed"
    assert sched.day_slots(date(2027, 3, 7)) == []  # Sunday not listed: closed
    assert sched.day_slots(date(2027, 3, 8)) == []  # a holiday (a Monday)
    assert len(sched.day_slots(date(2027, 3, 15))) == 6


def test_a_closure_that_overlaps_part_of_a_slot_removes_the_slot() -> None:
    sched = Schedule.build(
        "Europe/Moscow",
        {"mon": "09:00-11:00"},
        closures=[{"day": "2027-03-01", "hours": "09:50-10:10"}],
        slot_minutes=30,
    )
    assert local(sched.day_slots(date(2027, 3, 1)), MSK) == ["09:00", "10:30"]


def test_spring_forward_skips_the_hour_that_does_not_exist() -> None:
    # Berlin, Sunday 2027-03-28: 02:00 jumps to 03:00
    sched = Schedule.build("Europe/Berlin", {"sun": "01:00-04:00"}, slot_minutes=30)
    starts = sched.day_slots(date(2027, 3, 28))
    assert local(starts, BERLIN) == ["01:00", "01:30", "03:00", "03:30"]
    assert starts[2] - starts[1] == timedelta(minutes=30)


def test_fall_back_offers_the_repeated_hour_once() -> None:
    # Berlin, Sunday 2027-10-31: 03:00 goes back to 02:00; 02:00-03:00 happens twice
    sched = Schedule.build("Europe/Berlin", {"sun": "01:00-04:00"}, slot_minutes=60)
    starts = sched.day_slots(date(2027, 10, 31))
    assert local(starts, BERLIN) == ["01:00", "02:00", "03:00"]
    assert starts == sorted(set(starts))
    assert starts[1].astimezone(BERLIN).utcoffset() == timedelta(hours=2)  # the first 02:00 (summer time)


def test_closing_at_midnight_keeps_the_last_slot() -> None:
    sched = Schedule.build("Europe/Moscow", {"fri": "22:00-24:00"}, slot_minutes=60)
    assert local(sched.day_slots(date(2027, 3, 5)), MSK) == ["22:00", "23:00"]


def test_why_a_time_can_not_be_booked() -> None:
    sched = Schedule.build("Europe/Moscow", WEEK, slot_minutes=30, horizon_days=7)
    now = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow
    at = lambda d, hm: datetime.fromisoformat(f"{d}T{hm}:00+03:00")  # noqa: E731
    assert sched.why_not_bookable(at("2027-03-01", "11:00"), now) is None
    assert sched.why_not_bookable(at("2027-03-01", "09:30"), now) == "2027-03-01 09:30 is in the past"
    assert "closed on 2027-03-06" in (sched.why_not_bookable(at("2027-03-06", "10:00"), now) or "")
    assert "no slot starting at 2027-03-01 11:15" in (
        sched.why_not_bookable(at("2027-03-01", "11:15"), now) or ""
    )
    assert "no slot" in (sched.why_not_bookable(at("2027-03-02", "10:00"), now) or "")  # Tuesday closes at 10
    assert "the last day is 2027-03-08" in (sched.why_not_bookable(at("2027-03-09", "09:00"), now) or "")
    ready = date(2027, 3, 8)
    assert "collected from 2027-03-08" in (
        sched.why_not_bookable(at("2027-03-02", "09:00"), now, ready) or ""
    )
    assert sched.why_not_bookable(at("2027-03-08", "09:00"), now, ready) is None
    # the same instant written in another offset is the same slot
    assert sched.why_not_bookable(datetime(2027, 3, 1, 8, 0, tzinfo=UTC), now) is None


def test_bad_hours_are_refused_by_the_window_rule() -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Schedule.build("Europe/Moscow", {"mon": "9 to 5"})
