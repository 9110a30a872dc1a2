"""Subcommands of the ivr feature (see dialer.cli.CLI_PLUGINS)."""

from __future__ import annotations

import argparse
from pathlib import Path


def absolute_sqlite(url: str) -> str:
    """A relative SQLite path means nothing to a script Asterisk starts from its own working folder."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        u = u.set(database=str(Path(u.database).resolve()))
    return u.render_as_string(hide_password=False)


def cmd_bundle(args: argparse.Namespace) -> int:
    from dialer.config import load_settings
    from dialer.ivr.bundle import write_bundle, write_conf

    script = write_bundle(args.dest)
    print(f"wrote {script} and {args.dest / 'ivr-lib'}")
    if args.with_conf:
        settings = load_settings(args.config)
        conf = write_conf(args.dest, absolute_sqlite(settings.database_url), default_lang=args.lang)
        print(f"wrote {conf} (mode 600: it holds the database URL)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("ivr", help="the inbound IVR on 505 (application status by application number)")
    ivs = s.add_subparsers(dest="ivr_cmd", required=True, metavar="ACTION")
    x = ivs.add_parser(
        "bundle",
        help="write the classic AGI script with everything it needs into DEST (the PBX's agi-bin)",
        description="Writes DEST/ivr.py and DEST/ivr-lib/ (the IVR modules, pyst2, six). The PBX needs "
        "python3 with SQLAlchemy 2.0 and psycopg2 (PostgreSQL) or sqlite3. Dialplan: AGI(ivr.py).",
    )
    x.add_argument("dest", type=Path)
    x.add_argument(
        "--with-conf",
        action="store_true",
        help="also write DEST/dialer-ivr.conf with database.url from the configuration",
    )
    x.add_argument("--lang", default=None, help="default prompt language written to the conf (ru, en)")
    x.set_defaults(func=cmd_bundle)
