#!/usr/bin/env bash
# Record actions benchmark (issue 6), one command:  bench/actions.sh
# Upsert of 100 Leads (50 matching existing ones, 50 new) against plain create of 100, and a
# mass update job over 50,000 Leads against bulk PUT (100 per call), both in the same run.
# zcrm on core 0, the Python client on core 1. BENCH_BACKENDS="sqlite pg" (default both);
# BENCH_PG_URL names the PostgreSQL to create a database on. BENCH_ROUNDS (default 30),
# BENCH_MASS (default 50000) and BENCH_PUT (default 5000) size the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-30}
MASS=${BENCH_MASS:-50000}
PUT=${BENCH_PUT:-5000}
BACKENDS=${BENCH_BACKENDS:-"sqlite pg"}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q
BIN=$PWD/target/release/zcrm
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
SERVER=""
DB=""
cleanup() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  [ -n "$DB" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ROUNDS×100 upserts, mass update over $MASS Leads, baseline PUT of $PUT"
for backend in $BACKENDS; do
  DIR=$(mktemp -d)
  PORT=$((20000 + RANDOM % 10000))
  url_args=()
  if [ "$backend" = pg ]; then
    DB="zcrm_bench_actions_$$"
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    url_args=(--database-url "${PG_ADMIN%/*}/$DB")
  fi
  taskset -c 0 "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" "${url_args[@]}" > "$DIR/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/__zcrm/health" >/dev/null && break; sleep 0.1; done
  # Seeding writes straight to the store; the server reads the new rows as any other.
  ZCRM_DATABASE_URL="${url_args[1]:-}" "$BIN" admin seed --data-dir "$DIR" --leads "$MASS" --accounts 10 --contacts 10 >&2
  CREDS=$(ZCRM_DATABASE_URL="${url_args[1]:-}" "$BIN" admin self-client --data-dir "$DIR" \
    --scope ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.mass_update.ALL --json)
  CID=$(echo "$CREDS" | field client_id); SEC=$(echo "$CREDS" | field client_secret); CODE=$(echo "$CREDS" | field code)
  TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/oauth/v2/token" \
    -d grant_type=authorization_code -d client_id="$CID" -d client_secret="$SEC" -d code="$CODE" | field access_token)
  echo "## $backend"
  taskset -c 1 python3 bench/actions.py 127.0.0.1 "$PORT" "$TOKEN" "$ROUNDS" "$MASS" "$PUT"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  rm -rf "$DIR"
  if [ -n "$DB" ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; DB=""; fi
done
