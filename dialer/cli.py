"""The ``dialer`` command. Every subcommand has its own --help."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from dialer.config import ConfigError, Settings, load_settings
from dialer.logs import setup_logging

log = logging.getLogger("dialer")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _setup_logs(settings: Settings, verbose: bool = False) -> None:
    secrets = [settings.ami.secret.get_secret_value()]
    from sqlalchemy.engine import make_url

    try:
        pw = make_url(settings.database_url).password
        if pw:
            secrets.append(str(pw))
    except Exception:
        pass
    setup_logging("DEBUG" if verbose else settings.logging.level, settings.logging.json_format, secrets)


# ---- serve ---------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from dialer.service import Service

    settings = _settings(args)
    _setup_logs(settings, args.verbose)

    async def main() -> None:
        await Service(settings).run()

    asyncio.run(main())
    return 0


# ---- db ------------------------------------------------------------------------------------------------
def cmd_db(args: argparse.Namespace) -> int:
    from dialer.db import migrate
    from dialer.db.engine import parse_url, safe_url

    settings = _settings(args)
    _setup_logs(settings, args.verbose)
    url = settings.database_url
    parse_url(url)
    if args.db_cmd == "upgrade":
        migrate.upgrade(url, args.revision)
        print(f"database {safe_url(url)} upgraded to {args.revision}")
    elif args.db_cmd == "downgrade":
        migrate.downgrade(url, args.revision)
        print(f"database {safe_url(url)} downgraded to {args.revision}")
    elif args.db_cmd == "check":
        migrate.check(url)
        print("models and migrations agree")
    elif args.db_cmd == "current":
        migrate.current(url)
    return 0


# ---- sandbox -------------------------------------------------------------------------------------------
def cmd_sandbox(args: argparse.Namespace) -> int:
    from dialer.sandbox import Sandbox

    settings = _settings(args)
    _setup_logs(settings, args.verbose)
    sb = Sandbox(settings)
    if args.sandbox_cmd == "up":
        sb.up(agents=args.agents)
        print("\n".join(sb.status().lines()))
    elif args.sandbox_cmd == "down":
        sb.down()
        print("sandbox stopped")
    elif args.sandbox_cmd == "status":
        st = sb.status()
        print("\n".join(st.lines()))
        return 0 if st.pbx and st.carrier else 3
    elif args.sandbox_cmd == "rx":
        print(sb.rx(" ".join(args.command), carrier=args.carrier), end="")
    return 0


# ---- config --------------------------------------------------------------------------------------------
def cmd_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    data = json.loads(settings.model_dump_json(by_alias=True))
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dialer",
        description="Predictive dialer and IVR for Asterisk (call centre 505).",
    )
    p.add_argument(
        "--config", type=Path, default=None, help="YAML config file (default: ./config.yaml if present)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the service: dialer engine, web API and FastAGI in one process")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("db", help="database schema migrations")
    dbs = s.add_subparsers(dest="db_cmd", required=True, metavar="ACTION")
    x = dbs.add_parser("upgrade", help="apply migrations (default: to the newest)")
    x.add_argument("revision", nargs="?", default="head")
    x = dbs.add_parser("downgrade", help="revert migrations to REVISION ('base' = empty)")
    x.add_argument("revision")
    dbs.add_parser("check", help="fail if the models and the migrations disagree")
    dbs.add_parser("current", help="show the database's revision")
    s.set_defaults(func=cmd_db)

    s = sub.add_parser("sandbox", help="a real Asterisk 22 in a Debian chroot, for demos and tests")
    sbs = s.add_subparsers(dest="sandbox_cmd", required=True, metavar="ACTION")
    x = sbs.add_parser(
        "up", help="build (once) and start the PBX, the simulated carrier and agent softphones"
    )
    x.add_argument("--agents", type=int, default=None, help="softphones to start (default: sandbox.agents)")
    sbs.add_parser("down", help="stop everything and unmount")
    sbs.add_parser("status", help="what is running (exit 3 when Asterisk is not)")
    x = sbs.add_parser("rx", help="run an Asterisk CLI command on the PBX (or --carrier)")
    x.add_argument("--carrier", action="store_true")
    x.add_argument("command", nargs="+")
    s.set_defaults(func=cmd_sandbox)

    s = sub.add_parser("config", help="print the effective configuration (secrets masked)")
    s.set_defaults(func=cmd_config)

    import importlib

    for name in CLI_PLUGINS:
        importlib.import_module(name).register(sub)
    return p


# Feature packages that add subcommands: each module has ``register(subparsers)``.
CLI_PLUGINS = (
    "dialer.campaigns.cli",
    "dialer.ivr.cli",
    "dialer.web.cli",
    "dialer.demo",
    "dialer.benchcli",
    "dialer.offices.cli",
    "dialer.audit.cli",
)


def main(argv: list[str] | None = None) -> int:
    try:
        rc = _main(argv)
        sys.stdout.flush()  # a pipe closed early fails here rather than in the interpreter's exit
        return rc
    except BrokenPipeError:
        # the reader went away (``dialer ... | head``): stop quietly, as a program ended by SIGPIPE does, and
        # point stdout at /dev/null so the interpreter's last flush has nowhere to fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
        return rc
    except ConfigError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        from dialer.sandbox.chroot import SandboxError

        if isinstance(e, SandboxError):
            print(f"dialer: sandbox: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
