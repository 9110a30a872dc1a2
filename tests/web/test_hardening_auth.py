"""Issue 11, logins and requests: scrypt never runs on the event loop and costs the same for unknown names,
failed logins are throttled (429 + Retry-After), logged and audited, anonymous bodies are capped, deep
JSON is a 400, password rules, tokens end with a password change, /metrics is loopback-only, 405s name the
allowed methods, and the session cookie can be marked Secure."""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

import pytest
from sqlalchemy import select

from dialer.db.models import AuditLog
from dialer.web import users
from dialer.web.session import THROTTLE
from tests.web.conftest import ADMIN_PW, Web


async def _login(web: Web, username: str, password: str, **kw: Any) -> Any:
    return await web.client.post("/api/v1/session", json={"username": username, "password": password}, **kw)


@pytest.fixture
def scrypt_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every real scrypt run (the real function still runs)."""
    runs: list[int] = []
    real = hashlib.scrypt

    def spy(*a: Any, **kw: Any) -> bytes:
        runs.append(threading.get_ident())
        return real(*a, **kw)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    return runs


async def test_a_login_costs_one_scrypt_run_off_the_event_loop_for_known_and_unknown_names(
    web: Web, scrypt_runs: list[int]
) -> None:
    loop_thread = threading.get_ident()
    assert (await _login(web, "nobody-at-all", "whatever-pw")).status == 401
    unknown = list(scrypt_runs)
    scrypt_runs.clear()
    assert (await _login(web, "boss", "wrong-password")).status == 401
    known = list(scrypt_runs)
    scrypt_runs.clear()
    assert (await _login(web, "boss", ADMIN_PW)).status == 200
    right = list(scrypt_runs)
    # the same work whoever is named, and never on the loop's thread
    assert len(unknown) == len(known) == len(right) == 1
    assert loop_thread not in unknown + known + right


async def test_failed_logins_per_user_name_are_throttled_with_retry_after(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dialer.web.session")
    limit = web.service.settings.http.login_failures_per_user
    for _ in range(limit):
        assert (await _login(web, "boss", "wrong-password")).status == 401
    r = await _login(web, "boss", ADMIN_PW)  # even the right password waits now
    assert r.status == 429 and 1 <= int(r.headers["Retry-After"]) <= 300
    assert (await r.json())["error"].startswith("too many failed logins")
    # another user from the same address is not locked out by boss's failures
    r = await _login(web, "anna", "wrong-password")
    assert r.status == 401
    # each failure is in the log and in the audit log, with the address
    lines = [rec.getMessage() for rec in caplog.records if "failed login" in rec.getMessage()]
    assert len(lines) == limit + 1 and "'boss'" in lines[0] and "127.0.0.1" in lines[0]
    async with web.service.sessions() as s:
        rows = (
            (await s.execute(select(AuditLog).where(AuditLog.action == "user.login_failed"))).scalars().all()
        )
    assert [r.target for r in rows] == ["boss"] * limit + ["anna"]
    assert rows[0].details["address"] == "127.0.0.1"


async def test_failed_logins_per_address_are_throttled_and_forwarded_for_is_not_believed(
    web: Web, scrypt_runs: list[int]
) -> None:
    throttle = web.service.app[THROTTLE]
    throttle.addresses.limit = 3
    for i in range(3):
        assert (await _login(web, f"guess{i}", "whatever-pw")).status == 401
    runs = len(scrypt_runs)
    # a new name, and a made-up X-Forwarded-For (no trusted proxy configured): still this address
    r = await _login(web, "guess9", "whatever-pw", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    assert len(scrypt_runs) == runs  # a throttled login costs no scrypt run


async def test_a_successful_login_clears_that_users_failures(web: Web) -> None:
    limit = web.service.settings.http.login_failures_per_user
    for _ in range(limit - 1):
        assert (await _login(web, "boss", "wrong-password")).status == 401
    assert (await _login(web, "boss", ADMIN_PW)).status == 200
    for _ in range(limit - 1):
        assert (await _login(web, "boss", "wrong-password")).status == 401
    assert (await _login(web, "boss", ADMIN_PW)).status == 200


async def test_anonymous_bodies_are_capped_before_they_are_read(web: Web) -> None:
    big = b'{"username": "boss", "password": "' + b"x" * 100_000 + b'"}'
    r = await web.client.post("/api/v1/session", data=big, headers={"Content-Type": "application/json"})
    assert r.status == 413 and (await r.json())["field"] == "body"

    async def chunks() -> Any:  # no Content-Length: refused once the cap is passed
        yield b'{"username": "boss", "password": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = await web.client.post("/api/v1/session", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status == 413
    # a logged-in caller may send more than a stranger
    r = await web.admin("POST", "/campaigns", json={"name": "c1", "description": "d" * 5000})
    assert r.status in (201, 422), await r.text()
    assert r.status != 413


async def test_deeply_nested_json_is_a_400_not_a_500(web: Web) -> None:
    for depth in (50, 5000, 100_000):
        body = b"[" * depth + b"]" * depth
        r = await web.admin("POST", "/campaigns", data=body, headers={"Content-Type": "application/json"})
        assert r.status == 400, (depth, r.status)
        assert "nests deeper" in (await r.json())["error"]
    nested = {"name": "c2", "x": {"a": [{"b": "[[[["}]}}  # brackets inside strings do not count
    r = await web.admin("POST", "/campaigns", json=nested)
    assert r.status == 422  # unknown field x: a validation error, not a nesting error


async def test_password_rules(web: Web) -> None:
    ss = web.service.sessions
    from dialer.errors import ServiceError
    from dialer.web.models import Role

    for bad, why in [
        ("        ", "only spaces"),
        ("password1", "commonest"),
        ("12345678", "commonest"),
        ("aaaaaaaaaa", "commonest"),
        ("short", "at least 8"),
        ("vasya-pupkin", "differ from the user name"),
    ]:
        with pytest.raises(ServiceError, match=why):
            await users.create_user(ss, "vasya-pupkin", bad, Role.ADMIN, actor="test")
    await users.create_user(ss, "vasya-pupkin", "Tverskaya 13, room 5", Role.ADMIN, actor="test")


async def test_a_password_change_revokes_tokens_and_tokens_can_be_listed_and_revoked_one_by_one(
    web: Web,
) -> None:
    ss = web.service.sessions
    second = await users.create_token(ss, "boss", actor="test", name="backup script")
    tokens = await users.list_tokens(ss, "boss")
    assert [t.name for t in tokens] == ["backup script", ""]
    assert (await web.call(second, "GET", "/campaigns")).status == 200
    # API: an admin lists tokens (never their values) and revokes one
    r = await web.admin("GET", "/tokens")
    listed = (await r.json())["items"]
    assert {t["username"] for t in listed} == {"boss", "anna", "boris"}
    assert all("token" not in t and "token_hash" not in t for t in listed)
    r = await web.admin("DELETE", f"/tokens/{tokens[0].id}")
    assert r.status == 200
    assert (await web.call(second, "GET", "/campaigns")).status == 401
    assert (await web.admin("GET", "/campaigns")).status == 200  # the other one still works
    assert (await web.admin("DELETE", "/tokens/999999")).status == 404
    # a new password ends the old tokens
    n = await users.set_password(ss, "boss", "a brand new pass 7", actor="test")
    assert n == 1
    assert (await web.admin("GET", "/campaigns")).status == 401


async def test_a_disabled_user_can_not_log_in_or_use_tokens(web: Web) -> None:
    ss = web.service.sessions
    assert (await _login(web, "anna", "anna-password-1")).status == 200
    assert (await web.client.get("/api/v1/me")).status == 200
    await users.set_active(ss, "anna", False, actor="test")
    assert (await web.client.get("/api/v1/me")).status == 401  # the session ended
    assert (await web.agent("GET", "/me")).status == 401  # the token stopped working
    assert (await _login(web, "anna", "anna-password-1")).status == 401
    await users.set_active(ss, "anna", True, actor="test")
    assert (await web.agent("GET", "/me")).status == 200


async def test_metrics_are_for_loopback_or_a_token(web: Web) -> None:
    assert (await web.client.get("/metrics")).status == 200  # the test client is on loopback
    web.service.settings.http.metrics_allow = ["192.0.2.0/24"]
    assert (await web.client.get("/metrics")).status == 403
    from pydantic import SecretStr

    web.service.settings.http.metrics_token = SecretStr("prom-secret-1")
    assert (await web.client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
    r = await web.client.get("/metrics", headers={"Authorization": "Bearer prom-secret-1"})
    assert r.status == 200 and "dialer_" in await r.text()


async def test_a_405_names_the_allowed_methods(web: Web) -> None:
    r = await web.client.request("TRACE", "/api/v1/campaigns")
    assert r.status == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert (await r.json())["error"]


async def test_the_session_cookie_is_secure_when_configured_or_behind_a_trusted_tls_proxy(web: Web) -> None:
    r = await _login(web, "boss", ADMIN_PW)
    assert "Secure" not in r.headers["Set-Cookie"]
    # X-Forwarded-Proto from anyone is not believed...
    r = await _login(web, "boss", ADMIN_PW, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in r.headers["Set-Cookie"]
    # ...from a configured proxy it is
    web.service.settings.http.trusted_proxies = ["127.0.0.1"]
    r = await _login(web, "boss", ADMIN_PW, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["Set-Cookie"]
    web.service.settings.http.trusted_proxies = []
    web.service.settings.http.secure_cookies = True
    r = await _login(web, "boss", ADMIN_PW)
    assert "Secure" in r.headers["Set-Cookie"]


async def test_cli_lists_and_revokes_tokens_and_disables_users(db_url: str) -> None:
    from tests.web.test_auth import _dialer

    assert _dialer(db_url, "user", "create-admin", "root", stdin="very-secret-pw\n").returncode == 0
    first = _dialer(db_url, "token", "create", "root", "--name", "ci").stdout.strip()
    _dialer(db_url, "token", "create", "root", "--name", "backup")
    r = _dialer(db_url, "token", "list")
    assert r.returncode == 0, r.stderr
    lines = [ln.split("\t") for ln in r.stdout.splitlines()]
    assert [(ln[1], ln[2], ln[3]) for ln in lines] == [
        ("root", "backup", "never used"),
        ("root", "ci", "never used"),
    ]
    assert first not in r.stdout
    r = _dialer(db_url, "token", "revoke", "--id", lines[0][0])
    assert r.returncode == 0 and "backup" in r.stdout
    assert [ln.split("\t")[2] for ln in _dialer(db_url, "token", "list", "root").stdout.splitlines()] == [
        "ci"
    ]
    r = _dialer(db_url, "token", "revoke", "--id", "424242")
    assert r.returncode == 1 and r.stderr.strip() == "dialer: no token with id 424242"
    r = _dialer(db_url, "user", "disable", "root")
    assert r.returncode == 0
    assert "root\tadmin\t-\tdisabled" in _dialer(db_url, "user", "list").stdout
