"""Shared fixtures. Tests that need Asterisk or PostgreSQL start them or fail loudly; nothing is skipped.

- ``sandbox``: the real Asterisk 22 sandbox (PBX, simulated carrier, agent softphones), once per session.
- ``db_url``: a fresh, migrated database per test, on every backend under test: SQLite always, and
  PostgreSQL at DIALER_TEST_PG_URL (scripts/test.sh starts it). Set DIALER_TEST_BACKENDS=sqlite to run
  SQLite only on a machine without PostgreSQL; CI never does.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dialer.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]

BACKENDS = os.environ.get("DIALER_TEST_BACKENDS", "sqlite,postgresql").split(",")
DROP_DEADLINE = 15.0  # seconds to retry dropping a test database that another backend just entered


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that sets the service's logging up (``dialer.logs.setup_logging``) binds the root logger to
    the stream pytest captured for that test; left in place, every later log line fails on the closed
    stream ("--- Logging error ---"). Each test gets the root logger back as it found it."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return load_settings(REPO / "config.yaml", data_dir=data)


@pytest.fixture(scope="session")
def sandbox(base_settings: Settings) -> Iterator[object]:
    from dialer.sandbox import Sandbox

    if os.geteuid() != 0:
        pytest.fail("the Asterisk sandbox needs root (chroot, mount); run the suite as root")
    from dialer.sandbox.lock import exclusive

    # One Asterisk sandbox per machine (fixed ports): concurrent test sessions take turns.
    with exclusive(base_settings.sandbox.root):
        sb = Sandbox(base_settings)
        sb.up()
        try:
            yield sb
        finally:
            sb.down()


def _pg_admin_url() -> str:
    url = os.environ.get("DIALER_TEST_PG_URL")
    if not url:
        pytest.fail(
            "PostgreSQL tests need DIALER_TEST_PG_URL (scripts/test.sh starts PostgreSQL and sets it); "
            "set DIALER_TEST_BACKENDS=sqlite to run SQLite only"
        )
    return url


def fresh_database(backend: str, tmp_path: Path) -> tuple[str, object]:
    """Create an empty database; returns its URL and a cleanup callable."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", lambda: None
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(_pg_admin_url())
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _sync(sql: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(run(sql))
            return
        import threading

        err: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(run(sql))
            except BaseException as e:
                err.append(e)

        t = threading.Thread(target=target)
        t.start()
        t.join()
        if err:
            raise err[0]

    def drop() -> None:
        # WITH (FORCE) ends the backends still on the database, an autovacuum worker's included (the role
        # has pg_signal_backend: scripts/postgres.sh). One that starts in the instant between ending them
        # and dropping makes the drop fail with "being accessed by other users": try again, with a deadline.
        deadline = time.monotonic() + DROP_DEADLINE
        while True:
            try:
                _sync(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.ObjectInUseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            except asyncpg.InsufficientPrivilegeError as e:
                raise RuntimeError(f"{e}: run scripts/postgres.sh (it grants pg_signal_backend)") from e

    _sync(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    return url, drop


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, cleanup = fresh_database(request.param, tmp_path)
    try:
        yield url
    finally:
        cleanup()  # type: ignore[operator]


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    from dialer.db import migrate

    migrate.upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
async def db_sessions(db_url: str) -> AsyncIterator[object]:
    from dialer.db.engine import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
