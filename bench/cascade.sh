#!/usr/bin/env bash
# bench/cascade.sh: offboarding at scale (issue 15, SPEC §13). Two authzd on
# one PostgreSQL (one public_url). A person owns 1,000 agents holding
# BENCH_TOKENS live access tokens (default 100,000, issued through the token
# endpoint by wrk over all 1,000 agents). The person is disabled on node a;
# measured:
#   - the time from the PATCH's answer until sampled tokens of the agents are
#     inactive on node a AND on node b (introspection), and until the agents
#     get invalid_client on node b;
#   - the token endpoint's p99 on node b (another client) during the cascade,
#     against the same load without one;
#   - each node's RSS once it holds 10,000 clients in its cache and 100,000
#     revocations (goal: <= 64 MB).
# The agents beyond the first are inserted with the first one's secret hash
# (so they share its secret): the bench measures the cascade, not 1,000 admin
# calls. Results are appended to bench/results/cascade.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOKENS=${BENCH_TOKENS:-100000}
AGENTS=${BENCH_AGENTS:-1000}
CLIENTS=${BENCH_CLIENTS:-10000}
REVOCATIONS=${BENCH_REVOCATIONS:-100000}
make -j2 >/dev/null
export AZT_PG_FAST=${AZT_PG_FAST:-0}
source tests/lib.sh
pg_start_tmp
authzctl migrate >/dev/null
pa=$(free_port); pb=$(free_port)
authz_start a "$pa" AUTHZ_THREADS=1 AUTHZ_LOG_LEVEL=warn
authz_start b "$pb" AUTHZ_THREADS=1 AUTHZ_LOG_LEVEL=warn AUTHZ_PUBLIC_URL="http://127.0.0.1:$pa"
A=${AZT_URL[a]}; B=${AZT_URL[b]}
RES=https://mcp.example.test/
sql() { psql_db -c "$1"; }
admin POST /admin/v1/tenants '{"slug":"cas","display_name":"Cascade"}'
admin PATCH /admin/v1/tenants/cas '{"access_token_ttl":3600}'
admin POST /admin/v1/tenants/cas/resources "{\"uri\":\"$RES\",\"scopes\":[\"tools:read\"]}"
admin POST /admin/v1/tenants/cas/users '{"username":"owner","password":"owner-password-1","scopes":["tools:read"]}'
OWNER=$(jq -r .id <<<"$AZT_BODY")
body="{\"token_endpoint_auth_method\":\"client_secret_post\",\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"tools:read\"],\"allowed_resources\":[\"$RES\"],\"owner\":\"$OWNER\"}"
admin POST /admin/v1/tenants/cas/clients "$body"
first=$(jq -r .client_id <<<"$AZT_BODY"); SECRET=$(jq -r .client_secret <<<"$AZT_BODY")
# the other agents: copies of the first (same secret hash), owned too
sql "INSERT INTO clients (tenant_id, client_id, secret_hash, token_endpoint_auth_method, grant_types,
       allowed_scopes, allowed_resources, owner)
     SELECT tenant_id, client_id || '-' || g, secret_hash, token_endpoint_auth_method, grant_types,
       allowed_scopes, allowed_resources, owner FROM clients, generate_series(2, $AGENTS) g
     WHERE client_id = '$first'" >/dev/null
sql "SELECT client_id FROM clients WHERE owner = '$OWNER'" > "$AZT_TMP/agents.txt"
# an unrelated client that keeps working: the load during the cascade
admin POST /admin/v1/tenants/cas/clients "${body/,\"owner\":\"$OWNER\"/}"
other=$(jq -r .client_id <<<"$AZT_BODY"); osec=$(jq -r .client_secret <<<"$AZT_BODY")
echo "$other" > "$AZT_TMP/other.txt"
T=/t/cas/oauth2/token

# ---- BENCH_TOKENS live tokens held by the agents (both nodes issue them)
count() { sql "SELECT count(*) FROM audit WHERE event = 'token.issued'"; }
issued=0; rounds=0
while (( issued < TOKENS && rounds < 20 )); do
  wrk -t1 -c16 -d10s -s bench/wrk/cc_many.lua "$A" -- "$T" "$AZT_TMP/agents.txt" "$SECRET" "$RES" >/dev/null 2>&1 &
  w1=$!
  wrk -t1 -c16 -d10s -s bench/wrk/cc_many.lua "$B" -- "$T" "$AZT_TMP/agents.txt" "$SECRET" "$RES" >/dev/null 2>&1 &
  w2=$!
  wait "$w1" "$w2"
  issued=$(count); rounds=$((rounds + 1))
done
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/${AZT_PID[$1]}/status"; }
hwm() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/${AZT_PID[$1]}/status"; }
peaks="peak RSS (a/b) after issuing: $(hwm a)/$(hwm b) MB"
# sampled tokens: 20 agents, one token each
mapfile -t sample_ids < <(shuf -n 20 "$AZT_TMP/agents.txt")
samples=()
for id in "${sample_ids[@]}"; do
  samples+=("$(curl -s "$A$T" -d grant_type=client_credentials --data-urlencode "client_id=$id" \
    --data-urlencode "client_secret=$SECRET" --data-urlencode "resource=$RES" | jq -r .access_token)")
done
admin POST /admin/v1/tenants/cas/clients "{\"grant_types\":[\"client_credentials\"],\"introspects\":[\"$RES\"]}"
rs=$(jq -r .client_id <<<"$AZT_BODY"); rss=$(jq -r .client_secret <<<"$AZT_BODY")
n_active() { # NODE_URL -> how many samples are active there (one curl)
  local args=() t
  for t in "${samples[@]}"; do args+=(--next -s -u "$rs:$rss" "$1/t/cas/oauth2/introspect" --data-urlencode "token=$t"); done
  curl "${args[@]:1}" | grep -o '"active":true' | wc -l
}
before_a=$(n_active "$A"); before_b=$(n_active "$B")

# ---- baseline p99 on node b, then the same load with the cascade in it
load() { wrk -t1 -c16 -d8s --latency -s bench/wrk/cc_many.lua "$B" -- "$T" "$AZT_TMP/other.txt" "$osec" "$RES" 2>&1 | grep '^RESULT'; }
base=$(load)
load > "$AZT_TMP/during.txt" &
lw=$!
sleep 3
admin PATCH /admin/v1/tenants/cas/users/owner '{"status":"disabled"}'
t0=$(date +%s%N)
patch_status=$AZT_STATUS
ta=""; tb=""; tc=""
while (( $(date +%s%N) - t0 < 10000000000 )) && [[ -z $ta || -z $tb || -z $tc ]]; do
  now() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
  [[ -z $tb ]] && (( $(n_active "$B") == 0 )) && tb=$(now)
  [[ -z $ta ]] && (( $(n_active "$A") == 0 )) && ta=$(now)
  [[ -z $tc ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' "$B$T" -d grant_type=client_credentials \
    --data-urlencode "client_id=${sample_ids[0]}" --data-urlencode "client_secret=$SECRET") == 401 ]] && tc=$(now)
done
wait "$lw"
during=$(cat "$AZT_TMP/during.txt")
peaks+=", after the cascade: $(hwm a)/$(hwm b) MB"
disabled=$(sql "SELECT count(*) FROM clients WHERE owner = '$OWNER' AND status = 'disabled'")
audited=$(sql "SELECT count(*) FROM audit WHERE event = 'client.disabled' AND details->>'reason' = 'owner_offboarded'")

# ---- RSS with CLIENTS clients cached and REVOCATIONS revocations
sql "INSERT INTO clients (tenant_id, client_id, secret_hash, token_endpoint_auth_method, grant_types,
       allowed_scopes, allowed_resources)
     SELECT tenant_id, client_id || '-x' || g, secret_hash, token_endpoint_auth_method, grant_types,
       allowed_scopes, allowed_resources FROM clients, generate_series(1, $CLIENTS) g
     WHERE client_id = '$other'" >/dev/null
sql "SELECT client_id FROM clients WHERE client_id LIKE '$other-x%'" > "$AZT_TMP/many.txt"
for n in A B; do
  wrk -t1 -c16 -d15s -s bench/wrk/cc_many.lua "${!n}" -- "$T" "$AZT_TMP/many.txt" "$osec" "$RES" >/dev/null 2>&1
done
peaks+=", with the clients loaded: $(hwm a)/$(hwm b) MB"
sql "INSERT INTO revocations (tenant_id, kind, value, expires_at)
     SELECT id, 'jti', 'bench-' || g, now() + interval '1 day' FROM tenants, generate_series(1, $REVOCATIONS) g
     WHERE slug = 'cas'" >/dev/null
sleep 3
rss_a=$(rss a); rss_b=$(rss b); hwm_a=$(hwm a); hwm_b=$(hwm b)
authz_stop a >/dev/null; authz_stop b >/dev/null
mkdir -p bench/results
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD) two authzd (1 thread each), one database; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  echo "owner of $AGENTS agents, $issued tokens issued to them (live, 1 h); PATCH status disabled: $patch_status"
  echo "sampled tokens active before: node a $before_a/20, node b $before_b/20"
  echo "after the PATCH answered (checked in turn, each check a round of 20 introspections): sampled tokens inactive on node b after ${tb:-?} ms, on node a after ${ta:-?} ms; agents invalid_client on node b after ${tc:-?} ms"
  echo "agents disabled: $disabled; client.disabled rows with owner_offboarded: $audited"
  echo "token endpoint (node b, another client), baseline: $base"
  echo "token endpoint (node b, another client), cascade at 3 s: $during"
  echo "RSS with $CLIENTS more clients loaded and $REVOCATIONS revocations: node a $rss_a MB (peak $hwm_a), node b $rss_b MB (peak $hwm_b)"
  echo "$peaks"
  echo "(node a's peak is Argon2id's working memory, argon2_m_cost_kib = 65536, when it hashed the owner's password at creation; node b hashed none)"
} | tee -a bench/results/cascade.txt
