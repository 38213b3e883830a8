#!/usr/bin/env bash
# The cost of the API-limits layer, one command:  bench/limits.sh [duration] [connections] [rounds]
#
# For each backend (SQLite; PostgreSQL, one node) starts release zcrm on a fresh data dir or
# database, seeds 20,000 Leads through the API, then measures GET /crm/v8/Leads/{id} with wrk,
# alternating limits off and on (`zcrm admin org set --limits off|on`, applied by the running
# server), `rounds` times each; the health endpoint is the same-run baseline. "On" is the full
# accounting path (concurrency slots, credits charged from a reserved block, usage counters,
# headers) with an allowance large enough that no call is refused.
# Rounds alternate which mode goes first. zcrm pinned to core 0, wrk to core 1. Prints Markdown
# tables and the median of the per-round on/off ratios.
#   BENCH_BACKENDS="sqlite pg"   which setups to run (default both)
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test   admin URL to create databases from
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5s}
CONNS=${2:-16}
ROUNDS=${3:-7}
BACKENDS=${BENCH_BACKENDS:-"sqlite pg"}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q
BIN=$PWD/target/release/zcrm
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
PID=""
DBS=()
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  for d in "${DBS[@]}"; do psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

measure() { # path-or-script port → "req/s p50_ms p99_ms non2xx"
  local args=(-t1 -c"$CONNS" -d"$DUR" --latency) url="http://127.0.0.1:$2/"
  if [[ "$1" == *.lua ]]; then args+=(-s "$1"); else url="http://127.0.0.1:$2$1"; fi
  taskset -c 1 wrk "${args[@]}" "$url" | tee -a /dev/stderr | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_setup() {
  local name=$1 dir url="" port=$((20000 + RANDOM % 10000))
  dir=$(mktemp -d)
  if [ "$name" = pg ]; then
    local db="zcrm_limits_$$"
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
    DBS+=("$db")
    url="${PG_ADMIN%/*}/$db"
  fi
  local store=(--data-dir "$dir")
  [ -n "$url" ] && store+=(--database-url "$url")
  taskset -c 0 "$BIN" serve --listen 127.0.0.1:"$port" "${store[@]}" > "$dir/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/__zcrm/health" >/dev/null && break; sleep 0.1; done
  local creds cid sec code
  creds=$("$BIN" admin self-client "${store[@]}" --scope ZohoCRM.modules.ALL --json)
  cid=$(echo "$creds" | field client_id); sec=$(echo "$creds" | field client_secret); code=$(echo "$creds" | field code)
  export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$port/oauth/v2/token" \
    -d grant_type=authorization_code -d client_id="$cid" -d client_secret="$sec" -d code="$code" | field access_token)
  export ZCRM_BENCH_IDS="$dir/ids.txt"
  python3 bench/seed.py 127.0.0.1 "$port" "$ZCRM_BENCH_TOKEN" 20000 "$ZCRM_BENCH_IDS" >&2
  # An allowance no run reaches, so "on" measures the accounting, not refusals.
  "$BIN" admin org set "${store[@]}" --credits 1000000000 >/dev/null
  local H off=() on=() offrow onrow
  read -r -a H < <(measure /__zcrm/health "$port")
  for r in $(seq "$ROUNDS"); do
    # Alternate which goes first, so drift in the machine's load hits both alike.
    local order="off on"
    [ $((r % 2)) = 0 ] && order="on off"
    for mode in $order; do
      "$BIN" admin org set "${store[@]}" --limits "$mode" >/dev/null; sleep 1.5
      if [ "$mode" = off ]; then offrow=$(measure bench/get.lua "$port"); off+=("$offrow")
      else onrow=$(measure bench/get.lua "$port"); on+=("$onrow"); fi
    done
  done
  local offm onm
  offm=$(printf '%s\n' "${off[@]}" | awk '{print $1}' | median)
  onm=$(printf '%s\n' "${on[@]}" | awk '{print $1}' | median)
  local label="SQLite, 1 node"
  [ "$name" = pg ] && label="PostgreSQL, 1 node"
  echo
  echo "### $label"
  echo
  echo "| run | req/s | p50 ms | p99 ms | non-2xx | ratio to health |"
  echo "|---|---|---|---|---|---|"
  echo "| GET /__zcrm/health (baseline) | ${H[0]} | ${H[1]} | ${H[2]} | ${H[3]} | 1.00 |"
  local i=1
  for k in $(seq 0 $((ROUNDS - 1))); do
    read -r -a a <<< "${off[$k]}"; read -r -a b <<< "${on[$k]}"
    echo "| GET record, limits off, round $i | ${a[0]} | ${a[1]} | ${a[2]} | ${a[3]} | $(python3 -c "print(f'{${a[0]}/${H[0]}:.2f}')") |"
    echo "| GET record, limits on, round $i | ${b[0]} | ${b[1]} | ${b[2]} | ${b[3]} | $(python3 -c "print(f'{${b[0]}/${H[0]}:.2f}')") |"
    i=$((i + 1))
  done
  local ratios=()
  for k in $(seq 0 $((ROUNDS - 1))); do
    read -r -a a <<< "${off[$k]}"; read -r -a b <<< "${on[$k]}"
    ratios+=("$(python3 -c "print(f'{${b[0]}/${a[0]}:.3f}')")")
  done
  echo
  echo "Median GET req/s: limits off $offm, limits on $onm (on / off of the medians $(python3 -c "print(f'{$onm/$offm:.3f}')")); per round on / off: ${ratios[*]}; **median of the per-round ratios $(printf '%s\n' "${ratios[@]}" | median)**."
  # The design not taken, for comparison: every call charged in the database
  # (blocks of one credit), limits on, same server restarted.
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  ZCRM_CREDIT_BLOCK=1 taskset -c 0 "$BIN" serve --listen 127.0.0.1:"$port" "${store[@]}" >> "$dir/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/__zcrm/health" >/dev/null && break; sleep 0.1; done
  local D
  read -r -a D < <(measure bench/get.lua "$port")
  echo
  echo "| run | req/s | p50 ms | p99 ms | non-2xx | ratio to health |"
  echo "|---|---|---|---|---|---|"
  echo "| GET record, limits on, every call charged in the database (\`ZCRM_CREDIT_BLOCK=1\`) | ${D[0]} | ${D[1]} | ${D[2]} | ${D[3]} | $(python3 -c "print(f'{${D[0]}/${H[0]}:.2f}')") |"
  echo
  echo "That last design against limits off (median): $(python3 -c "print(f'{${D[0]}/$offm:.3f}')")."
  curl -s "http://127.0.0.1:$port/crm/v8/Leads/$(head -1 "$ZCRM_BENCH_IDS")" -D - -o /dev/null \
    -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" | grep -i '^x-ratelimit' >&2 || true
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
}

echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), 20,000 Leads, wrk -t1 -c${CONNS} -d${DUR}, ${ROUNDS} rounds alternating off/on, zcrm pinned to core 0, wrk to core 1."
for b in $BACKENDS; do run_setup "$b"; done
