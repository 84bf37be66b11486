#!/usr/bin/env bash
# bench/pdp.sh: the AuthZEN policy decision point (SPEC §12), with
# introspection in the same run for comparison.
#
#   bench/pdp.sh
#
# 1. builds authz (no sanitizers), starts a private PostgreSQL (fsync on, as
#    in production, unless AZT_PG_FAST=1) and authzd (threads=2) on free
#    loopback ports; creates tenant `bench`, resource https://mcp.example.test/
#    with tool `search` (tools:read) in its catalog, the MCP server's client
#    (introspects the resource) and an agent with a token for the resource;
# 2. one decision first (the agent's first use of search: its baseline and
#    drift alert), then, each after BENCH_WARMUP of the same load:
#      pdp      wrk -c64: single evaluations, decisions/s   (goal >= 30,000)
#      pdp c8   wrk -c8:  single evaluations, p99            (goal <= 2 ms)
#      batch    wrk -c64: batches of BENCH_BATCH (16) evaluations,
#                         decisions/s = requests/s x 16      (goal >= 3x pdp)
#      introspect wrk -c64: RFC 7662 of the same token by the same client
# 3. checks the audit trail: one tool.allowed row for every decision answered
#    (every answer names its row's id: the row was committed before it);
# 4. prints the RESULT lines and appends a dated summary to
#    bench/results/pdp.txt.
#
# Environment: BENCH_DURATION (default 15s), BENCH_WARMUP (3s), BENCH_THREADS
# (wrk threads, 2), AUTHZ_THREADS (authzd threads; 0, the default: 2 per core), BENCH_BATCH (16),
# AZT_PG_FAST (0: fsync on; 1: off), BENCH_WAL_MB (2048: WAL segments made
# ready for reuse before the load; 0: none, a brand-new cluster),
# AZT_LOG_DIR (authzd's log; default a directory on /dev/shm).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SHARED=$(git rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")/../shared
[[ -d $SHARED/bench-peer ]] || SHARED=$ROOT/../shared
[[ -f $SHARED/bench-peer/wrk/common.lua ]] || { echo "pdp.sh: no $SHARED/bench-peer/wrk/common.lua" >&2; exit 1; }
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
WRK_THREADS=${BENCH_THREADS:-2}
BATCH=${BENCH_BATCH:-16}
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
  echo "pdp.sh: the in-tree build is configured with sanitizers; reconfigure without" >&2
  exit 1
fi
make -j2 >/dev/null

export AZT_PG_FAST=${AZT_PG_FAST:-0}
# The database as a server that has run a while has it (doc/OPERATIONS.md,
# "PostgreSQL for the audit load"): room for WAL between checkpoints,
# BENCH_WAL_MB of WAL segments ready for reuse (scripts/pg.sh walprime), and
# the committer's backend handing the pages it writes to the disk as it goes
# (backend_flush_after) rather than leaving them for the kernel's 30 s flush.
# Without them a new cluster creates and zero-fills a 16 MB segment under
# the WAL write lock every 16 MB, a 20-80 ms stall of every commit.
WAL_MB=${BENCH_WAL_MB:-2048}
if [[ $WAL_MB != 0 ]]; then
  export PG_SETTINGS=${PG_SETTINGS:-$'min_wal_size = '"$WAL_MB"$'MB\nmax_wal_size = 8GB\nbackend_flush_after = 256kB'}
fi
# authzd's log (a JSON line per request, ~9 MB/s at 30,000 requests/s) on
# tmpfs, as a log collector takes it off the database's disk; in the test
# directory it was written back every 30 s on the disk the WAL is fsynced
# on, and the commits waited behind it
if [[ -z ${AZT_LOG_DIR:-} && -d /dev/shm && -w /dev/shm ]]; then
  AZT_LOG_DIR=$(mktemp -d /dev/shm/authz-bench.XXXXXX)
fi
# shellcheck source=tests/lib.sh
source tests/lib.sh

echo "== authzd"
pg_start_tmp
if [[ -n ${AZT_PG_DIR:-} && $WAL_MB != 0 ]]; then
  scripts/pg.sh walprime "$AZT_PG_DIR" "$WAL_MB" >/dev/null
fi
authzctl migrate >/dev/null
port=$(free_port)
authz_start bench "$port" AUTHZ_THREADS="${AUTHZ_THREADS:-0}"
base=${AZT_URL[bench]}

authzctl tenant create bench "Bench" >/dev/null
admin PATCH /admin/v1/tenants/bench '{"access_token_ttl":86400}'
[[ $AZT_STATUS == 200 ]] || { echo "pdp.sh: tenant settings: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
admin POST /admin/v1/tenants/bench/resources \
  "$(jq -nc --arg uri "$RESOURCE" '{uri: $uri, scopes: ["tools:read", "tools:call"]}')"
[[ $AZT_STATUS == 201 ]] || { echo "pdp.sh: create resource: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
admin PUT "/admin/v1/tenants/bench/resources/tools/search?resource=$RESOURCE" '{"scopes":["tools:read"],"risk":"read"}'
[[ $AZT_STATUS == 201 ]] || { echo "pdp.sh: put tool: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
admin POST /admin/v1/tenants/bench/clients "$(jq -nc --arg res "$RESOURCE" '{
    client_name: "mcp server", grant_types: ["client_credentials"], introspects: [$res]}')"
[[ $AZT_STATUS == 201 ]] || { echo "pdp.sh: create MCP server client: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
rs_id=$(jq -r .client_id <<<"$AZT_BODY")
rs_secret=$(jq -r .client_secret <<<"$AZT_BODY")
admin POST /admin/v1/tenants/bench/clients "$(jq -nc --arg res "$RESOURCE" '{
    client_name: "agent", grant_types: ["client_credentials"],
    allowed_scopes: ["tools:read"], allowed_resources: [$res]}')"
[[ $AZT_STATUS == 201 ]] || { echo "pdp.sh: create agent: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
agent_id=$(jq -r .client_id <<<"$AZT_BODY")
agent_secret=$(jq -r .client_secret <<<"$AZT_BODY")
http POST "$base/t/bench/oauth2/token" -u "$agent_id:$agent_secret" \
  -d grant_type=client_credentials -d scope=tools:read --data-urlencode "resource=$RESOURCE"
[[ $AZT_STATUS == 200 ]] || { echo "pdp.sh: agent token: $AZT_STATUS $AZT_BODY" >&2; exit 1; }
token=$(jq -r .access_token <<<"$AZT_BODY")

pdp_path=/t/bench/access/v1/evaluation
batch_path=/t/bench/access/v1/evaluations
intro_path=/t/bench/oauth2/introspect
# One decision first: the setup must work before we measure it (and the
# agent's first use of search is its baseline and its one drift alert).
http POST "$base$pdp_path" -u "$rs_id:$rs_secret" -H 'Content-Type: application/json' \
  --data-binary "$(jq -nc --arg t "$token" --arg s "$RESOURCE" \
    '{subject:{type:"agent_token",id:$t},action:{name:"tools/call"},resource:{type:"mcp_tool",id:"search",properties:{server:$s}}}')"
[[ $AZT_STATUS == 200 && $(jq -r .decision <<<"$AZT_BODY") == true ]] ||
  { echo "pdp.sh: first decision: $AZT_STATUS $AZT_BODY" >&2; exit 1; }

allowed_rows() {
  psql_db -c "SELECT count(*) FROM audit a JOIN tenants t ON t.id = a.tenant_id
              WHERE t.slug = 'bench' AND a.event = 'tool.allowed'"
}
args=(client_id="$rs_id" client_secret="$rs_secret" token="$token" server="$RESOURCE" tool=search)
run() { # NAME CONNS SCRIPT PATH [batch=N] -> prints the RESULT line
  local name=$1 conns=$2 script=$3 path=$4; shift 4
  wrk -t"$WRK_THREADS" -c"$conns" -d"$WARMUP" -s "$script" "$base" -- path="$path" "${args[@]}" "$@" >/dev/null
  echo "wrk -t$WRK_THREADS -c$conns -d$DURATION --latency $base$path ($name)" >&2
  wrk -t"$WRK_THREADS" -c"$conns" -d"$DURATION" --latency -s "$script" "$base" -- path="$path" "${args[@]}" "$@" \
    | tee "$AZT_TMP/wrk-$name.txt" >&2
  grep '^RESULT ' "$AZT_TMP/wrk-$name.txt" | tail -n 1
}
field() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; }
# the group commit's counters (/metrics): what bounds a durable decision
commits() { curl -s "$base/metrics" | awk '/^authz_audit_commit_batches_total /{b=$2} /^authz_audit_rows_total /{r=$2} END {print b, r}'; }

# the disk's flush time bounds every commit (PostgreSQL's own measure,
# on the file system the database is on, before the load)
fsync_line=$("$AZT_PG_BIN/pg_test_fsync" -s 1 -f "$AZT_TMP/fsync.test" 2>/dev/null |
  awk '/^[ \t]+fdatasync / { $1 = $1; print; exit }' || true)
rm -f "$AZT_TMP/fsync.test"
rows0=$(allowed_rows)
read -r cb0 cr0 <<<"$(commits)"
t0=$(date +%s%N)
r_pdp=$(run pdp64 64 bench/wrk/pdp.lua "$pdp_path")
read -r cb1 cr1 <<<"$(commits)"
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
commit_line=$(awk -v b=$((cb1 - cb0)) -v r=$((cr1 - cr0)) -v s="$secs" 'BEGIN {
  if (b > 0) printf "%d group commits in %ss (warm-up included): %.0f commits/s, %.1f rows each, %.2f ms per commit", b, s, b / s, r / b, 1000 * s / b }')
r_pdp8=$(run pdp8 8 bench/wrk/pdp.lua "$pdp_path")
r_batch=$(run batch64 64 bench/wrk/pdp.lua "$batch_path" batch="$BATCH")
sleep 1
rows1=$(allowed_rows)
r_intro=$(run introspect64 64 bench/wrk/introspect.lua "$intro_path")
authz_stop bench

# every decision answered has its row (warm-ups included, so rows >= answered)
answered=0
for r in "$r_pdp" "$r_pdp8"; do answered=$((answered + $(field requests "$r") - $(field bad "$r"))); done
answered=$((answered + ($(field requests "$r_batch") - $(field bad "$r_batch")) * BATCH))
rows=$((rows1 - rows0))
if (( rows >= answered )); then
  audit_check="ok: $rows tool.allowed rows for $answered decisions answered in the measured runs (the rest: warm-ups)"
  audit_ok=1
else
  audit_check="FAILED: $rows tool.allowed rows for $answered decisions answered"
  audit_ok=0
fi
dps_single=$(field rps "$r_pdp")
dps_batch=$(awk -v r="$(field rps "$r_batch")" -v n="$BATCH" 'BEGIN { printf "%.1f", r * n }')
ratio_batch=$(awk -v a="$dps_batch" -v b="$dps_single" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
ratio_goal=$(awk -v a="$dps_batch" 'BEGIN { printf "%.2f", a / 30000 }')
ratio_intro=$(awk -v a="$dps_single" -v b="$(field rps "$r_intro")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
rev=$(git rev-parse --short HEAD 2>/dev/null || echo none)
[[ -z $(git status --porcelain 2>/dev/null) ]] || rev="$rev+dirty"

report=$(
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  rev: $rev  host: $(nproc) cores (wrk, authzd and PostgreSQL on it)"
  echo "load: wrk -t$WRK_THREADS -d$DURATION after $WARMUP warm-up each; authzd threads=${AUTHZ_THREADS:-0} (0: 2 per core), PostgreSQL fsync=$([[ $AZT_PG_FAST == 1 ]] && echo off || echo on), ${WAL_MB} MB of WAL segments ready for reuse, authzd log in $AZT_LOG_DIR"
  echo "pdp single, 64 connections (goal >= 30000 decisions/s):"
  echo "  $r_pdp"
  echo "  $commit_line"
  echo "  the disk before the load (pg_test_fsync, one 8 kB write): ${fsync_line:-n/a}"
  echo "pdp single, 8 connections (goal p99 <= 2 ms):"
  echo "  $r_pdp8"
  echo "pdp batch of $BATCH, 64 connections (goal >= 3x single in decisions/s):"
  echo "  $r_batch"
  echo "  decisions/s: $dps_batch ($ratio_batch x single in this run; $ratio_goal x the single goal of 30000)"
  echo "introspection of the same token, 64 connections:"
  echo "  $r_intro"
  echo "  pdp single / introspection: $ratio_intro"
  echo "audit: $audit_check"
)
echo
echo "$report"
mkdir -p bench/results
{ echo "$report"; echo; } >> bench/results/pdp.txt
echo "(appended to bench/results/pdp.txt)"

(( audit_ok == 1 && AZT_FAILED == 0 ))
