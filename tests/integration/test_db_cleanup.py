"""Test databases on PostgreSQL are dropped even while another role's backend sits on them (as an
autovacuum worker does): a teardown that fails there fails CI for nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, _pg_admin_url, fresh_database

# an explicit DIALER_TEST_BACKENDS=sqlite opts out of PostgreSQL (never a missing one: that fails)
pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="DIALER_TEST_BACKENDS excludes postgresql"
)

OTHER_ROLE = "dialer_other_backend"
OTHER_PW = "other-backend-pw"


def _as_postgres(sql: str, port: int) -> None:
    subprocess.run(
        ["su", "postgres", "-c", f"psql -p {port} -v ON_ERROR_STOP=1 -q"],
        input=sql,
        text=True,
        check=True,
        capture_output=True,
    )


async def test_cleanup_drops_a_database_another_role_is_connected_to(tmp_path: Path) -> None:
    admin = make_url(_pg_admin_url())
    port = admin.port or 5432
    _as_postgres(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OTHER_ROLE}') THEN "
        f"CREATE ROLE {OTHER_ROLE} LOGIN PASSWORD '{OTHER_PW}'; END IF; END $$;",
        port,
    )
    url, cleanup = fresh_database("postgresql", tmp_path)
    name = make_url(url).database
    other = await asyncpg.connect(
        host=admin.host, port=port, user=OTHER_ROLE, password=OTHER_PW, database=name
    )
    try:
        assert await other.fetchval("select current_database()") == name
        cleanup()  # type: ignore[operator]
        mine = await asyncpg.connect(
            make_url(_pg_admin_url()).set(drivername="postgresql").render_as_string(False)
        )
        try:
            left = await mine.fetchval("select count(*) from pg_database where datname = $1", name)
        finally:
            await mine.close()
        assert left == 0
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError, OSError)):
            await other.fetchval("select 1")  # the other role's backend was ended
    finally:
        await other.close(timeout=2)
