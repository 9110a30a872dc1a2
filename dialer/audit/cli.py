"""``dialer audit``: a nightly check that nobody was called twice, late or against the rules, and nothing was
lost, judged by Asterisk's records rather than by the dialer's own database.

Exit status: 0 clean, 1 anomalies found (each printed with its attempt and channel), 2 the audit could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dialer.audit.judge import KINDS

_SPAN = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(value: str) -> timedelta:
    """``90``, ``30m``, ``24h``, ``7d``."""
    m = _SPAN.match(value.strip().lower())
    if not m:
        raise ValueError(f"not a duration: {value!r} (try 30m, 24h, 7d)")
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


def parse_since(value: str, now: datetime, tz: str) -> datetime:
    """A duration back from now (``24h``), a date (local midnight in the service's zone) or a date-time (the
    service's zone unless it names an offset)."""
    v = value.strip()
    try:
        return now - parse_span(v)
    except ValueError:
        pass
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        t = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(
            f"--since: not a duration, date or date-time: {value!r} (try 24h, 2026-11-30, 2026-11-30T09:00)"
        ) from None
    return (t if t.tzinfo else t.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)


def cmd_audit(args: argparse.Namespace) -> int:
    from dialer.audit.collect import AuditError, run_audit
    from dialer.callrecords.reader import RecordsUnavailable
    from dialer.cli import _settings

    settings = _settings(args)
    now = datetime.now(UTC)
    try:
        since = parse_since(args.since, now, settings.timezone)
        stuck = parse_span(args.stuck_after)
    except ValueError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(run_audit(settings, since, campaign=args.campaign, stuck_after=stuck, now=now))
    except (AuditError, RecordsUnavailable) as e:
        print(f"dialer: audit: {e}", file=sys.stderr)
        return 2
    counts = report.counts()
    if args.json:
        print(
            json.dumps(
                {
                    "since": since.isoformat(timespec="seconds"),
                    "campaign": args.campaign,
                    "calls": report.calls,
                    "anomalies": counts,
                    "details": [a.as_dict() for a in report.anomalies],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        c = report.calls
        print(
            f"audit since {since.isoformat(timespec='seconds')}"
            + (f", campaign {args.campaign}" if args.campaign else "")
            + f": {c['placed']} calls placed by Asterisk, {c['attempts']} attempts, {c['connected']} connected, "
            f"{c['abandoned']} abandoned"
        )
        for a in report.anomalies:
            print(a.line())
        total = sum(counts.values())
        print(
            "no anomalies"
            if not total
            else f"{total} anomalies: " + ", ".join(f"{k} {n}" for k, n in counts.items() if n)
        )
    return 1 if report.anomalies else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "audit",
        help="compare Asterisk's call records with the service's attempts and report every anomaly",
        description="Anomalies: "
        + ", ".join(KINDS)
        + ". Exit 0 clean, 1 anomalies, 2 the audit could not run.",
    )
    s.add_argument("--since", default="24h", help="24h (default), 7d, a date or a date-time (service zone)")
    s.add_argument("--campaign", default=None, help="only this campaign's calls")
    s.add_argument(
        "--stuck-after",
        default="2h",
        help="an open attempt with no record older than this is stuck (default 2h)",
    )
    s.add_argument("--json", action="store_true", help="one JSON object: calls, anomalies per kind, details")
    s.set_defaults(func=cmd_audit)
