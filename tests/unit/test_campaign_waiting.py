"""Why a running campaign is or is not dialling: the reason shown by the CLI, the API and the dashboard,
as a pure function of facts, under a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dialer.campaigns.waiting import Facts, explain
from dialer.engine.window import CallingWindow

WEEKDAYS_9_19 = {d: "09:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")}
MSK = CallingWindow.build("Europe/Moscow", {**WEEKDAYS_9_19, "sat": "closed", "sun": "closed"})
# Tuesday 2 Dec 2025, 10:00 in Moscow (UTC+3)
TUE_10 = datetime(2025, 12, 2, 7, 0, tzinfo=UTC)


def facts(**kw: object) -> Facts:
    base = Facts(
        now=TUE_10,
        mode="predictive",
        window=MSK,
        timezone="Europe/Moscow",
        agents_on_duty=4,
        agents_paused=0,
        callable_contacts=60,
        next_due=TUE_10 - timedelta(minutes=5),
        calls_in_flight=3,
        link="up",
        cap_reached=False,
        abandon_rate=0.01,
        abandon_cap=0.03,
        dial_level=1.8,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_dialling_explains_the_pacing_level() -> None:
    a = explain(facts())
    assert (a.code, a.dialling, a.text) == (
        "dialling",
        True,
        "dialling 1.8 lines per agent on duty (predictive)",
    )


def test_before_the_window_opens_it_says_when_in_the_campaigns_time_zone() -> None:
    a = explain(facts(now=datetime(2025, 12, 2, 4, 30, tzinfo=UTC)))  # 07:30 Moscow
    assert a.text == "waiting: window opens at 09:00 (Europe/Moscow)"
    assert not a.dialling and a.until == datetime(2025, 12, 2, 6, 0, tzinfo=UTC)


def test_after_hours_on_friday_the_window_opens_on_monday() -> None:
    a = explain(facts(now=datetime(2025, 12, 5, 16, 0, tzinfo=UTC)))  # Fri 19:00 Moscow: just closed
    assert a.text == "waiting: window opens at Mon 8 Dec 09:00 (Europe/Moscow)"


def test_the_same_instant_is_inside_another_zones_window() -> None:
    # 07:30 in Moscow is 12:30 in Novosibirsk: the campaign's own zone decides
    nsk = CallingWindow.build("Asia/Novosibirsk", WEEKDAYS_9_19)
    at = datetime(2025, 12, 2, 4, 30, tzinfo=UTC)
    a = explain(facts(now=at, next_due=at, window=nsk, timezone="Asia/Novosibirsk"))
    assert a.code == "dialling"


def test_a_window_closed_every_day_never_opens() -> None:
    shut = CallingWindow.build("Europe/Moscow", {})
    assert explain(facts(window=shut)).text == "waiting: the calling window never opens"


def test_no_agent_ready() -> None:
    a = explain(facts(agents_on_duty=0, agents_paused=2))
    assert (a.code, a.text) == ("no_agents", "waiting: no agent is ready (2 paused)")
    assert explain(facts(agents_on_duty=0)).text == "waiting: no agent is ready"


def test_all_contacts_waiting_for_their_retry_time_says_when_the_next_is_due() -> None:
    due = datetime(2025, 12, 2, 7, 42, tzinfo=UTC)  # 10:42 Moscow
    a = explain(facts(next_due=due, calls_in_flight=0))
    assert (
        a.text
        == "waiting: all contacts are waiting for their retry time; the next is due at 10:42 (Europe/Moscow)"
    )
    assert a.until == due and a.code == "retry_wait"


def test_a_contact_due_now_is_dialled() -> None:
    assert explain(facts(next_due=TUE_10)).dialling


@pytest.mark.parametrize(
    ("link", "text"),
    [
        ("down", "waiting: AMI link down (no calls until Asterisk is back)"),
        ("reconciling", "waiting: AMI link back, checking calls with Asterisk before dialling"),
        ("unknown", "waiting: the dialer service is not running"),
    ],
)
def test_the_link_comes_first_even_outside_the_window(link: str, text: str) -> None:
    a = explain(facts(link=link, now=datetime(2025, 12, 2, 4, 30, tzinfo=UTC)))
    assert a.text == text and not a.dialling


@pytest.mark.parametrize("mode", ["predictive", "ratio", "progressive"])
def test_held_to_the_abandon_cap_in_any_mode(mode: str) -> None:
    a = explain(facts(cap_reached=True, abandon_rate=0.034, mode=mode))
    assert a.code == "capped" and a.dialling
    assert a.text == "held to the abandon cap (3.4% today, cap 3%): no more lines than free agents can take"


def test_the_page_gets_a_template_and_its_values_to_translate() -> None:
    a = explain(facts(now=datetime(2025, 12, 2, 4, 30, tzinfo=UTC)))
    assert a.template == "waiting: window opens at {at} ({tz})"
    assert a.params == {"at": "09:00", "tz": "Europe/Moscow"}
    assert a.template.format(**a.params) == a.text


def test_nothing_left_to_call() -> None:
    assert explain(facts(callable_contacts=0, next_due=None)).text == (
        "finishing: no contact left to call, 3 call(s) in flight"
    )
    assert explain(facts(callable_contacts=0, next_due=None, calls_in_flight=0)).text == (
        "finishing: no contact left to call"
    )


def test_holiday_closes_the_window() -> None:
    hol = CallingWindow.build("Europe/Moscow", WEEKDAYS_9_19, ["2025-12-02"])
    a = explain(facts(window=hol))
    assert a.text == "waiting: window opens at Wed 3 Dec 09:00 (Europe/Moscow)"


def test_the_engines_snapshot_gives_the_link_and_the_cap() -> None:
    from dialer.campaigns.activity import SnapshotFacts

    snap = {
        "ami": "up",
        "reconciled": True,
        "campaigns": {
            "a": {"pacing_reason": "predictive theta=0.120", "dial_level": 1.8},
            "b": {"pacing_reason": "ratio 2; held to the abandon cap", "dial_level": 1.0},
            "c": {"pacing_reason": "progressive: budget", "dial_level": 1.0},
        },
    }
    f = SnapshotFacts(snap)
    assert f.link() == "up"
    a, b, c = (f.campaign(n) for n in "abc")
    assert a is not None and (a.cap_reached, a.dial_level) == (False, 1.8)
    assert b is not None and b.cap_reached and c is not None and c.cap_reached
    assert f.campaign("unknown") is None
    assert SnapshotFacts({**snap, "reconciled": False}).link() == "reconciling"
    assert SnapshotFacts({"ami": "connecting"}).link() == "down"
