"""``dialer user ...`` and ``dialer token ...``: the first admin, agent users and API tokens.

Passwords are read from a file (--password-file) or standard input, never from the command line, where
other users of the machine could read them in the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from dialer.config import load_settings
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.errors import ServiceError
from dialer.web import users
from dialer.web.models import Role

T = TypeVar("T")
ACTOR = "cli"


def _run(args: argparse.Namespace, fn: Callable[[users.Sessions], Awaitable[T]]) -> T:
    settings = load_settings(args.config)

    async def main() -> T:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return await fn(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def read_password(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ServiceError("the passwords differ", field="password")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace) -> int:
    try:
        if args.user_cmd in ("create-admin", "create-agent", "set-password"):
            password = read_password(args.password_file)
        if args.user_cmd == "create-admin":
            _run(args, lambda ss: users.create_user(ss, args.name, password, Role.ADMIN, actor=ACTOR))
            print(f"admin {args.name!r} created")
        elif args.user_cmd == "create-agent":
            # the login is not the agent's name: creating a login must not rename the agent on the
            # dashboard, so the name changes only when --display-name says so
            async def create(ss: users.Sessions) -> None:
                await users.create_user(
                    ss,
                    args.login,
                    password,
                    Role.AGENT,
                    actor=ACTOR,
                    extension=args.extension,
                    agent_name=args.display_name,
                )

            _run(args, create)
            print(f"agent user {args.login!r} created for extension {args.extension}")
        elif args.user_cmd == "set-password":
            n = _run(args, lambda ss: users.set_password(ss, args.name, password, actor=ACTOR))
            print(f"password of {args.name!r} changed; their sessions are closed and {n} token(s) revoked")
        elif args.user_cmd in ("disable", "enable"):
            active = args.user_cmd == "enable"
            _run(args, lambda ss: users.set_active(ss, args.name, active, actor=ACTOR))
            print(f"user {args.name!r} {args.user_cmd}d")
        elif args.user_cmd == "list":
            for u, ext in _run(args, users.list_users):
                print(f"{u.username}\t{u.role}\t{ext or '-'}\t{'active' if u.active else 'disabled'}")
        return 0
    except (ServiceError, OSError) as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 1


def cmd_token(args: argparse.Namespace) -> int:
    try:
        if args.token_cmd == "create":
            token = _run(
                args,
                lambda ss: users.create_token(
                    ss, args.user, actor=ACTOR, name=args.name or "", days=args.days
                ),
            )
            print(token)
        elif args.token_cmd == "revoke" and args.id is not None:
            info = _run(args, lambda ss: users.revoke_token(ss, args.id, actor=ACTOR))
            print(f"token {info.id} ({info.name or 'unnamed'}) of {info.username!r} revoked")
        elif args.token_cmd == "revoke":
            if not args.user:
                raise ServiceError("name a USER (every token of theirs) or give --id N (one token)")
            n = _run(args, lambda ss: users.revoke_tokens(ss, args.user, actor=ACTOR))
            print(f"{n} token(s) of {args.user!r} revoked")
        elif args.token_cmd == "list":
            for t in _run(args, lambda ss: users.list_tokens(ss, args.user)):
                used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never used"
                expires = t.expires_at.isoformat(timespec="seconds") if t.expires_at else "no expiry"
                print(f"{t.id}\t{t.username}\t{t.name or '-'}\t{used}\t{expires}")
        return 0
    except ServiceError as e:
        print(f"dialer: {e}", file=sys.stderr)
        return 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("user", help="web users: the first admin, agents' logins, passwords")
    us = s.add_subparsers(dest="user_cmd", required=True, metavar="ACTION")
    pw_help = "read the password from this file (default: standard input)"
    x = us.add_parser("create-admin", help="create an admin (password from stdin or --password-file)")
    x.add_argument("name")
    x.add_argument("--password-file", type=Path, help=pw_help)
    x = us.add_parser("create-agent", help="create an agent's login linked to an extension")
    x.add_argument("extension")
    x.add_argument("login", help="the login name (the agent's displayed name is not changed)")
    x.add_argument(
        "--display-name",
        help="the agent's name on the dashboard (default: unchanged; 'Agent EXTENSION' for a new agent)",
    )
    x.add_argument("--password-file", type=Path, help=pw_help)
    x = us.add_parser("set-password", help="change a user's password (ends their sessions)")
    x.add_argument("name")
    x.add_argument("--password-file", type=Path, help=pw_help)
    us.add_parser("list", help="all users")
    x = us.add_parser("disable", help="stop a user logging in (ends their sessions; tokens stop working)")
    x.add_argument("name")
    x = us.add_parser("enable", help="let a disabled user log in again")
    x.add_argument("name")
    s.set_defaults(func=cmd_user)

    s = sub.add_parser("token", help="bearer tokens for scripts using the REST API")
    ts = s.add_subparsers(dest="token_cmd", required=True, metavar="ACTION")
    x = ts.add_parser("create", help="print a new token for USER (shown once; only its hash is stored)")
    x.add_argument("user")
    x.add_argument("--name", help="what the token is for")
    x.add_argument("--days", type=int, help="expires after this many days (default: never)")
    x = ts.add_parser("revoke", help="revoke every token of USER, or one token with --id")
    x.add_argument("user", nargs="?")
    x.add_argument("--id", type=int, help="revoke only this token (see `dialer token list`)")
    x = ts.add_parser("list", help="tokens (id, user, name, last use, expiry; never their values)")
    x.add_argument("user", nargs="?", help="only this user's")
    s.set_defaults(func=cmd_token)
