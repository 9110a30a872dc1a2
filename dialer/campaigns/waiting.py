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


# The sentences, as templates: the API sends the template and its values beside the English text, so a
# page can show them in the user's language (the templates are the msgids of the web's gettext catalogue).
TEMPLATES = {
    "no_service": "waiting: the dialer service is not running",
    "link_down": "waiting: AMI link down (no calls until Asterisk is back)",
    "reconciling": "waiting: AMI link back, checking calls with Asterisk before dialling",
    "window_never": "waiting: the calling window never opens",
    "window_closed": "waiting: window opens at {at} ({tz})",
    "finishing": "finishing: no contact left to call",
    "finishing_in_flight": "finishing: no contact left to call, {calls} call(s) in flight",
    "retry_wait": "waiting: all contacts are waiting for their retry time; the next is due at {at} ({tz})",
    "no_agents": "waiting: no agent is ready",
    "no_agents_paused": "waiting: no agent is ready ({paused} paused)",
    "capped": "held to the abandon cap ({rate} today, cap {cap}): no more lines than free agents can take",
    "dialling": "dialling {level} lines per agent on duty ({mode})",
    "dialling_plain": "dialling ({mode})",
}


class Activity(BaseModel):
    """What a running campaign is doing now. ``until`` is when the wait ends, when that is known;
    ``text`` is ``template`` filled with ``params``."""

    code: ActivityCode
    dialling: bool
    text: str
    template: str
    params: dict[str, str | int | float]
    until: datetime | None = None


def _activity(
    code: ActivityCode, key: str, *, until: datetime | None = None, **params: str | int | float
) -> Activity:
    template = TEMPLATES[key]
    return Activity(
        code=code,
        dialling=code in ("dialling", "capped"),
        text=template.format(**params),
        template=template,
        params=params,
        until=until,
    )


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
    cap_reached: bool  # pacing is held back by the abandon cap (no more calls at risk than it allows)
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
        return _activity("no_service", "no_service")
    if f.link == "down":
        return _activity("link_down", "link_down")
    if f.link == "reconciling":
        return _activity("link_down", "reconciling")
    if not f.window.is_open(f.now):
        opens = f.window.next_open(f.now)
        if opens is None:
            return _activity("window_closed", "window_never")
        return _activity(
            "window_closed", "window_closed", until=opens, at=_at(opens, f.now, f.window), tz=f.timezone
        )
    if f.callable_contacts == 0:
        if f.calls_in_flight:
            return _activity("finishing", "finishing_in_flight", calls=f.calls_in_flight)
        return _activity("finishing", "finishing")
    if f.next_due is not None and f.next_due > f.now:
        return _activity(
            "retry_wait", "retry_wait", until=f.next_due, at=_at(f.next_due, f.now, f.window), tz=f.timezone
        )
    if f.agents_on_duty == 0:
        if f.agents_paused:
            return _activity("no_agents", "no_agents_paused", paused=f.agents_paused)
        return _activity("no_agents", "no_agents")
    if f.cap_reached:
        return _activity("capped", "capped", rate=f"{f.abandon_rate:.1%}", cap=f"{f.abandon_cap:.0%}")
    level = f"{f.dial_level:.1f}" if f.dial_level else None
    if level is None:
        return _activity("dialling", "dialling_plain", mode=f.mode)
    return _activity("dialling", "dialling", level=level, mode=f.mode)
