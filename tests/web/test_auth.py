"""Logging in, sessions that expire, CSRF, bearer tokens, roles, and the user/token CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from dialer.db.models import AuditLog
from dialer.db.types import utcnow
from dialer.web.models import ApiToken, User, WebSession
from dialer.web.passwords import hash_password, verify_password
from tests.web.conftest import ADMIN_PW, AGENT_PW, REPO, Web


async def _login(web: Web, username: str, password: str) -> tuple[int, dict[str, object]]:
    r = await web.client.post("/api/v1/session", json={"username": username, "password": password})
    return r.status, await r.json()


def test_passwords_are_scrypt_hashed_and_verified() -> None:
    h = hash_password("correct horse")
    assert h.startswith("scrypt$") and "correct horse" not in h
    assert verify_password("correct horse", h)
    assert not verify_password("wrong horse", h)
    assert not verify_password("x", "garbage")
    assert hash_password("same") != hash_password("same")  # salted


async def test_login_sets_a_session_cookie_and_changes_need_the_csrf_token(web: Web) -> None:
    status, body = await _login(web, "boss", ADMIN_PW)
    assert status == 200 and body["role"] == "admin" and body["csrf_token"]
    assert "dialer_session" in {c.key for c in web.client.session.cookie_jar}
    r = await web.client.get("/api/v1/me")
    assert r.status == 200 and (await r.json())["username"] == "boss"
    # a change without the CSRF token is refused, with it accepted
    r = await web.client.post("/api/v1/campaigns", json={"name": "c1"})
    assert r.status == 403 and (await r.json())["field"] == "csrf"
    r = await web.client.post("/api/v1/campaigns", json={"name": "c1"}, headers={"X-CSRF-Token": "wrong"})
    assert r.status == 403
    r = await web.client.post(
        "/api/v1/campaigns", json={"name": "c1"}, headers={"X-CSRF-Token": str(body["csrf_token"])}
    )
    assert r.status == 201
    # log out: the session is gone
    r = await web.client.delete("/api/v1/session", headers={"X-CSRF-Token": str(body["csrf_token"])})
    assert r.status == 200
    r = await web.client.get("/api/v1/me")
    assert r.status == 401


async def test_wrong_password_unknown_user_and_non_json_login_are_refused(web: Web) -> None:
    assert (await _login(web, "boss", "nope-nope"))[0] == 401
    status, body = await _login(web, "nobody", "nope-nope")
    assert status == 401 and body["error"] == "wrong user name or password"
    r = await web.client.post("/api/v1/session", data={"username": "boss", "password": ADMIN_PW})
    assert r.status == 415  # a cross-site form can not log a browser in
    r = await web.client.post(
        "/api/v1/session", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status == 400 and (await r.json())["field"] == "body"


async def test_expired_and_idle_sessions_are_refused(web: Web) -> None:
    status, _ = await _login(web, "boss", ADMIN_PW)
    assert status == 200
    async with web.service.sessions() as s:
        await s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    r = await web.client.get("/api/v1/me")
    assert r.status == 401 and "log in" in (await r.json())["error"]
    # idle for longer than allowed
    await _login(web, "boss", ADMIN_PW)
    async with web.service.sessions() as s:
        await s.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
        await s.commit()
    assert (await web.client.get("/api/v1/me")).status == 401
    # pages send the browser back to the login page
    r = await web.client.get("/admin", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/login"


async def test_bearer_tokens_no_token_bad_token_and_expired_token(web: Web) -> None:
    assert (await web.call(None, "GET", "/campaigns")).status == 401
    assert (await web.call("dlr_not-a-token", "GET", "/campaigns")).status == 401
    r = await web.client.get("/api/v1/campaigns", headers={"Authorization": "Basic Ym9zczp4"})
    assert r.status == 401
    assert (await web.admin("GET", "/campaigns")).status == 200
    # scripts need no CSRF token
    assert (await web.admin("POST", "/campaigns", json={"name": "c1"})).status == 201
    async with web.service.sessions() as s:
        await s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert (await web.admin("GET", "/campaigns")).status == 401


async def test_an_agent_never_reaches_admin_functions(web: Web) -> None:
    admin_only = [
        ("GET", "/campaigns"),
        ("POST", "/campaigns"),
        ("GET", "/agents"),
        ("POST", "/agents/102/pause"),
        ("GET", "/applications"),
        ("POST", "/applications/import"),
        ("GET", "/attempts"),
        ("GET", "/attempts/export"),
        ("GET", "/dispositions"),
        ("GET", "/reports/summary"),
        ("GET", "/dnc"),
        ("GET", "/audit"),
        ("GET", "/dashboard"),
        ("GET", "/imports"),
    ]
    for method, path in admin_only:
        r = await web.agent(method, path, json={})
        assert r.status == 403, (method, path, r.status)
        assert "admin" in (await r.json())["error"]
    # and the admin pages send an agent to the agent page
    status, _ = await _login(web, "anna", AGENT_PW)
    assert status == 200
    r = await web.client.get("/admin", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/agent"
    assert (await web.client.get("/agent")).status == 200
    # an admin has no agent page functions
    assert (await web.admin("POST", "/me/ready")).status == 403


async def test_admin_actions_are_audited_with_who_and_when(web: Web) -> None:
    before = utcnow()
    assert (await web.admin("POST", "/campaigns", json={"name": "audited"})).status == 201
    assert (await web.admin("POST", "/campaigns/audited/start")).status == 200
    async with web.service.sessions() as s:
        rows = (
            (await s.execute(select(AuditLog).where(AuditLog.target == "audited").order_by(AuditLog.id)))
            .scalars()
            .all()
        )
    assert [(r.actor, r.action) for r in rows] == [("boss", "campaign.create"), ("boss", "campaign.start")]
    assert all(r.at >= before - timedelta(seconds=1) for r in rows)
    r = await web.admin("GET", "/audit", params={"action": "campaign.start"})
    items = (await r.json())["items"]
    assert items[0]["actor"] == "boss" and items[0]["target"] == "audited"


def _dialer(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALER_DATABASE__URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


async def test_cli_creates_admin_agent_and_token(db_url: str, tmp_path: object) -> None:
    r = _dialer(db_url, "user", "create-admin", "root", stdin="very-secret-pw\n")
    assert r.returncode == 0, r.stderr
    assert "very-secret-pw" not in r.stdout + r.stderr
    pw = tmp_path / "pw"  # type: ignore[operator]
    pw.write_text("agent-secret-1\n")
    r = _dialer(
        db_url, "user", "create-agent", "105", "olga", "--display-name", "Olga", "--password-file", str(pw)
    )
    assert r.returncode == 0, r.stderr
    r = _dialer(db_url, "user", "create-admin", "root", stdin="another-pw-1\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = _dialer(db_url, "user", "create-admin", "weak", stdin="short\n")
    assert r.returncode == 1 and "at least 8" in r.stderr
    r = _dialer(db_url, "token", "create", "root", "--name", "ci")
    assert r.returncode == 0 and r.stdout.startswith("dlr_")
    r2 = _dialer(db_url, "user", "list")
    assert "olga\tagent\t105" in r2.stdout and "root\tadmin" in r2.stdout
    r3 = _dialer(db_url, "token", "create", "ghost")
    assert r3.returncode == 1 and "no user named 'ghost'" in r3.stderr
    from dialer.db.engine import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    try:
        ss = make_sessionmaker(engine)
        from dialer.web import users

        ident = await users.resolve_token(ss, r.stdout.strip())
        assert ident is not None and ident.username == "root" and ident.role == "admin"
        async with ss() as s:
            olga = (await s.execute(select(User).where(User.username == "olga"))).scalar_one()
            assert olga.role == "agent" and olga.agent_id is not None
        assert await users.authenticate(ss, "olga", "agent-secret-1") is not None
    finally:
        await engine.dispose()
