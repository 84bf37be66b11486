#!/usr/bin/env bash
# t_resilience.sh: losing the database (503 + Retry-After during the outage,
# full service again by itself within 5 s of its return, every token a client
# received has its durable audit row) and two authzd processes on one
# database (revocation, cache invalidation and key rotation seen by the other
# within one second; SPEC §5, §9; issue 2 item 3, issue 6 items 4-5).
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# this test stops its database: it needs its own, not the shared one
unset AZT_SHARED_PG_URL
pg_start_private
export AUTHZ_DATABASE_URL=$AZT_PG_URL
pg_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$AZT_PG_DIR/database_url")
authzctl migrate >/dev/null

pa=$(free_port); pb=$(free_port)
# two nodes of one deployment share the public URL (the issuer)
authz_start a "$pa" AUTHZ_THREADS=2
authz_start b "$pb" AUTHZ_THREADS=2 AUTHZ_PUBLIC_URL="http://127.0.0.1:$pa"
A=http://127.0.0.1:$pa
B=http://127.0.0.1:$pb

admin POST /admin/v1/tenants '{"slug":"res","display_name":"Resilience"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/res/resources '{"uri":"https://api.example.test/","scopes":["read","write"]}'
admin POST /admin/v1/tenants/res/clients '{"client_name":"agent","grant_types":["client_credentials"],"allowed_scopes":["read","write"],"allowed_resources":["https://api.example.test/"],"introspects":["https://api.example.test/"]}'
check_eq "client created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")

token_at() { # URL -> sets AZT_STATUS / AZT_BODY
  http POST "$1/t/res/oauth2/token" -u "$cid:$sec" -d grant_type=client_credentials \
    -d resource=https://api.example.test/ -D "$AZT_TMP/headers"
}
introspect_at() { # URL TOKEN -> prints active
  curl -s -u "$cid:$sec" "$1/t/res/oauth2/introspect" --data-urlencode "token=$2" | jq -r .active
}

# ---------------------------------------------------------------- two nodes

token_at "$A"
check_eq "node A issues a token" 200 "$AZT_STATUS"
tok=$(jq -r .access_token <<<"$AZT_BODY")
check_eq "node B sees node A's token as active" true "$(introspect_at "$B" "$tok")"
http POST "$A/t/res/oauth2/revoke" -u "$cid:$sec" --data-urlencode "token=$tok"
check_eq "node A revokes it" 200 "$AZT_STATUS"
t0=$(date +%s%N)
seen=false
for _ in $(seq 1 20); do
  if [[ $(introspect_at "$B" "$tok") == false ]]; then seen=true; break; fi
  sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "node B sees the revocation within one second (${ms} ms)" true "$seen"

# cache invalidation: a setting changed through A applies at B within 1 s
token_at "$B" # warm B's cache
admin PATCH /admin/v1/tenants/res '{"access_token_ttl":77}'
check_eq "tenant setting changed through node A" 200 "$AZT_STATUS"
sleep 1
token_at "$B"
check_eq "node B issues with the new access_token_ttl within one second" 77 "$(jq -r .expires_in <<<"$AZT_BODY")"

# key rotation through A: B signs with the new key and publishes both
old_kid=$(curl -s "$B/t/res/oauth2/jwks" | jq -r '.keys[0].kid')
admin POST /admin/v1/tenants/res/keys/rotate
check_eq "key rotated through node A" 201 "$AZT_STATUS"
new_kid=$(jq -r .kid <<<"$AZT_BODY")
sleep 1
kids=$(curl -s "$B/t/res/oauth2/jwks" | jq -r '[.keys[].kid] | sort | join(",")')
check_eq "node B publishes the new and the previous key" "$(printf '%s\n' "$old_kid" "$new_kid" | sort | paste -sd,)" "$kids"
token_at "$B"
hdr=$(jq -r .access_token <<<"$AZT_BODY" | cut -d. -f1 | tr '_-' '/+' | { read -r h; while (( ${#h} % 4 )); do h+='='; done; base64 -d <<<"$h"; } || true)
check_contains "node B signs with the new key" "$new_kid" "$hdr"

# consent withdrawal and session revocation through A, seen at B within 1 s
admin POST /admin/v1/tenants/res/users '{"username":"pat","password":"pat password","scopes":["read","write"]}'
pat=$(jq -r .id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/res/clients '{"client_name":"session agent","grant_types":["urn:openid:params:grant-type:ciba","urn:ietf:params:oauth:grant-type:token-exchange","client_credentials"],"allowed_scopes":["read","write","approvals:decide"],"allowed_resources":["https://api.example.test/"]}'
xid=$(jq -r .client_id <<<"$AZT_BODY"); xsec=$(jq -r .client_secret <<<"$AZT_BODY")
xtok() { curl -s -u "$xid:$xsec" "$1/t/res/oauth2/token" "${@:2}"; }
decider=$(xtok "$A" -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)
approved_session() { # -> prints "access_token sid"
  local id
  id=$(curl -s -u "$xid:$xsec" "$A/t/res/oauth2/bc-authorize" -d login_hint=pat -d scope=read \
       -d resource=https://api.example.test/ -d binding_message=task -d session_ttl=600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$A/t/res/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d '{"decision":"approve","approver":"pat"}'
  xtok "$A" -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id" | jq -r .access_token
}
exchange_at() { # URL SUBJECT -> prints the HTTP status
  local actor
  actor=$(xtok "$1" -d grant_type=client_credentials -d resource=https://api.example.test/ | jq -r .access_token)
  curl -s -o /dev/null -w '%{http_code}' -u "$xid:$xsec" "$1/t/res/oauth2/token" \
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange --data-urlencode "subject_token=$2" \
    -d subject_token_type=urn:ietf:params:oauth:token-type:access_token --data-urlencode "actor_token=$actor" \
    -d actor_token_type=urn:ietf:params:oauth:token-type:access_token -d resource=https://api.example.test/
}
within_a_second() { # CMD... : true when CMD succeeds within 1 s
  local t0=$(date +%s%N)
  while (( ($(date +%s%N) - t0) < 1000000000 )); do "$@" && return 0; sleep 0.05; done
  return 1
}
s_inactive_at_b() { [[ $(curl -s -u "$xid:$xsec" "$B/t/res/oauth2/introspect" --data-urlencode "token=$1" | jq -r .active) == false ]]; }

pt=$(approved_session)
check_eq "node B exchanges a token of a session approved through A" 200 "$(exchange_at "$B" "$pt")"
claims() { # JWT -> its claims as JSON
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p"
}
sid=$(claims "$pt" | jq -r .sid)
admin POST "/admin/v1/tenants/res/sessions/$sid/revoke"
check_eq "session revoked through node A" 200 "$AZT_STATUS"
check "node B sees the session's token inactive within one second" within_a_second s_inactive_at_b "$pt"

# a right taken away through A (the agent's can_act_for entry for pat): B
# ends what was exchanged under it and refuses new exchanges within 1 s
admin PATCH "/admin/v1/tenants/res/clients/$xid" '{"can_act_for":["pat"]}'
check_eq "can_act_for pat set through node A" 200 "$AZT_STATUS"
sleep 1   # the client change reaches B
actor=$(xtok "$B" -d grant_type=client_credentials -d resource=https://api.example.test/ | jq -r .access_token)
xt=$(curl -s -u "$xid:$xsec" "$B/t/res/oauth2/token" \
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange --data-urlencode "subject_token=$(approved_session)" \
    -d subject_token_type=urn:ietf:params:oauth:token-type:access_token --data-urlencode "actor_token=$actor" \
    -d actor_token_type=urn:ietf:params:oauth:token-type:access_token -d resource=https://api.example.test/ | jq -r .access_token)
check_match "node B exchanges under can_act_for" '^ey' "$xt"
admin PATCH "/admin/v1/tenants/res/clients/$xid" '{"can_act_for":[]}'
check_eq "can_act_for emptied through node A" 200 "$AZT_STATUS"
check "node B sees the token exchanged under can_act_for inactive within one second" within_a_second s_inactive_at_b "$xt"

# ---------------------------------------------------------------- outage

rows_before=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'token.issued' AND outcome = 'success'")
issued=0
for _ in 1 2 3; do token_at "$A"; [[ $AZT_STATUS == 200 ]] && issued=$((issued + 1)); done
"$AUTHZ_ROOT/scripts/pg.sh" stop "$AZT_PG_DIR" >/dev/null
token_at "$A"
check_eq "database down: the token endpoint answers 503" 503 "$AZT_STATUS"
check_match "database down: 503 carries Retry-After" '^[Rr]etry-[Aa]fter: [0-9]+' "$(grep -i '^retry-after' "$AZT_TMP/headers" | tr -d '\r')"
check_eq "database down: the error is temporarily_unavailable" temporarily_unavailable "$(jq -r .error <<<"$AZT_BODY")"
admin GET /admin/v1/tenants/res
check_eq "database down: the admin API answers 503" 503 "$AZT_STATUS"
http GET "$A/readyz"
check_eq "database down: /readyz answers 503" 503 "$AZT_STATUS"
http GET "$A/healthz"
check_eq "database down: /healthz still answers 200" 200 "$AZT_STATUS"
for _ in $(seq 1 20); do token_at "$A"; [[ $AZT_STATUS == 200 ]] && issued=$((issued + 1)); [[ $AZT_STATUS == 200 || $AZT_STATUS == 503 ]] || break; done
check_eq "database down: only 503s, never a token without its audit row" 3 "$issued"

"$AUTHZ_ROOT/scripts/pg.sh" start "$AZT_PG_DIR" "$pg_port" >/dev/null
t0=$(date +%s%N)
back=false
for _ in $(seq 1 100); do
  token_at "$A"
  if [[ $AZT_STATUS == 200 ]]; then back=true; issued=$((issued + 1)); break; fi
  sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "database back: tokens again by themselves" true "$back"
check "database back: full service within 5 s (${ms} ms)" test "$ms" -le 5000
token_at "$B"
check_eq "database back: the second node serves too" 200 "$AZT_STATUS"
[[ $AZT_STATUS == 200 ]] && issued=$((issued + 1))
http GET "$A/readyz"
check_eq "database back: /readyz answers 200" 200 "$AZT_STATUS"

# every token a client received during the outage section has its audit row
rows=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'token.issued' AND outcome = 'success'")
check_eq "every token handed out has its token.issued audit row" "$issued" "$((rows - rows_before))"

# ---------------------------------------------------------------- outage under load

# wrk drives client_credentials at node A while the database goes away for
# two seconds and comes back: every answer is 200 or 503, and every 200 has
# its audit row.
if command -v wrk >/dev/null; then
  cc_lua=$AUTHZ_ROOT/bench/wrk/cc_status.lua
  before=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'token.issued' AND outcome = 'success'")
  wrk -t2 -c16 -d8s -s "$cc_lua" "$A" -- path=/t/res/oauth2/token client_id="$cid" \
    client_secret="$sec" scope=read resource=https://api.example.test/ > "$AZT_TMP/wrk.txt" 2>&1 &
  wrk_pid=$!
  sleep 2
  "$AUTHZ_ROOT/scripts/pg.sh" stop "$AZT_PG_DIR" >/dev/null
  sleep 2
  "$AUTHZ_ROOT/scripts/pg.sh" start "$AZT_PG_DIR" "$pg_port" >/dev/null
  wait "$wrk_pid" || true
  result=$(grep '^RESULT' "$AZT_TMP/wrk.txt" || true)
  requests=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$result")
  bad=$(sed -nE 's/.* bad=([0-9]+).*/\1/p' <<<"$result")
  socket_errors=$(sed -nE 's/.* socket_errors=([0-9]+).*/\1/p' <<<"$result")
  others=$(grep -E '^  status [0-9]+:' "$AZT_TMP/wrk.txt" | grep -vE 'status (200|503):' || true)
  check "under load, the outage answered only 200 and 503 (bad=${bad:-?} of ${requests:-?})" test -z "$others" -a -n "$requests"
  check_eq "under load, no connection failed" 0 "${socket_errors:-x}"
  check "the outage was seen (some 503s)" test "${bad:-0}" -gt 0
  sleep 1
  after=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'token.issued' AND outcome = 'success'")
  ok=$(( ${requests:-0} - ${bad:-0} ))
  check "every 200 under load has its audit row ($((after - before)) rows for $ok tokens)" test $((after - before)) -ge "$ok"
  token_at "$A"
  check_eq "after the outage under load, tokens again" 200 "$AZT_STATUS"
fi
# no half-written grant: every code grant has its code, every session grant
# its request
check_eq "no half-written grant exists" 0 "$(psql_db -c "SELECT count(*) FROM grants g WHERE
  (g.kind = 'authorization_code' AND NOT EXISTS (SELECT 1 FROM auth_codes c WHERE c.grant_id = g.id))
  OR (g.kind = 'ciba' AND NOT EXISTS (SELECT 1 FROM ciba_requests q WHERE q.grant_id = g.id))")"

authz_stop a
authz_stop b
done_testing
