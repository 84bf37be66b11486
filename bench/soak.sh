#!/usr/bin/env bash
# bench/soak.sh: sustained mixed load (default 10 minutes): wrk drives
# client_credentials and introspection while bench/soak.mjs runs every other
# grant (code + refresh through the real pages, exchange, CIBA), revocation
# and admin reads. authzd's RSS is sampled every 10 s; the run fails on any
# answer other than the intended ones. Results go to bench/results/soak.txt.
#
#   bench/soak.sh            SOAK_SECONDS=600
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SHARED=$(cd "$ROOT/../shared" && pwd)
SECS=${SOAK_SECONDS:-600}
scripts/deps.sh --test
make -j2 >/dev/null
(cd conformance && [[ -d node_modules ]] || npm ci --no-audit --no-fund --silent)
source tests/lib.sh
pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start soak "$port" AUTHZ_THREADS=2 AUTHZ_LOG_LEVEL=warn
pid=${AZT_PID[soak]}
base=${AZT_URL[soak]}
admin POST /admin/v1/tenants '{"slug":"soakwrk","display_name":"Soak"}'
# the introspected token must outlive the run
admin PATCH /admin/v1/tenants/soakwrk "{\"access_token_ttl\":$(( SECS + 600 < 86400 ? SECS + 600 : 86400 ))}"
admin POST /admin/v1/tenants/soakwrk/resources '{"uri":"https://api.example.test/","scopes":["read"]}'
admin POST /admin/v1/tenants/soakwrk/clients '{"grant_types":["client_credentials"],"allowed_scopes":["read"],"allowed_resources":["https://api.example.test/"]}'
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
tok=$(curl -s -u "$cid:$sec" "$base/t/soakwrk/oauth2/token" -d grant_type=client_credentials -d resource=https://api.example.test/ | jq -r .access_token)

rss_log=$AZT_TMP/rss.txt
( while kill -0 "$pid" 2>/dev/null; do
    echo "$(date +%s) $(awk '/^VmRSS:/ {print $2}' /proc/$pid/status)" >> "$rss_log"; sleep 10; done ) &
register_pid $!
wrk -t1 -c8 -d"${SECS}s" -s "$SHARED/bench-peer/wrk/cc.lua" "$base" -- path=/t/soakwrk/oauth2/token \
  client_id="$cid" client_secret="$sec" scope=read resource=https://api.example.test/ > "$AZT_TMP/wrk-cc.txt" 2>&1 &
w1=$!
wrk -t1 -c8 -d"${SECS}s" -s "$SHARED/bench-peer/wrk/introspect.lua" "$base" -- path=/t/soakwrk/oauth2/introspect \
  token="$tok" client_id="$cid" client_secret="$sec" > "$AZT_TMP/wrk-in.txt" 2>&1 &
w2=$!
mixed=$(cd conformance && AUTHZ_BASE_URL=$base AUTHZ_ROOT_TOKEN=$(root_token) SOAK_SECONDS=$SECS node ../bench/soak.mjs)
wait $w1 $w2 || true
first=$(head -n 3 "$rss_log" | tail -n 1 | cut -d' ' -f2)
last=$(tail -n 1 "$rss_log" | cut -d' ' -f2)
max=$(cut -d' ' -f2 "$rss_log" | sort -n | tail -n 1)
authz_stop soak >/dev/null
errors=$(jq '.errors | length' <<<"$mixed")
r1=$(grep '^RESULT' "$AZT_TMP/wrk-cc.txt"); r2=$(grep '^RESULT' "$AZT_TMP/wrk-in.txt")
bad=$(( $(sed -nE 's/.* bad=([0-9]+).*/\1/p' <<<"$r1") + $(sed -nE 's/.* bad=([0-9]+).*/\1/p' <<<"$r2") ))
mkdir -p bench/results
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD) soak ${SECS}s: RSS kB after 20 s $first, at the end $last, max $max"
  echo "wrk cc: $r1"
  echo "wrk introspect: $r2"
  echo "mixed: $mixed"
} | tee -a bench/results/soak.txt
if (( errors > 0 || bad > 0 )); then echo "soak: FAILED ($errors mixed errors, $bad bad wrk answers)"; exit 1; fi
echo "soak: ok"
