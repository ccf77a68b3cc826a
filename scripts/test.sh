#!/usr/bin/env bash
# Sets up whatever is missing, then runs the whole test suite: unit and integration tests
# on a real SQLite file and a throwaway PostgreSQL cluster, then the Playwright tests in
# headless Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$root/.tools/node_modules/.bin:$PATH"

work=$(mktemp -d /tmp/amso-test.XXXXXX)
chmod 755 "$work"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_data="$work/pg"
cleanup() {
  if [ -f "$pg_data/postmaster.pid" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- a throwaway PostgreSQL cluster on a free port --------------------------------------
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$pg_data" && chown postgres "$pg_data"
printf '\n==> starting a throwaway PostgreSQL on port %s\n' "$pg_port"
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U amso --auth=trust -E UTF8 >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -w -l "$pg_data/server.log" \
  -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export AMSO_TEST_POSTGRES_URL="postgres://amso@127.0.0.1:$pg_port/postgres"
export AMSO_TEST_REQUIRE_POSTGRES=1
# The database-restart test starts (and restarts) a cluster of its own with these binaries.
export AMSO_TEST_PG_BIN="$pg_bin"
export ORT_DYLIB_PATH="$root/.tools/onnxruntime/libonnxruntime.so"
export AMSO_TEST_PYTHON="$root/.tools/venv/bin/python"

# --- Rust unit and integration tests ----------------------------------------------------
printf '\n==> cargo test (SQLite and PostgreSQL)\n'
cargo test --workspace --all-targets

# --- browser tests -------------------------------------------------------------------
run_e2e() {
  local label=$1 url=$2
  printf '\n==> Playwright in Chromium against the real server (%s)\n' "$label"
  DATABASE_URL="$url" AMSO_DEMO=1 LEPTOS_SITE_ADDR="127.0.0.1:3917" \
    AMSO_E2E_BASE_URL="http://127.0.0.1:3917" cargo leptos end-to-end
}
run_e2e SQLite "sqlite://$work/e2e.db"
runuser -u postgres -- "$pg_bin/createdb" -h "$pg_data" -p "$pg_port" -U amso amso_e2e
run_e2e PostgreSQL "postgres://amso@127.0.0.1:$pg_port/amso_e2e"
