#!/usr/bin/env bash
# t_pdp.sh: the AuthZEN policy decision point (SPEC §12) on two authzd
# sharing one database: both give the same decisions, each decision's audit
# row is committed before the answer (its id is the answer's), a new (agent,
# server, tool) pair raises exactly one drift alert (row and signed webhook)
# even when both nodes see it at once, drift_mode deny refuses a pair
# outside the baseline, the baseline survives a restart, and a revocation
# reaches the other node's decisions within one second.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
pa=$(free_port); pb=$(free_port)
authz_start a "$pa" AUTHZ_THREADS=2
authz_start b "$pb" AUTHZ_THREADS=2 AUTHZ_PUBLIC_URL="http://127.0.0.1:$pa"
A=http://127.0.0.1:$pa
B=http://127.0.0.1:$pb
S1=https://mcp.example.test/
S2=https://files.example.test/mcp

# a receiver for the drift webhook: each POST is kept as N.json
rx=$AZT_TMP/rx
rx_start "$rx"
secret=drift-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

# the kept POSTs whose body's tool is TOOL, counted after a moment
rx_files() { local f; for f in "$rx"/*.json; do [[ -e $f ]] && [[ $(jq -r '.body | fromjson | .tool' "$f") == "$1" ]] && echo "$f"; done; true; }
rx_count() { sleep "${2:-0}"; rx_files "$1" | grep -c . || true; }
signature_ok() { # FILE SECRET
  local h t v1 mac
  h=$(jq -r '.headers["authz-signature"]' "$1")
  t=${h#t=}; t=${t%%,*}
  v1=${h##*v1=}
  mac=$(printf '%s.%s' "$t" "$(jq -r .body "$1")" | openssl dgst -sha256 -hmac "$2" -r | cut -d' ' -f1)
  [[ -n $v1 && $mac == "$v1" ]]
}

admin POST /admin/v1/tenants '{"slug":"pdp","display_name":"PDP"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin PATCH /admin/v1/tenants/pdp "{\"drift_webhook_url\":\"$RX/drift\",\"approval_webhook_secret\":\"$secret\"}"
check_eq "drift webhook set" 200 "$AZT_STATUS"
check_eq "drift_mode defaults to alert" alert "$(jq -r .drift_mode <<<"$AZT_BODY")"
check_eq "drift_window_days defaults to 14" 14 "$(jq -r .drift_window_days <<<"$AZT_BODY")"
for s in "$S1" "$S2"; do
  admin POST /admin/v1/tenants/pdp/resources "{\"uri\":\"$s\",\"scopes\":[\"tools:read\",\"tools:write\"]}"
done
check_eq "resources created" 201 "$AZT_STATUS"
for t in search list read_file; do
  admin PUT "/admin/v1/tenants/pdp/resources/tools/$t?resource=$S1" '{"scopes":["tools:read"],"risk":"read","approval":"none"}'
done
check_eq "tools put into the catalog" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/pdp/clients "{\"client_name\":\"mcp\",\"grant_types\":[\"client_credentials\"],\"introspects\":[\"$S1\"]}"
mcp=$(jq -r .client_id <<<"$AZT_BODY"); mcps=$(jq -r .client_secret <<<"$AZT_BODY")
admin POST /admin/v1/tenants/pdp/clients "{\"client_name\":\"agent\",\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"tools:read\"],\"allowed_resources\":[\"$S1\"]}"
agent=$(jq -r .client_id <<<"$AZT_BODY"); agents=$(jq -r .client_secret <<<"$AZT_BODY")
tok=$(curl -s -u "$agent:$agents" "$A/t/pdp/oauth2/token" -d grant_type=client_credentials -d scope=tools:read --data-urlencode "resource=$S1" | jq -r .access_token)
check "the agent has a token" test -n "$tok" -a "$tok" != null

body() { # TOOL -> an evaluation request
  jq -nc --arg t "$tok" --arg tool "$1" --arg s "$S1" \
    '{subject:{type:"agent_token",id:$t},action:{name:"tools/call"},resource:{type:"mcp_tool",id:$tool,properties:{server:$s}},context:{arguments:{q:"x"}}}'
}
decide() { # URL TOOL -> sets AZT_STATUS, AZT_BODY
  http POST "$1/t/pdp/access/v1/evaluation" -u "$mcp:$mcps" -H 'Content-Type: application/json' --data-binary "$(body "$2")"
}
rows() { psql_db -c "SELECT count(*) FROM audit WHERE event = '$1' ${2:+AND $2}"; }

# ---------------------------------------------------------------- discovery
http GET "$B/.well-known/authzen-configuration/t/pdp"
check_eq "discovery answers" 200 "$AZT_STATUS"
check_eq "the PDP is the issuer" "$A/t/pdp" "$(jq -r .policy_decision_point <<<"$AZT_BODY")"
check_eq "access_evaluation_endpoint" "$A/t/pdp/access/v1/evaluation" "$(jq -r .access_evaluation_endpoint <<<"$AZT_BODY")"
http GET "$A/t/pdp/.well-known/authzen-configuration"
check_eq "discovery under the issuer" "$A/t/pdp/access/v1/evaluations" "$(jq -r .access_evaluations_endpoint <<<"$AZT_BODY")"

# ---------------------------------------------------------------- decisions, audit, drift alert once
decide "$A" search
check_eq "a catalogued tool is allowed at node A" "200 true" "$AZT_STATUS $(jq -r .decision <<<"$AZT_BODY")"
id=$(jq -r .context.id <<<"$AZT_BODY")
check_eq "the answer names its committed audit row" "tool.allowed $agent $S1 search catalog" \
  "$(psql_db -F' ' -c "SELECT event, client_id, resources[1], details->>'tool', details->>'policy' FROM audit WHERE id = '$id'")"
sha=$(printf '{"q":"x"}' | sha256sum | cut -d' ' -f1)
check_eq "the row holds the arguments' SHA-256, not the arguments" "$sha" \
  "$(psql_db -c "SELECT details->>'arguments_sha256' FROM audit WHERE id = '$id'")"
check_eq "the first use of search raised one agent.drift row" 1 "$(rows agent.drift "details->>'tool' = 'search'")"
decide "$B" search
check_eq "node B gives the same decision" "true catalog" \
  "$(jq -r .decision <<<"$AZT_BODY") $(psql_db -c "SELECT details->>'policy' FROM audit WHERE id = '$(jq -r .context.id <<<"$AZT_BODY")'")"
decide "$A" search
check_eq "a second use raises no second alert" 1 "$(rows agent.drift "details->>'tool' = 'search'")"
check_eq "the drift webhook was received once" 1 "$(rx_count search 1.5)"
f=$(rx_files search | head -n1)
check "the drift webhook is signed like the approval webhook" signature_ok "$f" "$secret"
check_eq "it goes to drift_webhook_url" /drift "$(jq -r .path "$f")"

# both nodes see a new pair at the same moment: one alert between them
pids=()
for i in 1 2 3 4; do
  decide "$A" list & pids+=($!)
  decide "$B" list & pids+=($!)
done
wait "${pids[@]}"
check_eq "a new pair decided on two nodes at once raises exactly one alert" 1 "$(rows agent.drift "details->>'tool' = 'list'")"
check_eq "... and one webhook" 1 "$(rx_count list 1.5)"
check_eq "every one of those decisions has its row" 8 "$(rows tool.allowed "details->>'tool' = 'list'")"

http GET "$A/admin/v1/tenants/pdp/clients/$agent/baseline" -H "Authorization: Bearer $(root_token)"
check_eq "the baseline lists the agent's pairs" "$S1 list,$S1 search" \
  "$(jq -r '[.baseline[] | "\(.server) \(.tool)"] | join(",")' <<<"$AZT_BODY")"
check "each pair has its first and last use" jq -e '.baseline | all(.first_used != null and .last_used != null)' <<<"$AZT_BODY"

# ---------------------------------------------------------------- deny mode
admin PATCH /admin/v1/tenants/pdp '{"drift_mode":"deny"}'
check_eq "drift_mode set to deny" "200 deny" "$AZT_STATUS $(jq -r .drift_mode <<<"$AZT_BODY")"
sleep 0.3
decide "$B" read_file
check_eq "deny mode refuses a tool outside the baseline" "false" "$(jq -r .decision <<<"$AZT_BODY")"
check_eq "... by the drift rule" drift \
  "$(psql_db -c "SELECT details->>'policy' FROM audit WHERE id = '$(jq -r .context.id <<<"$AZT_BODY")'")"
decide "$A" read_file
decide "$B" read_file
check_eq "... with one alert however often it is tried" 1 "$(rows agent.drift "details->>'tool' = 'read_file'")"
decide "$A" search
check_eq "deny mode allows a pair of the baseline" true "$(jq -r .decision <<<"$AZT_BODY")"

# ---------------------------------------------------------------- restart keeps the baseline
authz_stop a
authz_start a "$pa" AUTHZ_THREADS=2
decide "$A" search
check_eq "after a restart the baseline still allows search in deny mode" true "$(jq -r .decision <<<"$AZT_BODY")"
decide "$A" read_file
check_eq "... and still refuses read_file" false "$(jq -r .decision <<<"$AZT_BODY")"

# ---------------------------------------------------------------- revocation reaches decisions
# ---------------------------------------------------------------- a failed group commit decides nothing
# (the answer is built on the request's loop after its rows commit; a refused
# commit must leave as a 503, with no decision in it)
psql_db -q <<'SQL'
CREATE FUNCTION t_pdp_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 't_pdp: refusing tool rows'; END $$;
CREATE TRIGGER t_pdp_fail BEFORE INSERT ON audit FOR EACH ROW
  WHEN (NEW.event LIKE 'tool.%') EXECUTE FUNCTION t_pdp_fail();
SQL
allowed_before=$(rows tool.allowed)
http POST "$A/t/pdp/access/v1/evaluation" -u "$mcp:$mcps" -H 'Content-Type: application/json' \
  -D "$AZT_TMP/headers" --data-binary "$(body search)"
check_eq "a decision whose row the database refuses: 503" 503 "$AZT_STATUS"
check_match "... with Retry-After" $'[Rr]etry-[Aa]fter: [0-9]+' "$(cat "$AZT_TMP/headers")"
check_eq "... and no decision in the answer" null "$(jq -r '.decision // null' <<<"$AZT_BODY" 2>/dev/null || echo null)"
check_eq "... and no tool.allowed row" "$allowed_before" "$(rows tool.allowed)"
psql_db -q -c "DROP TRIGGER t_pdp_fail ON audit; DROP FUNCTION t_pdp_fail()"
decide "$A" search
check_eq "once the database takes rows again: allowed, with its row" "200 true $((allowed_before + 1))" \
  "$AZT_STATUS $(jq -r .decision <<<"$AZT_BODY") $(rows tool.allowed)"

decide "$B" search
check_eq "node B allows before the revocation" true "$(jq -r .decision <<<"$AZT_BODY")"
http POST "$A/t/pdp/oauth2/revoke" -u "$agent:$agents" --data-urlencode "token=$tok"
t0=$(date +%s%N)
seen=false
for _ in $(seq 1 40); do
  decide "$B" search
  if [[ $(jq -r .decision <<<"$AZT_BODY") == false ]]; then seen=true; break; fi
  sleep 0.025
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "a revocation at node A denies at node B within one second (${ms} ms)" true "$seen"
check "... within 1000 ms" test "$ms" -lt 1000
check_eq "... by the token rule" token \
  "$(psql_db -c "SELECT details->>'policy' FROM audit WHERE id = '$(jq -r .context.id <<<"$AZT_BODY")'")"

authz_stop b
authz_stop a
done_testing
