#!/usr/bin/env bash
# Runs the whole test suite against SQLite and PostgreSQL.
#
# Every database test runs once per backend: SQLite in a temporary file, PostgreSQL in a database
# of its own created (and dropped) under the server named by SIP2AUTH_TEST_PG_URL. This script
# makes sure that server is up and that the test database exists, then runs cargo-nextest (or
# cargo test when nextest is not installed). Extra arguments go to the test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
PG_USER=${PGUSER:-postgres}
TEST_DB=sip2auth_test

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

if [ -z "${SIP2AUTH_TEST_PG_URL:-}" ]; then
  if ! pg_ready; then
    echo "PostgreSQL is down on $PG_HOST:$PG_PORT; starting it" >&2
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      pg_ctlcluster --skip-systemctl-redirect "$version" main start
    else
      echo "no pg_ctlcluster here: start PostgreSQL or set SIP2AUTH_TEST_PG_URL" >&2
      exit 1
    fi
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || { echo "PostgreSQL did not come up within 30 s" >&2; exit 1; }
  fi
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$TEST_DB'" | grep -q 1; then
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $TEST_DB"
  fi
  export SIP2AUTH_TEST_PG_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$TEST_DB"
fi
echo "PostgreSQL tests use $SIP2AUTH_TEST_PG_URL" >&2

# The external TLS peers (openssl, Python's ssl module, the PyPI Sip2 client in a venv).
export SIP2AUTH_PEERS_PYTHON
SIP2AUTH_PEERS_PYTHON=$(bash scripts/python-peers.sh)
# The browser tests: chromium and chromium-driver (apt) and axe-core (npm), installed when
# missing; the script exports SIP2AUTH_CHROMEDRIVER and SIP2AUTH_AXE_JS.
# shellcheck source=scripts/browser-deps.sh
source scripts/browser-deps.sh

# The API contract test: schemathesis (PyPI) in a virtual environment, installed when missing;
# the script exports SIP2AUTH_SCHEMATHESIS.
# shellcheck source=scripts/contract-deps.sh
source scripts/contract-deps.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
else
  cargo test --all-targets --no-fail-fast "$@"
fi
