#!/usr/bin/env bash
# The whole test suite: lint, types, then every test on SQLite and PostgreSQL against the real Asterisk
# sandbox (started by the tests). Installs what is missing first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy dialer
echo "== import layers" && .venv/bin/lint-imports
echo "== postgresql"
DIALER_TEST_PG_URL=$(scripts/postgres.sh)
export DIALER_TEST_PG_URL
echo "== pytest"
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
