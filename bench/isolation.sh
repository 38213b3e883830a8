#!/usr/bin/env bash
# Heavy reads must not stall light calls, one command:  bench/isolation.sh [duration]
# Seeds 1,000,000 Leads on SQLite, then measures GET /__zcrm/health (one
# connection) alone, and again while 8 clients run COQL
# `COUNT(id) … GROUP BY Lead_Status` over all of them. SQLite reads run on
# blocking threads (at most --sqlite-readers at once), never on the async
# workers, so health's p99 should barely move. zcrm on both cores (the point
# is sharing them), the two wrk processes on core 1.
#   ZCRM_BENCH_BIN=path   a zcrm binary to measure instead of building this checkout
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10s}
LEADS=${BENCH_LEADS:-1000000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${ZCRM_BENCH_BIN:-}" ]; then cargo build --release -q; fi
BIN=${ZCRM_BENCH_BIN:-$PWD/target/release/zcrm}
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 10000))
"$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/__zcrm/health" >/dev/null && break; sleep 0.1; done
"$BIN" admin seed --data-dir "$DIR" --leads "$LEADS" --accounts 0 --contacts 0 >&2
"$BIN" admin org set --data-dir "$DIR" --limits off >/dev/null
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
CREDS=$("$BIN" admin self-client --data-dir "$DIR" --scope ZohoCRM.modules.ALL,ZohoCRM.coql.READ --json)
CID=$(echo "$CREDS" | field client_id); SEC=$(echo "$CREDS" | field client_secret); CODE=$(echo "$CREDS" | field code)
export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/oauth/v2/token" \
  -d grant_type=authorization_code -d client_id="$CID" -d client_secret="$SEC" -d code="$CODE" | field access_token)
sleep 1.5  # the org's limits setting reaches the server

latency() { # wrk output on stdin → "req/s p50 p99" (ms)
  awk 'function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}
health() { taskset -c 1 wrk -t1 -c1 -d"$DUR" --latency "http://127.0.0.1:$PORT/__zcrm/health" | tee -a /dev/stderr | latency; }

export ZCRM_BENCH_METHOD=POST ZCRM_BENCH_PATH=/crm/v8/coql
export ZCRM_BENCH_BODY='{"select_query":"select Lead_Status, COUNT(id) from Leads group by Lead_Status"}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" \
  -H 'Content-Type: application/json' --data "$ZCRM_BENCH_BODY" "http://127.0.0.1:$PORT/crm/v8/coql")
[ "$code" = 200 ] || { echo "GROUP BY answered $code" >&2; exit 1; }

read -r H0 H0p50 H0p99 < <(health)
GB=$(mktemp)
taskset -c 1 wrk -t1 -c8 -d"$DUR" --latency -s bench/req.lua "http://127.0.0.1:$PORT" > "$GB" &
LOAD=$!
sleep 1  # the eight GROUP BYs are running
read -r H1 H1p50 H1p99 < <(health)
wait $LOAD
cat "$GB" >&2
read -r G Gp50 Gp99 < <(latency < "$GB")
RSS=$(awk '/VmRSS|RssAnon|RssFile/ { printf "%s %d MB; ", $1, $2 / 1024 }' "/proc/$SERVER/status")

echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $LEADS Leads, SQLite, wrk -d$DUR (both wrk on core 1, zcrm unpinned)."
echo
echo "| measurement | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
echo "| GET /__zcrm/health alone, 1 connection | $H0 | $H0p50 | $H0p99 |"
echo "| GET /__zcrm/health while 8 clients run the GROUP BY | $H1 | $H1p50 | $H1p99 |"
echo "| COQL COUNT(id) GROUP BY Lead_Status, 8 connections | $G | $Gp50 | $Gp99 |"
echo
echo "Server memory after the run: ${RSS}(file pages are the database's memory map, shared with the OS page cache)."
