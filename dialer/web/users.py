"""Users, browser sessions and API tokens: the service layer behind ``dialer user``/``dialer token`` and
the web login. Secrets (session ids, tokens) are random and only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.agents import services as agents
from dialer.auditlog import audit
from dialer.db.models import Agent
from dialer.db.types import utcnow
from dialer.errors import Conflict, NotFound, ServiceError
from dialer.web.models import ApiToken, Role, User, WebSession
from dialer.web.passwords import check_strength, hash_async, verify_async

Sessions = async_sessionmaker[AsyncSession]

SESSION_TTL = timedelta(hours=12)  # a working shift; the browser logs in again the next day
SESSION_IDLE = timedelta(hours=2)  # an abandoned browser is logged out
TOKEN_PREFIX = "dlr_"


@dataclass(frozen=True)
class Identity:
    """Who is calling: resolved from a session cookie or a bearer token on every request."""

    user_id: int
    username: str
    role: Role
    agent_id: int | None
    extension: str | None
    csrf_token: str | None  # None for bearer tokens: scripts are not exposed to CSRF
    session_id: str | None = None
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() or ord(c) < 32 for c in username):
        raise ServiceError("user name must be 1..100 characters without spaces", field="username")
    return username


async def create_user(
    sessions: Sessions,
    username: str,
    password: str,
    role: Role,
    *,
    actor: str,
    extension: str | None = None,
    agent_name: str | None = None,
) -> User:
    """Create an admin, or an agent user linked to an extension (the agent is created if new)."""
    username = _check_username(username)
    try:
        check_strength(password, username)
    except ValueError as e:
        raise ServiceError(str(e), field="password") from None
    agent_id = None
    if role is Role.AGENT:
        if extension is None:
            raise ServiceError("an agent user needs an extension", field="extension")
        agent_id = (await agents.ensure_agent(sessions, extension, agent_name)).id
    pw_hash = await hash_async(password)
    async with sessions() as s:
        user = User(username=username, password_hash=pw_hash, role=role, agent_id=agent_id, active=True)
        s.add(user)
        try:
            await s.flush()
        except IntegrityError:
            raise Conflict(
                f"user {username!r} already exists, or extension {extension} already has a user",
                field="username",
            ) from None
        await audit(s, actor, "user.create", username, role=str(role), extension=extension)
        await s.commit()
        return user


async def set_password(sessions: Sessions, username: str, password: str, *, actor: str) -> int:
    """Change a password. Every open session and every bearer token of the user ends with the old
    password (a leaked password may have been used to make them); returns the number of tokens revoked."""
    try:
        check_strength(password, username)
    except ValueError as e:
        raise ServiceError(str(e), field="password") from None
    pw_hash = await hash_async(password)
    async with sessions() as s:
        user = await get_user(s, username)
        user.password_hash = pw_hash
        await s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        n = len((await s.execute(select(ApiToken.id).where(ApiToken.user_id == user.id))).all())
        await s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        await audit(s, actor, "user.password", username, tokens_revoked=n)
        await s.commit()
        return n


async def set_active(sessions: Sessions, username: str, active: bool, *, actor: str) -> None:
    """Disable (or enable again) a user: a disabled user's sessions end at once and their tokens stop
    working until the user is enabled."""
    async with sessions() as s:
        user = await get_user(s, username)
        user.active = active
        if not active:
            await s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        await audit(s, actor, "user.enable" if active else "user.disable", username)
        await s.commit()


async def get_user(session: AsyncSession, username: str) -> User:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return user


async def list_users(sessions: Sessions) -> list[tuple[User, str | None]]:
    async with sessions() as s:
        rows = await s.execute(
            select(User, Agent.extension).outerjoin(Agent, Agent.id == User.agent_id).order_by(User.username)
        )
        return [(u, ext) for u, ext in rows.tuples()]


async def identity_for(
    s: AsyncSession, user: User, csrf: str | None, sid: str | None, token_id: int | None = None
) -> Identity:
    ext = None
    if user.agent_id is not None:
        ext = (await s.execute(select(Agent.extension).where(Agent.id == user.agent_id))).scalar_one_or_none()
    return Identity(user.id, user.username, Role(user.role), user.agent_id, ext, csrf, sid, token_id)


async def authenticate(sessions: Sessions, username: str, password: str) -> User | None:
    """The user for these credentials, or None (same answer, and the same single scrypt run off the event
    loop, for an unknown name, a wrong password and a disabled user)."""
    async with sessions() as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
    ok = await verify_async(password, user.password_hash if user is not None else None)
    if user is None or not ok or not user.active:
        return None
    return user


async def login_failed(sessions: Sessions, username: str, address: str) -> None:
    """Audit a failed login (the name as typed, cut short: it may be anything)."""
    async with sessions() as s:
        await audit(s, username[:100] or "-", "user.login_failed", username[:100], address=address)
        await s.commit()


async def open_session(sessions: Sessions, user: User) -> tuple[str, WebSession]:
    """Start a browser session; returns the cookie value (shown once) and the stored row."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id=_digest(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_TTL,
        last_seen_at=now,
    )
    async with sessions() as s:
        s.add(row)
        # expired sessions are swept here, the only place sessions are created
        await s.execute(delete(WebSession).where(WebSession.expires_at < now))
        await audit(s, user.username, "user.login", user.username)
        await s.commit()
    return cookie, row


async def resolve_session(sessions: Sessions, cookie: str, now: datetime | None = None) -> Identity | None:
    now = now or utcnow()
    async with sessions() as s:
        row = await s.get(WebSession, _digest(cookie))
        if row is None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
            return None
        user = await s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if now - row.last_seen_at > timedelta(minutes=1):  # not a write on every request
            row.last_seen_at = now
            await s.commit()
        return await identity_for(s, user, row.csrf_token, row.id)


async def close_session(sessions: Sessions, session_id: str) -> None:
    async with sessions() as s:
        await s.execute(delete(WebSession).where(WebSession.id == session_id))
        await s.commit()


async def create_token(
    sessions: Sessions, username: str, *, actor: str, name: str = "", days: int | None = None
) -> str:
    """A bearer token for scripts (shown once). ``days`` None: valid until revoked."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with sessions() as s:
        user = await get_user(s, username)
        expires = utcnow() + timedelta(days=days) if days else None
        s.add(ApiToken(token_hash=_digest(token), user_id=user.id, name=name[:100], expires_at=expires))
        await audit(s, actor, "token.create", username, name=name, days=days)
        await s.commit()
    return token


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


async def list_tokens(sessions: Sessions, username: str | None = None) -> list[TokenInfo]:
    """Tokens (never their values, which are not stored), newest first; of one user or of all."""
    async with sessions() as s:
        q = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if username is not None:
            q = q.where(User.id == (await get_user(s, username)).id)
        rows = await s.execute(q.order_by(ApiToken.id.desc()))
        return [
            TokenInfo(t.id, u, t.name, t.created_at, t.expires_at, t.last_used_at) for t, u in rows.tuples()
        ]


async def revoke_token(sessions: Sessions, token_id: int, *, actor: str) -> TokenInfo:
    """Revoke one token by its id (as ``list_tokens`` shows it)."""
    async with sessions() as s:
        found = (
            await s.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.id == token_id)
            )
        ).first()
        if found is None:
            raise NotFound(f"no token with id {token_id}", field="id")
        t, username = found
        info = TokenInfo(t.id, username, t.name, t.created_at, t.expires_at, t.last_used_at)
        await s.execute(delete(ApiToken).where(ApiToken.id == token_id))
        await audit(s, actor, "token.revoke", username, id=token_id, name=t.name)
        await s.commit()
        return info


async def revoke_tokens(sessions: Sessions, username: str, *, actor: str) -> int:
    async with sessions() as s:
        user = await get_user(s, username)
        n = len((await s.execute(select(ApiToken.id).where(ApiToken.user_id == user.id))).all())
        await s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        await audit(s, actor, "token.revoke", username, count=n)
        await s.commit()
        return n


async def resolve_token(sessions: Sessions, token: str, now: datetime | None = None) -> Identity | None:
    now = now or utcnow()
    async with sessions() as s:
        row = (
            await s.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
        ).scalar_one_or_none()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        user = await s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now
            await s.commit()
        return await identity_for(s, user, None, None, row.id)


async def still_valid(
    sessions: Sessions, session_ids: set[str], token_ids: set[int], now: datetime | None = None
) -> tuple[set[str], set[int]]:
    """Which of these sessions and tokens still let their user in (the same rules as resolve_session and
    resolve_token), in one query each: what open event streams are re-checked with."""
    now = now or utcnow()
    good_sessions: set[str] = set()
    good_tokens: set[int] = set()
    async with sessions() as s:
        if session_ids:
            rows = await s.execute(
                select(WebSession.id, WebSession.last_seen_at)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.id.in_(session_ids), WebSession.expires_at > now, User.active.is_(True))
            )
            good_sessions = {sid for sid, seen in rows.tuples() if seen + SESSION_IDLE > now}
        if token_ids:
            rows2 = await s.execute(
                select(ApiToken.id)
                .join(User, User.id == ApiToken.user_id)
                .where(
                    ApiToken.id.in_(token_ids),
                    User.active.is_(True),
                    (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
                )
            )
            good_tokens = set(rows2.scalars())
    return good_sessions, good_tokens
