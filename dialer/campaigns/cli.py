"""CLI front of the campaign and agent services: ``dialer campaign ...``, ``dialer agents``, ``dialer agent ...``,
``dialer dnc add``. It talks to the database; the running service picks changes up at its next tick."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from annotated_types import Ge, Gt, Le
from pydantic.fields import FieldInfo
from sqlalchemy import delete, select

from dialer.agents import services as agents
from dialer.campaigns import activity, services
from dialer.campaigns.schemas import DEFAULT_RETRY_DELAYS, CampaignSpec, CampaignStatus
from dialer.campaigns.settings import CampaignSettings
from dialer.config import WEEKDAYS, Settings
from dialer.db.clirun import run_with_database
from dialer.db.models import AgentPresence, Campaign, Contact
from dialer.errors import ServiceError
from dialer.imports.csvfile import CsvFormatError, read_rows

T = TypeVar("T")
ACTOR = "cli"


_run = run_with_database


def _fail(e: Exception) -> int:
    print(f"dialer: {e}", file=sys.stderr)
    return 1


def cmd_campaign(args: argparse.Namespace) -> int:
    try:
        return int(_run(args, lambda st, ss: _campaign(args, st, ss)))
    except ServiceError as e:
        return _fail(e)
    except Exception as e:
        from pydantic import ValidationError

        if isinstance(e, ValidationError):
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            given = first.get("input")
            got = f" (got {given!r})" if isinstance(given, str | int | float) else ""
            return _fail(Exception(f"{loc}: {first['msg']}{got}"))
        raise


def _print_report(report: Any, path: Path) -> None:
    print(
        f"{path}: {report.total_rows} rows, {report.accepted} accepted, {len(report.rejected)} rejected",
        end="",
    )
    print(f", {report.dnc} on the do-not-call list (kept, not called)" if report.dnc else "")
    for r in report.rejected[:200]:
        print(f"  line {r.line}: {r.reason}")
    if len(report.rejected) > 200:
        print(f"  ... and {len(report.rejected) - 200} more")


DAY_GROUPS = {"daily": WEEKDAYS, "all": WEEKDAYS, "weekdays": WEEKDAYS[:5], "weekend": WEEKDAYS[5:]}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_days(days: str) -> list[str]:
    """'mon', 'mon-fri', 'sat,sun', 'weekdays', 'weekend', 'daily' -> weekday keys."""
    out: list[str] = []
    for part in days.strip().lower().split(","):
        first, dash, last = part.strip().partition("-")
        if part in DAY_GROUPS:
            out.extend(DAY_GROUPS[part])
        elif (
            dash and first in WEEKDAYS and last in WEEKDAYS and WEEKDAYS.index(first) <= WEEKDAYS.index(last)
        ):
            out.extend(WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last) + 1])
        elif part in WEEKDAYS:
            out.append(part)
        else:
            raise ServiceError(
                f"--window: unknown days {part!r}; use mon..sun, a range (mon-fri), a list (sat,sun), "
                "weekdays, weekend or daily",
                field="window",
            )
    return out


def parse_window(items: list[str]) -> dict[str, str]:
    """``--window DAYS=HH:MM-HH:MM|closed`` (repeatable) -> weekday -> hours. The hours themselves are
    checked by WindowSpec, the validator the API uses."""
    hours: dict[str, str] = {}
    for item in items:
        days, sep, spec = item.partition("=")
        if not sep or not spec.strip():
            raise ServiceError(
                f"--window {item!r}: expected DAYS=HH:MM-HH:MM or DAYS=closed (mon-fri=09:00-19:00)",
                field="window",
            )
        for day in parse_days(days):
            hours[day] = spec.strip()
    return hours


def parse_delay(text: str) -> int:
    """'600', '600s', '10m', '1h' -> seconds."""
    t = text.strip().lower()
    unit = UNITS.get(t[-1:], 0)
    number = t[:-1] if unit else t
    if not number.isdigit():
        raise ValueError(f"expected seconds or a number with s, m, h or d, got {text!r}")
    return int(number) * (unit or 1)


def parse_retries(items: list[str]) -> dict[str, int]:
    """``--retry OUTCOME=DELAY`` (repeatable). Outcomes and the minimum are CampaignSpec's checks."""
    out: dict[str, int] = {}
    for item in items:
        outcome, sep, delay = item.partition("=")
        try:
            if not sep:
                raise ValueError("expected OUTCOME=DELAY (busy=10m)")
            out[outcome.strip().lower()] = parse_delay(delay)
        except ValueError as e:
            raise ServiceError(f"--retry {item!r}: {e}", field="retry_delays") from None
    return out


def _span(s: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def describe_window(window: dict[str, Any]) -> str:
    """'mon-fri 09:00-19:00, sat-sun closed; holidays 2027-01-01'. Runs of days with the same hours join."""
    hours = window.get("hours") or {}
    runs: list[tuple[str, str, str]] = []
    for day in WEEKDAYS:
        spec = str(hours.get(day, "closed")).strip().lower()
        if runs and runs[-1][2] == spec:
            runs[-1] = (runs[-1][0], day, spec)
        else:
            runs.append((day, day, spec))
    return ", ".join((a if a == b else f"{a}-{b}") + f" {spec}" for a, b, spec in runs)


def describe(camp: Any, default_window: dict[str, Any]) -> list[str]:
    """The calling window, its time zone, holidays and retry delays, as `status`, `create` and `edit` show."""
    own = bool(camp.window)
    window = camp.window if own else default_window
    holidays = ", ".join(str(d) for d in window.get("holidays") or []) or "none"
    delays = {**DEFAULT_RETRY_DELAYS, **(camp.retry_delays or {})}
    return [
        f"  window: {describe_window(window)}, {camp.timezone} time{'' if own else ' (the service default)'}",
        f"  holidays: {holidays}",
        "  retries: " + ", ".join(f"{k} after {_span(int(v))}" for k, v in delays.items()),
    ]


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _hm(seconds: float) -> str:
    m = int(seconds // 60)
    return f"{m // 60}h{m % 60:02d}m"


def print_status(st: CampaignStatus, settings_lines: list[str]) -> None:
    print(f"{st.name}: {st.state} ({st.mode}), {st.contacts_total} contacts, {st.progress:.0%} finished")
    if st.activity is not None:
        print(f"  now: {st.activity.text}")
    print("  contacts: " + ", ".join(f"{k} {v}" for k, v in sorted(st.contacts_by_state.items())))
    print(
        "  attempts: " + (", ".join(f"{k} {v}" for k, v in sorted(st.attempts_by_outcome.items())) or "none")
    )
    line = (
        f"  in flight {st.calls_in_flight}; today answered {st.answered_today}, abandoned "
        f"{st.abandoned_today} ({st.abandon_rate_today:.1%} of answered; cap {st.abandon_cap:.0%})"
    )
    occ = st.occupancy
    print(line)
    if occ is not None:
        print(
            f"  occupancy today {_percent(occ.today)} (talk {_hm(occ.talk_seconds_today)} of "
            f"{_hm(occ.logged_in_seconds_today)} logged in); now {occ.talking_now} of {occ.logged_in_now} "
            "agents logged in are talking"
        )
    for s in settings_lines:
        print(s)


# Settings with options of their own shape (--window/--holiday, --retry); every other setting is an option
# named after it (ring_timeout: --ring-timeout), made from its declaration.
OWN_OPTIONS = ("window", "retry_delays")


def _plain_settings() -> list[str]:
    return [name for name in CampaignSettings.model_fields if name not in OWN_OPTIONS]


def _spec_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, named as CampaignSpec names them."""
    return {k: getattr(args, k) for k in _plain_settings() if getattr(args, k, None) is not None}


def _window_change(args: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any] | None:
    """The new window, or None when no window option was given. Days not named keep ``base``'s hours."""
    if not (args.window or args.holiday or getattr(args, "clear_holidays", False)):
        return None
    holidays = [] if getattr(args, "clear_holidays", False) else list(base.get("holidays") or [])
    holidays += [h for h in args.holiday if h not in holidays]
    return {"hours": {**(base.get("hours") or {}), **parse_window(args.window)}, "holidays": holidays}


def check_contacts_file(path: Path) -> None:
    """One clear line (ServiceError) when the contacts file can not be imported at all."""
    try:
        with open(path, "rb") as f:
            next(read_rows(f, required=("phone", "application_number", "name")), None)
    except FileNotFoundError:
        raise ServiceError(f"contacts file {path} not found", field="contacts") from None
    except OSError as e:
        raise ServiceError(f"contacts file {path}: {e.strerror or e}", field="contacts") from None
    except CsvFormatError as e:
        raise ServiceError(f"contacts file {path}: {e}", field="contacts") from None


async def _drop_draft(sessions: services.Sessions, name: str) -> None:
    """Undo ``campaign create`` whose import failed: the campaign and the contacts it got so far."""
    async with sessions() as s:
        camp = (await s.execute(select(Campaign).where(Campaign.name == name))).scalar_one_or_none()
        if camp is not None and camp.state == "draft":
            await s.execute(delete(Contact).where(Contact.campaign_id == camp.id))
            await s.delete(camp)
            await s.commit()


async def _campaign(args: argparse.Namespace, settings: Settings, sessions: services.Sessions) -> int:
    region = settings.outbound.default_region
    default = activity.default_window(settings)
    if args.campaign_cmd == "create":
        spec_args = {"name": args.name, **_spec_args(args)}
        window = _window_change(args, default)
        if window is not None:
            spec_args["window"] = window
        if args.retry:
            spec_args["retry_delays"] = parse_retries(args.retry)
        spec = CampaignSpec(**spec_args)  # the API's validators: one definition of each setting
        if args.contacts is not None:
            # a file that can not be imported stops here, before a campaign exists (a re-run must not
            # find an empty draft under the same name)
            await asyncio.to_thread(check_contacts_file, args.contacts)
        camp = await services.create_campaign(
            sessions, spec, actor=ACTOR, default_tz=settings.timezone, default_caller_id=settings.caller_id
        )
        if args.contacts is not None:
            try:
                with open(args.contacts, "rb") as f:
                    report = await services.import_contacts(
                        sessions, spec.name, f, actor=ACTOR, region=region
                    )
            except BaseException:
                await _drop_draft(sessions, spec.name)
                raise
        print(f"campaign {spec.name!r} created ({spec.mode}, up to {spec.max_attempts} attempts per contact)")
        print("\n".join(describe(camp, default)))
        if args.timezone is None:  # never silently: say where the zone came from and how to choose
            print(
                f"  time zone {camp.timezone} is the service's `timezone`; --timezone (or `edit`) sets another"
            )
        if args.contacts is not None:
            _print_report(report, args.contacts)
        return 0
    if args.campaign_cmd == "import":
        with open(args.contacts, "rb") as f:
            report = await services.import_contacts(sessions, args.name, f, actor=ACTOR, region=region)
        _print_report(report, args.contacts)
        return 0
    if args.campaign_cmd in services.TRANSITIONS:
        camp = await services.change_state(sessions, args.name, args.campaign_cmd, actor=ACTOR)
        print(f"campaign {camp.name!r} is {camp.state}")
        return 0
    if args.campaign_cmd == "edit":
        async with sessions() as s:
            current = await services.get_campaign(s, args.name)
        changes = _spec_args(args)
        if args.rename is not None:
            changes["name"] = args.rename
        window = _window_change(args, current.window or default)
        if window is not None:
            changes["window"] = window
        if args.retry:
            changes["retry_delays"] = {**current.retry_delays, **parse_retries(args.retry)}
        if not changes:
            raise ServiceError("nothing to change: give at least one setting (see --help)")
        camp = await services.edit_campaign(sessions, args.name, changes, actor=ACTOR)
        print(f"campaign {camp.name!r} changed: {', '.join(sorted(changes))}")
        print("\n".join(describe(camp, default)))
        return 0
    if args.campaign_cmd == "status":
        engine = await activity.probe_service(settings.http.bind)
        st = await activity.campaign_status(sessions, args.name, engine=engine, default_window=default)
        if args.json:
            print(st.model_dump_json(indent=2))
        else:
            async with sessions() as s:
                camp = await services.get_campaign(s, args.name)
            print_status(st, describe(camp, default))
        return 0
    if args.campaign_cmd == "list":
        camps = await services.list_campaigns(sessions)
        if args.json:
            print(json.dumps([{"name": c.name, "state": c.state, "mode": c.pacing_mode} for c in camps]))
        else:
            for c in camps:
                print(f"{c.name}\t{c.state}\t{c.pacing_mode}")
        return 0
    raise AssertionError(args.campaign_cmd)


def cmd_agents(args: argparse.Namespace) -> int:
    async def go(_st: Settings, sessions: services.Sessions) -> int:
        rows = await agents.list_agents(sessions)
        data = [
            {
                "extension": a.extension,
                "name": a.name,
                "presence": a.presence,
                "state": a.state,
                "pause_reason": a.pause_reason,
                "registered": a.registered,
                "device_state": a.device_state,
                "since": a.state_since.isoformat(),
            }
            for a in rows
        ]
        if args.json:
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            for d in data:
                reason = f" ({d['pause_reason']})" if d["pause_reason"] else ""
                reg = "registered" if d["registered"] else "not registered"
                print(f"{d['extension']}\t{d['state']}{reason}\t{d['presence']}\t{reg}\t{d['name']}")
        return 0

    return _run(args, go)


def cmd_agent(args: argparse.Namespace) -> int:
    presence = {
        "login": AgentPresence.READY,
        "ready": AgentPresence.READY,
        "pause": AgentPresence.PAUSED,
        "logout": AgentPresence.LOGGED_OUT,
    }[args.agent_cmd]

    async def go(_st: Settings, sessions: services.Sessions) -> int:
        for ext in args.extensions:
            if args.agent_cmd == "login":
                await agents.ensure_agent(sessions, ext, args.name)
            a = await agents.set_presence(
                sessions,
                ext,
                presence,
                actor=ACTOR,
                reason=getattr(args, "reason", None),
                campaigns=getattr(args, "campaign", None),
            )
            print(f"agent {a.extension}: {a.presence}")
        return 0

    try:
        return _run(args, go)
    except ServiceError as e:
        return _fail(e)


def cmd_dnc(args: argparse.Namespace) -> int:
    async def go(st: Settings, sessions: services.Sessions) -> int:
        n = await services.add_dnc(
            sessions, args.phones, actor=ACTOR, reason=args.reason, region=st.outbound.default_region
        )
        print(f"{n} number(s) added to the do-not-call list")
        return 0

    try:
        return _run(args, go)
    except ValueError as e:
        return _fail(e)


def _bounds(info: FieldInfo) -> str:
    """'15..120', 'at least 1', 'over 0, at most 0.05': a field's bounds as its validator checks them."""
    lo = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    over = next((m.gt for m in info.metadata if isinstance(m, Gt)), None)
    hi = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    said = (("at least", lo), ("over", over), ("at most", hi))
    return ", ".join(f"{word} {v}" for word, v in said if v is not None)


def _setting_option(x: argparse.ArgumentParser, name: str, *, edit: bool) -> None:
    """``--NAME`` for one setting, from its declaration: type or choices, bounds and default in the help.
    No default is set: unset means the spec's default on create, unchanged on edit."""
    info = CampaignSettings.model_fields[name]
    flag = "--" + name.replace("_", "-")
    default = f"default {info.default}"
    if info.default is None or isinstance(info.default, bool):  # (1 == True: no dict look-up)
        default = "" if info.default is None else ("default on" if info.default else "default off")
    notes = [n for n in (_bounds(info), default) if n]
    text = f"{info.description} ({'; '.join(notes)})" if notes else str(info.description)
    kind = info.annotation
    if kind is bool:
        action: Any = argparse.BooleanOptionalAction if edit else "store_true"
        x.add_argument(flag, action=action, default=None, help=text)
    elif get_origin(kind) is Literal:
        x.add_argument(flag, choices=get_args(kind), help=text)
    else:
        convert: Any = kind if kind in (int, float) else str
        x.add_argument(flag, type=convert, help=text)


def _settings_options(x: argparse.ArgumentParser, *, edit: bool) -> None:
    """The same options for create and edit; nothing has a default (unset = the spec's default on create,
    unchanged on edit)."""
    for name in _plain_settings():
        _setting_option(x, name, edit=edit)
    x.add_argument(
        "--window",
        action="append",
        default=[],
        metavar="DAYS=HOURS",
        help="calling hours for some weekdays, repeatable: mon-fri=09:00-19:00, sat=10:00-16:00, sun=closed "
        "(DAYS: mon..sun, a range, a list, weekdays, weekend, daily; days not named keep "
        + ("their hours)" if edit else "the service's hours)"),
    )
    x.add_argument(
        "--holiday", action="append", default=[], metavar="YYYY-MM-DD", help="no calls that day (repeatable)"
    )
    if edit:
        x.add_argument("--clear-holidays", action="store_true", help="forget the holidays set before")
    x.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="OUTCOME=DELAY",
        help="wait before calling again after an outcome, repeatable: busy=10m, noanswer=1h "
        f"(outcomes: {', '.join(DEFAULT_RETRY_DELAYS)}; at least 60 s)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "campaign", help="create, load, start, pause, resume, stop campaigns; show their status"
    )
    cs = s.add_subparsers(dest="campaign_cmd", required=True, metavar="ACTION")
    x = cs.add_parser("create", help="create a campaign (as a draft), optionally loading a contacts CSV")
    x.add_argument("name")
    x.add_argument("--contacts", type=Path, help="CSV with a header naming phone, application_number, name")
    _settings_options(x, edit=False)
    x = cs.add_parser("edit", help="change a draft or paused campaign's settings (only those given)")
    x.add_argument("name")
    x.add_argument("--rename", metavar="NEW_NAME", help="a new name")
    _settings_options(x, edit=True)
    x = cs.add_parser("import", help="add contacts from a CSV to a campaign")
    x.add_argument("name")
    x.add_argument("contacts", type=Path)
    for action, text in (
        ("start", "start dialling a draft campaign"),
        ("pause", "no new calls; calls in flight finish normally"),
        ("resume", "dial again after a pause"),
        ("stop", "end the campaign for good; pending contacts are cancelled"),
    ):
        cs.add_parser(action, help=text).add_argument("name")
    x = cs.add_parser("status", help="state, contacts by state, attempts by outcome, abandon rate")
    x.add_argument("name")
    x.add_argument("--json", action="store_true")
    x = cs.add_parser("list", help="all campaigns")
    x.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_campaign)

    s = sub.add_parser("agents", help="agents with their presence and live state")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_agents)

    s = sub.add_parser("agent", help="log agents in or out, make them ready, or pause them")
    ags = s.add_subparsers(dest="agent_cmd", required=True, metavar="ACTION")
    x = ags.add_parser("login", help="log in (and create) agents by extension; they become ready")
    x.add_argument("extensions", nargs="+")
    x.add_argument("--name")
    x.add_argument("--campaign", action="append", help="take calls only for this campaign (repeatable)")
    ags.add_parser("ready", help="ready for calls").add_argument("extensions", nargs="+")
    x = ags.add_parser("pause", help="no calls until ready again")
    x.add_argument("extensions", nargs="+")
    x.add_argument("--reason", default="break")
    ags.add_parser("logout", help="log out").add_argument("extensions", nargs="+")
    s.set_defaults(func=cmd_agent)

    s = sub.add_parser("dnc", help="the do-not-call list")
    ds = s.add_subparsers(dest="dnc_cmd", required=True, metavar="ACTION")
    x = ds.add_parser("add", help="never call these numbers")
    x.add_argument("phones", nargs="+")
    x.add_argument("--reason")
    s.set_defaults(func=cmd_dnc)
