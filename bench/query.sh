#!/usr/bin/env bash
# Search and COQL over a million Leads, one command:  bench/query.sh [duration]
# Seeds 1,000,000 Leads, 10,000 Accounts and 100,000 Contacts (zcrm admin seed), then
# measures each query over HTTP with wrk (one connection: latency, not throughput;
# zcrm on core 0, wrk on core 1) and the same SQL run directly on the SQLite file
# (the floor), and prints the ratio of the p50s.
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
taskset -c 0 "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/__zcrm/health" >/dev/null && break; sleep 0.1; done
"$BIN" admin seed --data-dir "$DIR" --leads "$LEADS" --accounts 10000 --contacts 100000 >&2
"$BIN" admin org set --data-dir "$DIR" --limits off >/dev/null  # measure queries, not API limits
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
CREDS=$("$BIN" admin self-client --data-dir "$DIR" --scope ZohoCRM.modules.ALL,ZohoCRM.coql.READ --json)
CID=$(echo "$CREDS" | field client_id); SEC=$(echo "$CREDS" | field client_secret); CODE=$(echo "$CREDS" | field code)
export ZCRM_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/oauth/v2/token" \
  -d grant_type=authorization_code -d client_id="$CID" -d client_secret="$SEC" -d code="$CODE" | field access_token)
DB=$(ls "$DIR"/orgs/*.db | head -1)

http() { # method path body → "p50 p99" (ms), and checks the answer first
  export ZCRM_BENCH_METHOD=$1 ZCRM_BENCH_PATH=$2 ZCRM_BENCH_BODY=$3
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Zoho-oauthtoken $ZCRM_BENCH_TOKEN" \
    ${3:+-H 'Content-Type: application/json' --data "$3"} "http://127.0.0.1:$PORT$2")
  [ "$code" = 200 ] || { echo "query answered $code: $1 $2 $3" >&2; exit 1; }
  taskset -c 1 wrk -t1 -c1 -d"$DUR" --latency -s bench/req.lua "http://127.0.0.1:$PORT" | tee -a /dev/stderr | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } END { printf "%.3f %.3f\n", p50, p99 }'
}

row() { # label method path body raw-sql
  read -r hp50 hp99 < <(http "$2" "$3" "$4")
  read -r rp50 rp99 < <(python3 bench/raw_sql.py "$DB" "$5" 200)
  echo "| $1 | $hp50 | $hp99 | $rp50 | $rp99 | $(python3 -c "print(f'{$hp50/$rp50:.1f}')") |"
}

echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $LEADS Leads / 100,000 Contacts / 10,000 Accounts, SQLite, wrk -t1 -c1 -d$DUR (zcrm core 0, wrk core 1); raw SQL: Python sqlite3 on the same file, 200 runs after 3 warm-ups."
echo
echo "| query | HTTP p50 ms | HTTP p99 ms | raw SQL p50 ms | raw SQL p99 ms | HTTP / raw (p50) |"
echo "|---|---|---|---|---|---|"
row "COQL: indexed equality + range, ORDER BY … LIMIT 200" POST /crm/v8/coql \
  '{"select_query":"select Last_Name, Email, Annual_Revenue from Leads where Lead_Status = '"'"'Contacted'"'"' and Annual_Revenue > 100000 order by Annual_Revenue desc limit 200"}' \
  "SELECT t.id, t.\"Last_Name\", t.\"Email\", t.\"Annual_Revenue\" FROM m_leads t WHERE t.\"Lead_Status\" = 'Contacted' COLLATE NOCASE AND t.\"Annual_Revenue\" > 100000 ORDER BY t.\"Annual_Revenue\" DESC LIMIT 200"
row "COQL: COUNT(id) … GROUP BY Lead_Status" POST /crm/v8/coql \
  '{"select_query":"select Lead_Status, COUNT(id) from Leads group by Lead_Status"}' \
  "SELECT t.\"Lead_Status\", COUNT(t.id) FROM m_leads t GROUP BY t.\"Lead_Status\" COLLATE NOCASE"
row "COQL: Contacts ↔ Accounts lookup traversal, LIMIT 200" POST /crm/v8/coql \
  '{"select_query":"select Last_Name, Account_Name.Account_Name from Contacts where Account_Name.Industry = '"'"'Storage Equipment'"'"' limit 200"}' \
  "SELECT t.id, t.\"Last_Name\", a.\"Account_Name\" FROM m_contacts t LEFT JOIN m_accounts a ON a.id = t.\"Account_Name\" WHERE a.\"Industry\" = 'Storage Equipment' COLLATE NOCASE LIMIT 200"
row "Search: criteria (Last_Name:starts_with:Smi), 200 per page" GET \
  "/crm/v8/Leads/search?criteria=(Last_Name:starts_with:Smi)&fields=Last_Name,Email" "" \
  "SELECT t.id, t.\"Last_Name\", t.\"Email\" FROM m_leads t NOT INDEXED WHERE t.\"Last_Name\" LIKE 'Smi%' AND t.id >= (SELECT id FROM m_leads ORDER BY id DESC LIMIT 1 OFFSET 20000) ORDER BY t.id DESC LIMIT 201"
