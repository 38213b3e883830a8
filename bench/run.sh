#!/usr/bin/env bash
# The foundation benchmark, one command:  bench/run.sh [duration] [connections]
#
# For each backend (SQLite; PostgreSQL with one node and with two nodes), starts
# release zcrm on a fresh data dir / database, seeds 100,000 Leads through the
# API, then measures with wrk: GET /__zcrm/health (the baseline, same run),
# GET /crm/v8/Leads/{id}, POST /crm/v8/Leads with 100 records.
# Server processes pinned to core 0, wrk to core 1. Prints Markdown tables;
# BENCHMARKS.md keeps a recorded run.
#   BENCH_BACKENDS="sqlite pg pg2"   which setups to run (default all three)
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test   admin URL to create databases from
#   BENCH_PG_PARAMS=sslmode=disable   query parameters for zcrm's database URL (default: TLS if offered)
#   ZCRM_BENCH_BIN=path   a zcrm binary to measure instead of building this checkout
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
CONNS=${2:-16}
SEED=${ZCRM_BENCH_SEED:-100000}
BACKENDS=${BENCH_BACKENDS:-"sqlite pg pg2"}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${ZCRM_BENCH_BIN:-}" ]; then cargo build --release -q; fi
BIN=${ZCRM_BENCH_BIN:-$PWD/target/release/zcrm}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
PIDS=()
DBS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "${DBS[@]}"; do psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

start_node() { # dir port [db-url]
  local extra=()
  [ -n "${3:-}" ] && extra=(--database-url "$3")
  taskset -c 0 "$BIN" serve --listen 127.0.0.1:"$2" --data-dir "$1" "${extra[@]}" > "$1/server-$2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/__zcrm/health" >/dev/null && return; sleep 0.1; done
  echo "node on $2 did not start" >&2; cat "$1/server-$2.log" >&2; exit 1
}

# wrk against one or two ports at once (connections split) → "req/s p50_ms p99_ms non2xx"
measure() { # path-or-script ports...
  local what=$1; shift
  local n=$# i=0 outs=()
  for port in "$@"; do
    local args=(-t1 -c$((CONNS / n)) -d"$DUR" --latency)
    local url="http://127.0.0.1:$port/"
    if [[ "$what" == *.lua ]]; then args+=(-s "$what"); else url="http://127.0.0.1:$port$what"; fi
    outs+=("$(mktemp)")
    taskset -c 1 wrk "${args[@]}" "$url" > "${outs[$i]}" &
    i=$((i + 1))
  done
  wait $(jobs -p | tail -n "$n") 2>/dev/null || true
  cat "${outs[@]}" >&2
  cat "${outs[@]}" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps += $2 }
    /^ +50%/ { if (ms($2) > p50) p50 = ms($2) }
    /^ +99%/ { if (ms($2) > p99) p99 = ms($2) }
    /Non-2xx/ { bad += $5 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }'
}

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

run_setup() { # name
  local name=$1 dir url="" ports=()
  dir=$(mktemp -d)
  local port=$((20000 + RANDOM % 10000))
  case "$name" in
    sqlite) ports=("$port") ;;
    pg|pg2)
      local db="zcrm_bench_$$_$name"
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
      DBS+=("$db")
      url="${PG_ADMIN%/*}/$db${BENCH_PG_PARAMS:+?$BENCH_PG_PARAMS}"
      ports=("$port")
      [ "$name" = pg2 ] && ports+=($((port + 1)))
      ;;
  esac
  for p in "${ports[@]}"; do start_node "$dir" "$p" "$url"; done
  local admin=(admin self-client --data-dir "$dir" --scope ZohoCRM.modules.ALL --json)
  [ -n "$url" ] && admin+=(--database-url "$url")
  local creds cid sec code
  creds=$("$BIN" "${admin[@]}")
  cid=$(echo "$creds" | field client_id); sec=$(echo "$creds" | field client_secret); code=$(echo "$creds" | field code)
  export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:${ports[0]}/oauth/v2/token" \
    -d grant_type=authorization_code -d client_id="$cid" -d client_secret="$sec" -d code="$code" | field access_token)
  export ZCRM_BENCH_IDS="$dir/ids.txt"
  python3 bench/seed.py 127.0.0.1 "${ports[0]}" "$ZCRM_BENCH_TOKEN" "$SEED" "$ZCRM_BENCH_IDS" >&2
  # These runs measure the record path; API limits (51,000 credits a day by default) would
  # refuse most of them. Their own cost is measured by bench/limits.sh.
  local orgset=(admin org set --data-dir "$dir" --limits off)
  [ -n "$url" ] && orgset+=(--database-url "$url")
  "$BIN" "${orgset[@]}" >/dev/null; sleep 1.5
  local H G P
  read -r -a H < <(measure /__zcrm/health "${ports[@]}")
  read -r -a G < <(measure bench/get.lua "${ports[@]}")
  read -r -a P < <(measure bench/post.lua "${ports[@]}")
  local label
  case "$name" in sqlite) label="SQLite, 1 node" ;; pg) label="PostgreSQL, 1 node" ;; pg2) label="PostgreSQL, 2 nodes" ;; esac
  echo
  echo "### $label"
  echo
  echo "| endpoint | req/s | records/s | p50 ms | p99 ms | non-2xx | ratio to health |"
  echo "|---|---|---|---|---|---|---|"
  echo "| GET /__zcrm/health (baseline) | ${H[0]} | – | ${H[1]} | ${H[2]} | ${H[3]} | 1.00 |"
  echo "| GET /crm/v8/Leads/{id} | ${G[0]} | – | ${G[1]} | ${G[2]} | ${G[3]} | $(ratio "${G[0]}" "${H[0]}") |"
  echo "| POST /crm/v8/Leads, 100 records | ${P[0]} | $((P[0] * 100)) | ${P[1]} | ${P[2]} | ${P[3]} | $(ratio "${P[0]}" "${H[0]}") |"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}

echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), ${SEED} Leads stored per setup, wrk -t1 -c${CONNS} -d${DUR} (split across nodes), zcrm pinned to core 0, wrk to core 1, PostgreSQL server unpinned (it shares both cores)."
for b in $BACKENDS; do run_setup "$b"; done
