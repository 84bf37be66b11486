#!/usr/bin/env bash
# bench/twonodes.sh: two authzd processes on one PostgreSQL (issue 6 item 5):
# client_credentials driven at both at once (wrk, 32 connections each), and
# the sum of what they serve, every token with its durable audit row. Results
# are appended to bench/results/twonodes.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SHARED=$(cd ../shared && pwd)
DURATION=${BENCH_DURATION:-10s}
scripts/deps.sh --test
make -j2 >/dev/null
export AZT_PG_FAST=${AZT_PG_FAST:-0}
source tests/lib.sh
pg_start_tmp
authzctl migrate >/dev/null
pa=$(free_port); pb=$(free_port)
authz_start a "$pa" AUTHZ_THREADS=1 AUTHZ_LOG_LEVEL=warn
authz_start b "$pb" AUTHZ_THREADS=1 AUTHZ_LOG_LEVEL=warn AUTHZ_PUBLIC_URL="http://127.0.0.1:$pa"
admin POST /admin/v1/tenants '{"slug":"two","display_name":"Two nodes"}'
admin POST /admin/v1/tenants/two/resources '{"uri":"https://mcp.example.test/","scopes":["tools:read","tools:call"]}'
admin POST /admin/v1/tenants/two/clients '{"grant_types":["client_credentials"],"allowed_scopes":["tools:read","tools:call"],"allowed_resources":["https://mcp.example.test/"]}'
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
count() { psql_db -c "SELECT count(*) FROM audit WHERE event = 'token.issued' AND outcome = 'success'"; }
before=$(count)
wrks=()
for n in a b; do
  wrk -t1 -c32 -d"$DURATION" -s "$SHARED/bench-peer/wrk/cc.lua" "${AZT_URL[$n]}" -- \
    path=/t/two/oauth2/token client_id="$cid" client_secret="$sec" > "$AZT_TMP/wrk-$n.txt" 2>&1 &
  wrks+=($!)
done
wait "${wrks[@]}"
sleep 1
after=$(count)
ra=$(grep '^RESULT' "$AZT_TMP/wrk-a.txt"); rb=$(grep '^RESULT' "$AZT_TMP/wrk-b.txt")
f() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; }
total=$(awk -v a="$(f rps "$ra")" -v b="$(f rps "$rb")" 'BEGIN { printf "%.1f", a + b }')
ok=$(( $(f requests "$ra") - $(f bad "$ra") + $(f requests "$rb") - $(f bad "$rb") ))
authz_stop a >/dev/null; authz_stop b >/dev/null
mkdir -p bench/results
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD) two authzd (1 thread each), one database, wrk -c32 each, $DURATION"
  echo "node a: $ra"
  echo "node b: $rb"
  echo "together: $total tokens/s; audit rows $((after - before)) for $ok tokens answered 200"
} | tee -a bench/results/twonodes.txt
