"""CLI front of the campaign and agent services: ``dialer campaign ...``, ``dialer agents``, ``dialer agent ...``,
``dialer dnc add``. It talks to the database; the running service picks changes up at its next tick."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from dialer.agents import services as agents
from dialer.campaigns import services
from dialer.campaigns.schemas import CampaignSpec
from dialer.config import Settings, load_settings
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import AgentPresence

T = TypeVar("T")
ACTOR = "cli"


def _run(args: argparse.Namespace, fn: Callable[[Settings, services.Sessions], Awaitable[T]]) -> T:
    settings = load_settings(args.config)

    async def main() -> T:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return await fn(settings, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _fail(e: Exception) -> int:
    print(f"dialer: {e}", file=sys.stderr)
    return 1


def cmd_campaign(args: argparse.Namespace) -> int:
    try:
        return int(_run(args, lambda st, ss: _campaign(args, st, ss)))
    except services.CampaignError as e:
        return _fail(e)
    except Exception as e:
        from pydantic import ValidationError

        if isinstance(e, ValidationError):
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            return _fail(Exception(f"{loc}: {first['msg']}"))
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


async def _campaign(args: argparse.Namespace, settings: Settings, sessions: services.Sessions) -> int:
    region = settings.outbound.default_region
    if args.campaign_cmd == "create":
        spec_args: dict[str, Any] = {"name": args.name, "mode": args.mode, "max_attempts": args.max_attempts}
        for key in ("ratio", "weight", "abandon_cap", "wrapup_seconds", "ring_timeout"):
            if getattr(args, key) is not None:
                spec_args[key] = getattr(args, key)
        if args.amd:
            spec_args["amd"] = True
        spec = CampaignSpec(**spec_args)
        if args.contacts is not None and not args.contacts.is_file():
            raise services.CampaignError(f"contacts file {args.contacts} not found", field="contacts")
        await services.create_campaign(
            sessions, spec, actor=ACTOR, default_tz=settings.timezone, default_caller_id=settings.caller_id
        )
        print(f"campaign {spec.name!r} created ({spec.mode}, up to {spec.max_attempts} attempts per contact)")
        if args.contacts is not None:
            with open(args.contacts, "rb") as f:
                report = await services.import_contacts(sessions, spec.name, f, actor=ACTOR, region=region)
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
    if args.campaign_cmd == "status":
        st = await services.campaign_status(sessions, args.name)
        if args.json:
            print(st.model_dump_json(indent=2))
        else:
            print(
                f"{st.name}: {st.state} ({st.mode}), {st.contacts_total} contacts, {st.progress:.0%} finished"
            )
            print("  contacts: " + ", ".join(f"{k} {v}" for k, v in sorted(st.contacts_by_state.items())))
            print(
                "  attempts: "
                + (", ".join(f"{k} {v}" for k, v in sorted(st.attempts_by_outcome.items())) or "none")
            )
            print(
                f"  in flight {st.calls_in_flight}; today answered {st.answered_today}, abandoned "
                f"{st.abandoned_today} ({st.abandon_rate_today:.1%} of answered; cap {st.abandon_cap:.0%})"
            )
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
    except services.CampaignError as e:
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "campaign", help="create, load, start, pause, resume, stop campaigns; show their status"
    )
    cs = s.add_subparsers(dest="campaign_cmd", required=True, metavar="ACTION")
    x = cs.add_parser("create", help="create a campaign (as a draft), optionally loading a contacts CSV")
    x.add_argument("name")
    x.add_argument("--contacts", type=Path, help="CSV with a header naming phone, application_number, name")
    x.add_argument("--mode", choices=["progressive", "ratio", "predictive"], default="predictive")
    x.add_argument("--max-attempts", type=int, default=3)
    x.add_argument("--ratio", type=float, help="calls per free agent (ratio mode)")
    x.add_argument("--weight", type=int, help="share of agents when campaigns run at once (default 1)")
    x.add_argument("--abandon-cap", type=float, help="abandoned / answered per day (default 0.03)")
    x.add_argument("--wrapup-seconds", type=int, help="after-call time before the next call (default 15)")
    x.add_argument("--ring-timeout", type=int, help="seconds to ring (15..120, default 30)")
    x.add_argument("--amd", action="store_true", help="answering-machine detection")
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
