#!/usr/bin/env bash
# Install (if missing) and start Debian's PostgreSQL, and make a `dialer` role and a `dialer_test` database.
# Prints the SQLAlchemy URL to use. Idempotent.
set -euo pipefail
PG_PASSWORD=${PG_PASSWORD:-dialer-test-pw}
PG_DB=${PG_DB:-dialer_test}
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$ver" main >&2
fi
read -r ver cluster port status _ < <(pg_lsclusters -h | head -1)
if [ "$status" != "online" ]; then
  pg_ctlcluster "$ver" "$cluster" start >&2
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -tAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -q" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dialer') THEN
    CREATE ROLE dialer LOGIN PASSWORD '$PG_PASSWORD' CREATEDB;
  ELSE
    ALTER ROLE dialer PASSWORD '$PG_PASSWORD' CREATEDB;
  END IF;
  -- the tests drop their databases WITH (FORCE): ending a backend of another role on them (an
  -- autovacuum worker) needs pg_signal_backend, or the drop fails with InsufficientPrivilege
  IF NOT pg_has_role('dialer', 'pg_signal_backend', 'MEMBER') THEN
    GRANT pg_signal_backend TO dialer;
  END IF;
END \$\$;
SQL
if ! su postgres -c "psql -p $port -tAc \"select 1 from pg_database where datname='$PG_DB'\"" | grep -q 1; then
  su postgres -c "createdb -p $port -O dialer $PG_DB" >&2
fi
echo "postgresql+asyncpg://dialer:${PG_PASSWORD}@127.0.0.1:${port}/${PG_DB}"
