"""Occupancy (talk time / logged-in time): the interval arithmetic and the per-campaign split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.dispositions.occupancy import Call, Day, logged_in_seconds, talk_overlap

T0 = datetime(2025, 12, 2, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_logged_in_time_counts_pauses_and_stops_at_log_out() -> None:
    # in at 0 (ready), paused at 30, ready at 40, out at 60, in again at 90; the day so far ends at 120
    changes = [(at(0), True), (at(30), True), (at(40), True), (at(60), False), (at(90), True)]
    assert logged_in_seconds(False, changes, at(0), at(120)) == (60 + 30) * 60


def test_an_agent_logged_in_since_yesterday_counts_from_midnight() -> None:
    assert logged_in_seconds(True, [(at(45), False)], at(0), at(120)) == 45 * 60
    assert logged_in_seconds(True, [], at(0), at(120)) == 120 * 60
    assert logged_in_seconds(False, [], at(0), at(120)) == 0


def test_a_second_log_out_changes_nothing() -> None:
    assert logged_in_seconds(False, [(at(10), True), (at(20), False), (at(25), False)], at(0), at(60)) == 600


def test_talk_is_clipped_to_the_day() -> None:
    assert talk_overlap(at(-5), at(5), at(0), at(60)) == 300  # began before midnight
    assert talk_overlap(at(10), at(12), at(0), at(60)) == 120
    assert talk_overlap(at(-20), at(-10), at(0), at(60)) == 0


def test_per_campaign_and_total_figures() -> None:
    # agents 1 and 2 take campaign 10's calls, agent 3 only campaign 20's; all logged in for the hour
    day = Day(
        start=at(0),
        now=at(60),
        logged_in={1: 3600.0, 2: 3600.0, 3: 3600.0},
        in_now=frozenset({1, 2, 3}),
        calls=[
            Call(1, 10, at(0), at(30)),  # 30 min
            Call(2, 10, at(10), at(25)),  # 15 min
            Call(3, 20, at(50), None),  # talking now: 10 min so far
        ],
        allowed={3: frozenset({20})},
    )
    total = day.figures()
    assert total.talk_seconds_today == 55 * 60 and total.logged_in_seconds_today == 3 * 3600
    assert total.today == (55 * 60) / (3 * 3600)
    assert (total.talking_now, total.logged_in_now, total.now) == (1, 3, 1 / 3)
    c10 = day.figures(10)  # agent 3 may not take campaign 10's calls: two agents' time
    assert c10.today == (45 * 60) / (2 * 3600) and c10.now == 0.0 and c10.logged_in_now == 2
    c20 = day.figures(20)  # every agent may take campaign 20's calls
    assert c20.today == (10 * 60) / (3 * 3600) and (c20.talking_now, c20.logged_in_now) == (1, 3)


def test_nobody_logged_in_has_no_occupancy_rather_than_zero() -> None:
    day = Day(start=at(0), now=at(60), logged_in={}, in_now=frozenset(), calls=[], allowed={})
    figures = day.figures()
    assert figures.today is None and figures.now is None
