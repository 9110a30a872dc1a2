"""Why a running campaign is (or is not) dialling, in one line an admin can act on.

A campaign that shows "running" with zero calls, the reason only in the service log, sends the admin
hunting. This module says it plainly: "waiting: window opens at 09:00 (Europe/Moscow)", "waiting: no agent
is ready", "waiting: AMI link down", "waiting: all contacts are waiting for their retry time; the next is
due at 10:42 (Europe/Moscow)", or "dialling 1.8 lines per agent on duty".

It is a pure function of facts (the campaign's settings, the time, agents, contacts, and what only the
running engine knows: the AMI link and whether pacing fell back for the abandon cap), so every front end
(CLI, API, dashboard) shows the same words and the rules are tested under a fake clock. Gathering the
facts is :mod:`dialer.campaigns.activity`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from dialer.engine.window import CallingWindow

# "unknown": no running service answered (the CLI asks it over HTTP); "reconciling": the link is up but the
# engine is still matching its calls with Asterisk's channels, and places none until it has
LinkFact = Literal["up", "reconciling", "down", "unknown"]

ActivityCode = Literal[
    "dialling", "capped", "link_down", "no_service", "window_closed", "no_agents", "retry_wait", "finishing"
]


class Activity(BaseModel):
    """What a running campaign is doing now. ``until`` is when the wait ends, when that is known."""

    code: ActivityCode
    dialling: bool
    text: str
    until: datetime | None = None


@dataclass(frozen=True)
class Facts:
    now: datetime  # aware
    mode: str  # progressive, ratio, predictive
    window: CallingWindow  # in the campaign's time zone
    timezone: str
    agents_on_duty: int  # logged in, not paused, allowed to take this campaign's calls
    agents_paused: int
    callable_contacts: int  # pending, under the attempt limit, not on the do-not-call list
    next_due: datetime | None  # the earliest next attempt among them
    calls_in_flight: int
    link: LinkFact
    cap_reached: bool  # the day's abandon rate reached the cap (predictive pacing falls back to 1:1)
    abandon_rate: float
    abandon_cap: float
    dial_level: float | None  # lines per agent on duty, from the engine's pacer


def _at(when: datetime, now: datetime, w: CallingWindow) -> str:
    """'09:00' today, 'Mon 1 Dec 09:00' another day, in the campaign's time zone."""
    local, today = when.astimezone(w.tz), now.astimezone(w.tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def explain(f: Facts) -> Activity:
    """The one reason that matters most, in this order: the link (nothing moves without it), the window,
    contacts left, retry times, agents, then the abandon cap and the pacing level."""
    if f.link == "unknown":
        return Activity(code="no_service", dialling=False, text="waiting: the dialer service is not running")
    if f.link == "down":
        return Activity(
            code="link_down", dialling=False, text="waiting: AMI link down (no calls until Asterisk is back)"
        )
    if f.link == "reconciling":
        return Activity(
            code="link_down",
            dialling=False,
            text="waiting: AMI link back, checking calls with Asterisk before dialling",
        )
    zone = f"({f.timezone})"
    if not f.window.is_open(f.now):
        opens = f.window.next_open(f.now)
        if opens is None:
            return Activity(
                code="window_closed", dialling=False, text="waiting: the calling window never opens"
            )
        return Activity(
            code="window_closed",
            dialling=False,
            text=f"waiting: window opens at {_at(opens, f.now, f.window)} {zone}",
            until=opens,
        )
    if f.callable_contacts == 0:
        text = "finishing: no contact left to call" + (
            f", {f.calls_in_flight} call(s) in flight" if f.calls_in_flight else ""
        )
        return Activity(code="finishing", dialling=False, text=text)
    if f.next_due is not None and f.next_due > f.now:
        return Activity(
            code="retry_wait",
            dialling=False,
            text=(
                "waiting: all contacts are waiting for their retry time; the next is due at "
                f"{_at(f.next_due, f.now, f.window)} {zone}"
            ),
            until=f.next_due,
        )
    if f.agents_on_duty == 0:
        paused = f" ({f.agents_paused} paused)" if f.agents_paused else ""
        return Activity(code="no_agents", dialling=False, text=f"waiting: no agent is ready{paused}")
    level = f"{f.dial_level:.1f} lines per agent on duty" if f.dial_level else None
    if f.cap_reached:
        rate = f"abandon cap reached ({f.abandon_rate:.1%} of {f.abandon_cap:.0%})"
        if f.mode == "predictive":
            return Activity(
                code="capped", dialling=True, text=f"{rate}: dialling one line per free agent until it falls"
            )
        return Activity(code="capped", dialling=True, text=f"{rate}; dialling {level or f.mode} ({f.mode})")
    return Activity(
        code="dialling", dialling=True, text=f"dialling {level} ({f.mode})" if level else "dialling"
    )
