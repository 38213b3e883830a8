#!/usr/bin/env bash
# The notification benchmark, one command:  bench/notify.sh [duration] [connections]
#
# Starts release zcrm (SQLite, or PostgreSQL with BENCH_BACKENDS="pg"), seeds
# 10,000 Leads, then runs single-record updates (PUT /crm/v8/Leads/{id}) with
# wrk twice: with no channel, then with one channel watching Leads.edit whose
# notify_url is a local receiver (crates/zcrm-cli/examples/webhook_sink.rs).
# The receiver measures deliveries/s and the latency from each change's
# commit (`server_time`) to its receipt. zcrm on core 0; wrk and the receiver
# on core 1. Prints a Markdown table; BENCHMARKS.md keeps a recorded run.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
CONNS=${2:-16}
BACKENDS=${BENCH_BACKENDS:-"sqlite pg"}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p zcrm-cli --bin zcrm --example webhook_sink
BIN=$PWD/target/release/zcrm
SINK=$PWD/target/release/examples/webhook_sink
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
PIDS=()
DBS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "${DBS[@]}"; do psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# → "req/s p50_ms p99_ms non2xx"
measure() { # lua port
  local out; out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DUR" --latency -s "$1" "http://127.0.0.1:$2/")
  echo "$out" >&2
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }'
}

run_setup() { # sqlite | pg
  local name=$1 dir url="" extra=()
  dir=$(mktemp -d)
  local port=$((20000 + RANDOM % 10000)) sink_port=$((30000 + RANDOM % 10000))
  if [ "$name" = pg ]; then
    local db="zcrm_bench_$$_notify"
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
    DBS+=("$db"); url="${PG_ADMIN%/*}/$db"; extra=(--database-url "$url")
  fi
  taskset -c 0 "$BIN" serve --listen 127.0.0.1:"$port" --data-dir "$dir" "${extra[@]}" > "$dir/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/__zcrm/health" >/dev/null && break; sleep 0.1; done
  local creds cid sec code
  creds=$("$BIN" admin self-client --data-dir "$dir" "${extra[@]}" --scope ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL --json)
  cid=$(echo "$creds" | field client_id); sec=$(echo "$creds" | field client_secret); code=$(echo "$creds" | field code)
  export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$port/oauth/v2/token" \
    -d grant_type=authorization_code -d client_id="$cid" -d client_secret="$sec" -d code="$code" | field access_token)
  export ZCRM_BENCH_IDS="$dir/ids.txt"
  python3 bench/seed.py 127.0.0.1 "$port" "$ZCRM_BENCH_TOKEN" 10000 "$ZCRM_BENCH_IDS" >&2
  # API limits (51,000 credits a day by default) would refuse most of the load; their
  # own cost is measured by bench/limits.sh.
  "$BIN" admin org set --data-dir "$dir" "${extra[@]}" --limits off >/dev/null; sleep 1.5
  local A B S
  read -r -a A < <(measure bench/put.lua "$port")
  taskset -c 1 "$SINK" 127.0.0.1:"$sink_port" > "$dir/sink.txt" &
  local sink=$!
  sleep 0.3
  curl -sf -X POST "http://127.0.0.1:$port/crm/v8/actions/watch" -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" \
    -d "{\"watch\":[{\"channel_id\":\"1\",\"events\":[\"Leads.edit\"],\"channel_expiry\":\"$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%S+00:00)\",\"notify_url\":\"http://127.0.0.1:$sink_port/hook\",\"token\":\"bench\"}]}" >/dev/null
  read -r -a B < <(measure bench/put.lua "$port")
  # Let the outbox drain (bounded), then stop the receiver for its figures.
  for _ in $(seq 300); do
    local pending
    pending=$(curl -s -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" "http://127.0.0.1:$port/__zcrm/deliveries?limit=1" | python3 -c "import json,sys; print(json.load(sys.stdin).get('pending_events', 0))")
    [ "$pending" = 0 ] && break
    sleep 0.1
  done
  kill -INT "$sink"; wait "$sink" || true
  read -r -a S < "$dir/sink.txt"
  local label; [ "$name" = pg ] && label="PostgreSQL 15" || label="SQLite"
  echo
  echo "### $label"
  echo
  echo "| run | updates/s | p50 ms | p99 ms | non-2xx | deliveries | deliveries/s | commit→receipt p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  echo "| PUT /crm/v8/Leads/{id}, no channel (baseline) | ${A[0]} | ${A[1]} | ${A[2]} | ${A[3]} | – | – | – | – | – |"
  echo "| same, one channel on Leads.edit | ${B[0]} | ${B[1]} | ${B[2]} | ${B[3]} | ${S[0]} | ${S[1]} | ${S[2]} | ${S[3]} | ${S[4]} |"
  echo
  echo "Update throughput with the channel: $(python3 -c "print(f'{${B[0]}/${A[0]}:.2f}')") × without."
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}

echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t1 -c${CONNS} -d${DUR}, zcrm on core 0, wrk and the receiver on core 1."
for b in $BACKENDS; do run_setup "$b"; done
