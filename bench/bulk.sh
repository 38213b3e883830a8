#!/usr/bin/env bash
# Bulk write (25,000 rows, upload → COMPLETED) and bulk read (200,000 records,
# create → downloaded ZIP), each with the same rows through POST /crm/v8/Leads
# in batches of 100 as the baseline, in the same run. One command:  bench/bulk.sh
# SQLite by default; ZCRM_DATABASE_URL=postgres://… runs it on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p zcrm-cli
BIN=$PWD/target/release/zcrm
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 10000))
ZCRM_LOG=${ZCRM_LOG:-info} "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/__zcrm/health" >/dev/null && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
CREDS=$("$BIN" admin self-client --data-dir "$DIR" --scope ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.bulk.ALL,ZohoFiles.files.ALL --json)
CID=$(echo "$CREDS" | field "['client_id']"); SEC=$(echo "$CREDS" | field "['client_secret']"); CODE=$(echo "$CREDS" | field "['code']")
TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/oauth/v2/token" \
  -d grant_type=authorization_code -d client_id="$CID" -d client_secret="$SEC" -d code="$CODE" | field "['access_token']")
ZGID=$(curl -s -H "Authorization: Zoho-oauthtoken $TOKEN" "http://127.0.0.1:$PORT/crm/v8/org" | field "['org'][0]['zgid']")
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $([ -n "${ZCRM_DATABASE_URL:-}" ] && echo PostgreSQL || echo SQLite), client: Python http.client, one keep-alive connection, on the same machine."
echo
python3 bench/bulk.py "http://127.0.0.1:$PORT" "$TOKEN" "$ZGID"
[ -z "${BENCH_LOG:-}" ] || grep -a 'bulk' "$DIR/server.log" >&2
