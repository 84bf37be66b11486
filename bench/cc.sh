#!/usr/bin/env bash
# bench/cc.sh: the client_credentials benchmark, authzd against the peer
# (node oidc-provider, ../shared/bench-peer) in the same run, with the same
# wrk script and load.
#
#   bench/cc.sh
#
# 1. builds authz (no sanitizers), starts a private PostgreSQL and authzd
#    (threads: the default) on free loopback ports, creates tenant `bench`, resource
#    https://mcp.example.test/ (tools:read tools:call) and a client_secret_basic
#    client;
# 2. wrk -t2 -c64 -d15s --latency -s shared/bench-peer/wrk/cc.lua against
#    authzd's token endpoint, sampling authzd's RSS meanwhile;
# 3. checks the audit trail: one `token.issued` row for every 200;
# 4. stops authzd, starts the peer (CLUSTER=${PEER_CLUSTER:-2}) from a copy of bench-peer and
#    runs the same wrk against it;
# 5. prints both RESULT lines, the ratio, the RSS and the audit check, and
#    appends a dated summary to bench/results/cc.txt.
#
# Each side first gets BENCH_WARMUP (default 3s) of the same load, not
# measured (the peer's JIT needs it; authzd's caches fill).
#
# Environment: BENCH_DURATION (default 15s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (wrk threads, 2), AUTHZ_THREADS (authzd threads; 0, the default: 2 per core),
# AZT_PG_FAST (0: PostgreSQL with fsync on, as in production; 1: off),
# BENCH_SKIP_PEER=1 (authzd only), PEER_CLUSTER (the peer's processes, 2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SHARED=$(git rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")/../shared
[[ -d $SHARED/bench-peer ]] || SHARED=$ROOT/../shared
[[ -f $SHARED/bench-peer/wrk/cc.lua ]] || { echo "cc.sh: no $SHARED/bench-peer/wrk/cc.lua" >&2; exit 1; }
SHARED=$(cd "$SHARED" && pwd)
CC_LUA=$SHARED/bench-peer/wrk/cc.lua
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
CONNS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_THREADS:-2}
RESOURCE=https://mcp.example.test/

scripts/deps.sh --test

echo "== build"
if [[ ! -x configure || configure -ot configure.ac ]]; then
  autoreconf -fi >/dev/null 2>&1
fi
if [[ ! -f Makefile || ! -f config.status || config.status -ot configure ]]; then
  ./configure -q
fi
if grep -q -- "^ac_cs_config=.*--enable-sanitizers" config.status; then
  echo "cc.sh: the in-tree build is configured with sanitizers; reconfigure without" >&2
  exit 1
fi
make -j2 >/dev/null

export AZT_PG_FAST=${AZT_PG_FAST:-0}
# shellcheck source=tests/lib.sh
source tests/lib.sh

echo "== authzd"
pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start bench "$port" AUTHZ_THREADS="${AUTHZ_THREADS:-0}"
pid=${AZT_PID[bench]}
base=${AZT_URL[bench]}

authzctl tenant create bench "Bench" >/dev/null
admin POST /admin/v1/tenants/bench/resources \
  "$(jq -nc --arg uri "$RESOURCE" '{uri: $uri, scopes: ["tools:read", "tools:call"]}')"
[[ $AZT_STATUS == 201 ]] || { echo "cc.sh: create resource: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
admin POST /admin/v1/tenants/bench/clients "$(jq -nc --arg res "$RESOURCE" '{
    client_name: "bench", grant_types: ["client_credentials"],
    token_endpoint_auth_method: "client_secret_basic",
    allowed_scopes: ["tools:read", "tools:call"], allowed_resources: [$res]}')"
[[ $AZT_STATUS == 201 ]] || { echo "cc.sh: create client: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
client_id=$(jq -r .client_id <<<"$AZT_BODY")
client_secret=$(jq -r .client_secret <<<"$AZT_BODY")

token_endpoint=$(discovery bench bench | jq -r .token_endpoint)
token_path=/${token_endpoint#http://127.0.0.1:"$port"/}

# One request first: the setup must work before we measure it.
http POST "$token_endpoint" -u "$client_id:$client_secret" \
  -d grant_type=client_credentials -d scope=tools:read --data-urlencode "resource=$RESOURCE"
[[ $AZT_STATUS == 200 ]] || { echo "cc.sh: warm-up token request: $AZT_STATUS $AZT_BODY" >&2; exit 1; }

audit_count() {
  psql_db -c "SELECT count(*) FROM audit a JOIN tenants t ON t.id = a.tenant_id
              WHERE t.slug = 'bench' AND a.event = 'token.issued' AND a.outcome = 'success'"
}
echo "warm-up: $WARMUP"
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" -s "$CC_LUA" "$base" -- \
  path="$token_path" client_id="$client_id" client_secret="$client_secret" >/dev/null
sleep 1
audit_before=$(audit_count)

# RSS sampler: VmRSS every 100 ms, the maximum in a file.
rss_file=$AZT_TMP/rss.max
echo 0 > "$rss_file"
(
  max=0
  while kill -0 "$pid" 2>/dev/null; do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    if (( ${r:-0} > max )); then max=$r; echo "$max" > "$rss_file"; fi
    sleep 0.1
  done
) &
sampler=$!
register_pid "$sampler"

echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency $base$token_path"
wrk_authz=$AZT_TMP/wrk-authz.txt
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$CC_LUA" "$base" -- \
  path="$token_path" client_id="$client_id" client_secret="$client_secret" | tee "$wrk_authz"
sleep 1
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rss_peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
rss_sampled_kb=$(cat "$rss_file")
audit_after=$(audit_count)
authz_stop bench

result_authz=$(grep '^RESULT ' "$wrk_authz" | tail -n 1)
field() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; }
req_authz=$(field requests "$result_authz")
bad_authz=$(field bad "$result_authz")
ok_authz=$((req_authz - bad_authz))
audit_rows=$((audit_after - audit_before))
if (( audit_rows >= ok_authz )); then
  audit_check="ok: $audit_rows token.issued rows for $ok_authz answered 200s ($((audit_rows - ok_authz)) more: answered after wrk stopped counting)"
  audit_ok=1
else
  audit_check="FAILED: $audit_rows token.issued rows for $ok_authz answered 200s ($((ok_authz - audit_rows)) missing)"
  audit_ok=0
fi

# ---------------------------------------------------------------- peer

result_peer=""
peer_rss_kb=""
if [[ ${BENCH_SKIP_PEER:-0} != 1 ]]; then
  echo "== peer (node oidc-provider, CLUSTER=${PEER_CLUSTER:-2})"
  peer_dir=$(mktemp -d /tmp/authz-peer.XXXXXX)
  on_exit "rm -rf '$peer_dir'"
  cp -r "$SHARED/bench-peer/." "$peer_dir/"
  chmod -R u+w "$peer_dir"
  (cd "$peer_dir" && npm ci --no-audit --no-fund --silent >/dev/null)
  peer_port=$(free_port)
  (cd "$peer_dir" && exec env CLUSTER="${PEER_CLUSTER:-2}" PORT="$peer_port" node server.mjs) >"$AZT_TMP/peer.log" 2>&1 &
  peer_pid=$!
  register_pid "$peer_pid"
  for (( i = 0; i < 300; i++ )); do
    grep -q 'peer ready' "$AZT_TMP/peer.log" && break
    kill -0 "$peer_pid" 2>/dev/null || { cat "$AZT_TMP/peer.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q 'peer ready' "$AZT_TMP/peer.log" || { echo "cc.sh: the peer did not start" >&2; exit 1; }

  peer_rss_file=$AZT_TMP/peer-rss.max
  echo 0 > "$peer_rss_file"
  (
    max=0
    while kill -0 "$peer_pid" 2>/dev/null; do
      sum=0
      for p in $peer_pid $(pgrep -P "$peer_pid" || true); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        sum=$((sum + ${r:-0}))
      done
      if (( sum > max )); then max=$sum; echo "$max" > "$peer_rss_file"; fi
      sleep 0.1
    done
  ) &
  peer_sampler=$!
  register_pid "$peer_sampler"

  echo "warm-up: $WARMUP"
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" -s "$CC_LUA" "http://127.0.0.1:$peer_port" >/dev/null
  wrk_peer=$AZT_TMP/wrk-peer.txt
  echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency http://127.0.0.1:$peer_port/token"
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$CC_LUA" "http://127.0.0.1:$peer_port" \
    | tee "$wrk_peer"
  kill "$peer_sampler" 2>/dev/null || true
  wait "$peer_sampler" 2>/dev/null || true
  peer_rss_kb=$(cat "$peer_rss_file")
  kill -TERM "$peer_pid" 2>/dev/null || true
  wait "$peer_pid" 2>/dev/null || true
  result_peer=$(grep '^RESULT ' "$wrk_peer" | tail -n 1)
fi

# ---------------------------------------------------------------- report

rps_authz=$(field rps "$result_authz")
ratio=""
if [[ -n $result_peer ]]; then
  rps_peer=$(field rps "$result_peer")
  ratio=$(awk -v a="$rps_authz" -v b="$rps_peer" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
fi
rev=$(git rev-parse --short HEAD 2>/dev/null || echo none)
[[ -z $(git status --porcelain 2>/dev/null) ]] || rev="$rev+dirty"

report=$(
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  rev: $rev  host: $(nproc) cores"
  echo "load: wrk -t$WRK_THREADS -c$CONNS -d$DURATION after $WARMUP warm-up, cc.lua (client_secret_basic, scope tools:read, resource $RESOURCE)"
  echo "authzd (threads=${AUTHZ_THREADS:-0}$([[ ${AUTHZ_THREADS:-0} == 0 ]] && echo ": the default, 2 per core"), PostgreSQL fsync=$([[ $AZT_PG_FAST == 1 ]] && echo off || echo on)):"
  echo "  $result_authz"
  echo "  peak RSS: $((rss_peak_kb / 1024)) MiB (VmHWM ${rss_peak_kb} kB; max sampled VmRSS ${rss_sampled_kb} kB)"
  echo "  audit: $audit_check"
  if [[ -n $result_peer ]]; then
    echo "peer (node oidc-provider, CLUSTER=${PEER_CLUSTER:-2}):"
    echo "  $result_peer"
    echo "  peak RSS (all processes): $((peer_rss_kb / 1024)) MiB"
    echo "ratio authzd/peer rps: $ratio"
  fi
)
echo
echo "$report"
mkdir -p bench/results
{ echo "$report"; echo; } >> bench/results/cc.txt
echo "(appended to bench/results/cc.txt)"

(( audit_ok == 1 && AZT_FAILED == 0 ))
