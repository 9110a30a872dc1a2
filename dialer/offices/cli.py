"""``dialer office ...``: pickup offices from the command line (list, show, add, import a CSV, link the
applications' free-text office, slots of a day, book, cancel, the day's bookings, reminders)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from dialer.config import WEEKDAYS, Settings
from dialer.db.clirun import run_with_database
from dialer.errors import ServiceError
from dialer.offices import reminders, services
from dialer.offices.schemas import OfficeIn, OfficeOut

T = TypeVar("T")
ACTOR = "cli"


_run = run_with_database


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _show(o: OfficeOut) -> None:
    print(f"{o.id}\t{o.name}\t{o.address}")
    print(
        f"\ttime zone {o.timezone}, {o.slot_minutes}-minute slots, {o.capacity} per slot, {o.horizon_days} days ahead"
    )
    print("\t" + ", ".join(f"{d} {o.hours[d]}" for d in WEEKDAYS))
    if o.holidays:
        print("\tholidays: " + " ".join(d.isoformat() for d in o.holidays))
    for c in o.closures:
        print(f"\tclosed {c.get('day')} {c.get('hours', 'all day')}")
    print(f"\tdirections: {o.directions}")


async def _office(args: argparse.Namespace, settings: Settings, ss: services.Sessions) -> int:
    cmd = args.office_cmd
    if cmd == "list":
        items = await services.list_offices(ss)
        if args.json:
            print(json.dumps([o.model_dump(mode="json") for o in items], ensure_ascii=False, indent=2))
        for o in [] if args.json else items:
            _show(o)
        return 0
    if cmd == "show":
        _show(await services.find_office(ss, args.office))
        return 0
    if cmd == "add":
        hours = {d: args.hours for d in WEEKDAYS[:5]}
        hours.update({d: getattr(args, d) for d in WEEKDAYS if getattr(args, d)})
        spec = OfficeIn.model_validate(
            {
                "name": args.name,
                "address": args.address,
                "directions": args.directions,
                "directions_en": args.directions_en or "",
                "timezone": args.timezone or settings.timezone,
                "hours": hours,
                "slot_minutes": args.slot_minutes,
                "capacity": args.capacity,
                "horizon_days": args.horizon_days,
            }
        )
        o = await services.create_office(ss, spec, actor=ACTOR)
        print(f"office {o.id} {o.name!r} created")
        return 0
    if cmd == "import":
        with args.csv.open("rb") as f:
            report = await services.import_offices(ss, f, actor=ACTOR, default_tz=settings.timezone)
        print(
            f"{args.csv}: {report.total_rows} rows, {report.created} created, {report.updated} updated, "
            f"{len(report.rejected)} rejected"
        )
        for r in report.rejected:
            print(f"  line {r.line}: {r.reason}")
        await _link(ss)
        return 1 if report.rejected and not (report.created or report.updated) else 0
    if cmd == "link":
        return await _link(ss)
    if cmd == "slots":
        o = await services.find_office(ss, args.office)
        day = await services.day_slots(ss, o.id, args.date)
        for s in day.slots:
            print(f"{s.start:%H:%M}-{s.end:%H:%M}\t{s.free}/{s.capacity} free")
        if not day.slots:
            print(f"{o.name} is closed on {args.date.isoformat()}")
        return 0
    if cmd == "book":
        o = await services.find_office(ss, args.office)
        start = services.parse_instant(args.start, "start")
        b = await services.book(ss, args.application, o.id, start, actor=ACTOR, source="cli")
        a = b.appointment
        moved = f" (moved from booking {a.moved_from})" if a.moved_from else ""
        print(f"appointment {a.id}: {a.application_number} at {a.office}, {a.start:%Y-%m-%d %H:%M %z}{moved}")
        return 0
    if cmd == "cancel":
        a = await services.cancel(ss, args.id, actor=ACTOR)
        print(f"appointment {a.id} cancelled; {a.start:%Y-%m-%d %H:%M} at {a.office} is free again")
        return 0
    if cmd == "appointments":
        office_id = (await services.find_office(ss, args.office)).id if args.office else None
        booked = await services.day_appointments(ss, office_id, args.date)
        if args.csv:
            sys.stdout.write(services.appointments_csv(booked))
        else:
            for ap in booked:
                print(f"{ap.id}\t{ap.start:%H:%M}\t{ap.office}\t{ap.application_number}\t{ap.phone or ''}")
        return 0
    if cmd == "voice":
        from dialer.offices import voice

        chosen = (
            [await services.find_office(ss, args.office)] if args.office else await services.list_offices(ss)
        )
        try:
            files = await asyncio.to_thread(voice.write, chosen, args.out)
        except voice.VoiceError as e:
            raise ServiceError(str(e)) from None
        print(f"{len(files)} recordings of {len(chosen)} office(s) written under {args.out}")
        return 0
    if cmd == "reminders":
        tomorrow = datetime.now(settings.tz).date() + timedelta(days=1)
        when: date = args.date or tomorrow
        rem = await reminders.generate(
            ss,
            when,
            actor=ACTOR,
            default_tz=settings.timezone,
            caller_id=settings.caller_id,
            start=args.start,
        )
        if rem.created:
            started = " (started)" if args.start else " (draft: dialer campaign start NAME dials it)"
            print(f"campaign {rem.campaign}: {rem.contacts} contacts{started}")
        elif rem.contacts:
            print(f"campaign {rem.campaign} already exists ({rem.contacts} contacts)")
        else:
            print(f"nobody is booked on {when.isoformat()}; no campaign")
        return 0
    raise AssertionError(cmd)


async def _link(ss: services.Sessions) -> int:
    report = await services.link_applications(ss, actor=ACTOR)
    print(f"applications linked to their office: {report.linked} now, {report.already} before")
    for text, n in sorted(report.unmatched.items(), key=lambda kv: -kv[1]):
        print(f"  no office named {text!r}: {n} application(s)")
    return 0


def cmd_office(args: argparse.Namespace) -> int:
    try:
        return int(_run(args, lambda st, ss: _office(args, st, ss)))
    except ServiceError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 1
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        print(f"dialer: {loc}: {str(first['msg']).removeprefix('Value error, ')}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("office", help="pickup offices, their slots and appointments")
    os_ = s.add_subparsers(dest="office_cmd", required=True, metavar="ACTION")
    x = os_.add_parser("list", help="every office")
    x.add_argument("--json", action="store_true")
    x = os_.add_parser("show", help="one office (by id or name)")
    x.add_argument("office")
    x = os_.add_parser("add", help="create an office")
    x.add_argument("name")
    x.add_argument("--address", required=True)
    x.add_argument("--directions", required=True, help="how to get there, in Russian")
    x.add_argument("--directions-en", default="")
    x.add_argument("--timezone", default=None, help="default: the service's")
    x.add_argument("--hours", default="09:00-18:00", help="Monday to Friday (default 09:00-18:00)")
    for d in WEEKDAYS:
        x.add_argument(f"--{d}", default=None, metavar="HH:MM-HH:MM|closed", help=f"hours on {d}")
    x.add_argument("--slot-minutes", type=int, default=15)
    x.add_argument("--capacity", type=int, required=True, help="people seen at once (desks)")
    x.add_argument("--horizon-days", type=int, default=14, help="how many days ahead booking opens")
    x = os_.add_parser("import", help="create or update offices from a CSV, then link applications")
    x.add_argument("csv", type=Path)
    os_.add_parser("link", help="point applications at the office their pickup_office text names")
    x = os_.add_parser("slots", help="a day's slots with their free places")
    x.add_argument("office")
    x.add_argument("date", type=_day)
    x = os_.add_parser("book", help="book (or move) an application's pickup")
    x.add_argument("application")
    x.add_argument("office")
    x.add_argument("start", help="slot start with offset, e.g. 2027-03-01T10:00+03:00")
    x = os_.add_parser("cancel", help="cancel a booking")
    x.add_argument("id", type=int)
    x = os_.add_parser("appointments", help="a day's bookings")
    x.add_argument("date", type=_day)
    x.add_argument("--office", default=None)
    x.add_argument("--csv", action="store_true", help="as CSV")
    x = os_.add_parser(
        "reminders", help="generate the reminder campaign for a day's bookings (default tomorrow)"
    )
    x.add_argument("--date", type=_day, default=None)
    x.add_argument("--start", action="store_true", help="start dialling it at once")
    x = os_.add_parser("voice", help="record each office's name, address and directions for the IVR")
    x.add_argument("--office", default=None, help="only this office (id or name)")
    x.add_argument(
        "--out",
        type=Path,
        default=Path("asterisk_conf/sounds"),
        help="sounds folder (default asterisk_conf/sounds)",
    )
    s.set_defaults(func=cmd_office)
