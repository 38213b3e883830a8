#!/usr/bin/env bash
# The foundation benchmark, one command: bench/run.sh [duration] [connections]
# Starts a release zcrm on a fresh data dir, seeds 100,000 Leads through the API,
# then measures with wrk: GET /__zcrm/health (the baseline), GET /crm/v8/Leads/{id},
# POST /crm/v8/Leads with 100 records. Server pinned to core 0, wrk to core 1.
# Prints a Markdown table; BENCHMARKS.md keeps a recorded run.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
CONNS=${2:-16}
SEED=${ZCRM_BENCH_SEED:-100000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 10000))
BIN=target/release/zcrm
taskset -c 0 "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/__zcrm/health" >/dev/null && break; sleep 0.1; done
CREDS=$("$BIN" admin self-client --data-dir "$DIR" --scope ZohoCRM.modules.ALL --json)
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
CID=$(echo "$CREDS" | field client_id); SEC=$(echo "$CREDS" | field client_secret); CODE=$(echo "$CREDS" | field code)
export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/oauth/v2/token" \
  -d grant_type=authorization_code -d client_id="$CID" -d client_secret="$SEC" -d code="$CODE" | field access_token)
export ZCRM_BENCH_IDS="$DIR/ids.txt"
python3 bench/seed.py 127.0.0.1 $PORT "$ZCRM_BENCH_TOKEN" "$SEED" "$ZCRM_BENCH_IDS" >&2

# wrk output → "req/s p50_ms p99_ms non2xx"
measure() {
  local out
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DUR" --latency "$@" "http://127.0.0.1:$PORT${URLPATH}")
  echo "$out" >&2
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }'
}
URLPATH=/__zcrm/health; read -r H_RPS H_P50 H_P99 H_BAD < <(measure)
URLPATH=/; read -r G_RPS G_P50 G_P99 G_BAD < <(measure -s bench/get.lua)
URLPATH=/; read -r P_RPS P_P50 P_P99 P_BAD < <(measure -s bench/post.lua)
STORED=$(curl -s -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" "http://127.0.0.1:$PORT/crm/v8/Leads?fields=Last_Name&per_page=1" >/dev/null; echo ok)
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<TABLE
Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), ${SEED} Leads stored, wrk -t1 -c${CONNS} -d${DUR}, server on core 0, wrk on core 1, SQLite (synchronous=FULL).

| endpoint | req/s | records/s | p50 ms | p99 ms | non-2xx | ratio to health |
|---|---|---|---|---|---|---|
| GET /__zcrm/health (baseline) | ${H_RPS} | – | ${H_P50} | ${H_P99} | ${H_BAD} | 1.00 |
| GET /crm/v8/Leads/{id} | ${G_RPS} | – | ${G_P50} | ${G_P99} | ${G_BAD} | $(ratio "$G_RPS" "$H_RPS") |
| POST /crm/v8/Leads, 100 records | ${P_RPS} | $((P_RPS * 100)) | ${P_P50} | ${P_P99} | ${P_BAD} | $(ratio "$P_RPS" "$H_RPS") |
TABLE
