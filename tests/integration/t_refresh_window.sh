#!/usr/bin/env bash
# t_refresh_window.sh: refresh under concurrency (SPEC §11, issue 13), the
# tenant setting refresh_retry_window:
# - with the window at 0 (the default) a rotated token presented again
#   revokes its family, exactly as before;
# - inside the window, the same client presenting a rotated token again gets
#   the same successor (same refresh token, a fresh access token), audited
#   token.refreshed with details.retry true; so do several concurrent
#   refreshes of one token (one rotation, every answer the same successor);
# - another client presenting it gets invalid_grant and changes nothing;
# - after the window, reuse revokes the family (successor included);
# - a successor that was itself rotated is not handed out again: reuse;
# - the admin API refuses windows outside 0..60 and non-integers.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start rw "$port" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
B=${AZT_URL[rw]}
RES=https://mcp.example.test/

admin POST /admin/v1/tenants '{"slug":"rw","display_name":"Retry window"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/rw/resources "{\"uri\":\"$RES\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
admin POST /admin/v1/tenants/rw/users '{"username":"alice","password":"a long password","scopes":["tools:read","tools:call"]}'
check_eq "person created" 201 "$AZT_STATUS"
mkclient() {
  admin POST /admin/v1/tenants/rw/clients "{\"client_name\":\"$1\",\"grant_types\":[\"client_credentials\",\"refresh_token\",\"urn:openid:params:grant-type:ciba\"],\"allowed_scopes\":[\"tools:read\",\"tools:call\",\"approvals:decide\"],\"allowed_resources\":[\"$RES\"]}"
}
mkclient agent
check_eq "agent client created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
mkclient other
cid2=$(jq -r .client_id <<<"$AZT_BODY"); sec2=$(jq -r .client_secret <<<"$AZT_BODY")
T=$B/t/rw/oauth2

tok() { curl -s -u "$cid:$sec" "$T/token" "$@"; }
decider=$(tok -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)

# A refresh token of a fresh family: an approved CIBA session for alice.
family() {
  local id out
  id=$(curl -s -u "$cid:$sec" "$T/bc-authorize" -d login_hint=alice -d "scope=tools:read tools:call" \
       --data-urlencode "resource=$RES" -d "binding_message=t_refresh_window" -d session_ttl=3600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$B/t/rw/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d '{"decision":"approve","approver":"alice"}'
  out=$(tok -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id")
  jq -r .refresh_token <<<"$out"
}
refresh() { # TOKEN [user:secret] -> sets AZT_STATUS / AZT_BODY
  http POST "$T/token" -u "${2:-$cid:$sec}" -d grant_type=refresh_token --data-urlencode "refresh_token=$1"
}
window() { admin PATCH /admin/v1/tenants/rw "{\"refresh_retry_window\":$1}"; }
rows() { psql_db -c "$1"; }
jti_of() {
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p" | jq -r .jti
}

# ---------------------------------------------------------------- the admin API
for bad in -1 61 '"5"' 1.5 null true; do
  window "$bad"
  check_eq "refresh_retry_window $bad is refused with 400" 400 "$AZT_STATUS"
done
check_eq "nothing was stored by the refusals" 0 "$(rows "SELECT refresh_retry_window FROM tenants WHERE slug = 'rw'")"
admin GET /admin/v1/tenants/rw
check_eq "the tenant shows its window (0 by default)" 0 "$(jq -r .refresh_retry_window <<<"$AZT_BODY")"

# ---------------------------------------------------------------- window 0: strict
rt=$(family)
check_match "a CIBA session gave a refresh token" '^azrt_' "$rt"
refresh "$rt"
check_eq "first refresh answers 200" 200 "$AZT_STATUS"
refresh "$rt"
check_eq "with the window at 0, reuse is invalid_grant" 400 "$AZT_STATUS"
check_eq "... and it revoked the family (reuse detection as before)" 1 \
  "$(rows "SELECT count(*) FROM audit WHERE event = 'refresh.reuse_detected'")"

# ---------------------------------------------------------------- inside the window
window 5
check_eq "refresh_retry_window 5 is accepted" 200 "$AZT_STATUS"
check_eq "PATCH answers the new window" 5 "$(jq -r .refresh_retry_window <<<"$AZT_BODY")"
rt=$(family)
refresh "$rt"
check_eq "refresh answers 200" 200 "$AZT_STATUS"
succ=$(jq -r .refresh_token <<<"$AZT_BODY")
at1=$(jq -r .access_token <<<"$AZT_BODY")
check_eq "the successor is kept sealed beside the old token, never in clear" 0 \
  "$(rows "SELECT count(*) FROM refresh_successors WHERE successor_sealed LIKE '%$succ%'")"
check_eq "one successor row for the rotation" 1 "$(rows "SELECT count(*) FROM refresh_successors")"
refresh "$rt"
check_eq "the same token again inside the window answers 200" 200 "$AZT_STATUS"
check_eq "... with the same successor" "$succ" "$(jq -r .refresh_token <<<"$AZT_BODY")"
at2=$(jq -r .access_token <<<"$AZT_BODY")
check_not "... and a fresh access token" test "$at1" = "$at2"
jti2=$(jti_of "$at2")
check_eq "... audited token.refreshed with details.retry true" true \
  "$(rows "SELECT details->>'retry' FROM audit WHERE event = 'token.refreshed' AND details->>'jti' = '$jti2'")"
check_eq "no reuse was detected" 1 "$(rows "SELECT count(*) FROM audit WHERE event = 'refresh.reuse_detected'")"
check_eq "the family has one current token" 1 \
  "$(rows "SELECT count(*) FROM refresh_tokens WHERE grant_id = '${jti2%%.*}' AND rotated_at IS NULL AND revoked_at IS NULL")"

# another client presenting the rotated token: not its token
refresh "$rt" "$cid2:$sec2"
check_eq "another client presenting it gets 400" 400 "$AZT_STATUS"
check_eq "... invalid_grant" invalid_grant "$(jq -r .error <<<"$AZT_BODY")"
check_eq "... and the family is intact" 1 \
  "$(rows "SELECT count(*) FROM refresh_tokens WHERE grant_id = '${jti2%%.*}' AND rotated_at IS NULL AND revoked_at IS NULL")"

# the successor itself rotates; the old token then is reuse, not a retry
refresh "$succ"
check_eq "the successor refreshes" 200 "$AZT_STATUS"
succ2=$(jq -r .refresh_token <<<"$AZT_BODY")
refresh "$rt"
check_eq "the first token, whose successor was rotated, is refused" 400 "$AZT_STATUS"
check_eq "... as reuse (the family is revoked)" 2 "$(rows "SELECT count(*) FROM audit WHERE event = 'refresh.reuse_detected'")"
refresh "$succ2"
check_eq "... and the newest token is dead too" 400 "$AZT_STATUS"

# ---------------------------------------------------------------- concurrent refreshes
rt=$(family)
n=6
pids=()
for i in $(seq $n); do
  curl -s -u "$cid:$sec" "$T/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt" \
    -o "$AZT_TMP/c$i.json" -w '%{http_code}\n' > "$AZT_TMP/c$i.code" &
  pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$AZT_TMP"/c*.code | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
check_eq "$n concurrent refreshes of one token inside the window all answer 200" "200x$n " "$codes"
check_eq "... all with the same successor" 1 \
  "$(cat "$AZT_TMP"/c*.json | jq -r .refresh_token | sort -u | wc -l)"
check_eq "... one rotation: one current token in the family" 1 \
  "$(rows "SELECT count(*) FROM refresh_tokens t JOIN refresh_tokens o ON o.grant_id = t.grant_id WHERE o.token_hash IN (SELECT token_hash FROM refresh_successors) AND t.rotated_at IS NULL AND t.revoked_at IS NULL")"
check_eq "... no reuse detected" 2 "$(rows "SELECT count(*) FROM audit WHERE event = 'refresh.reuse_detected'")"
check_eq "... $((n - 1)) retries audited (one more than before)" "$n" \
  "$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed' AND details->>'retry' = 'true'")"
csucc=$(jq -r .refresh_token "$AZT_TMP/c1.json")

# ---------------------------------------------------------------- after the window
window 1
rt=$(family)
refresh "$rt"
check_eq "refresh with a 1 s window" 200 "$AZT_STATUS"
s1=$(jq -r .refresh_token <<<"$AZT_BODY")
sleep 1.5
refresh "$rt"
check_eq "after the window the same token is refused" 400 "$AZT_STATUS"
check_eq "... invalid_grant" invalid_grant "$(jq -r .error <<<"$AZT_BODY")"
check_eq "... as reuse" 3 "$(rows "SELECT count(*) FROM audit WHERE event = 'refresh.reuse_detected'")"
refresh "$s1"
check_eq "... which revoked the successor" 400 "$AZT_STATUS"

# window back to 0: the concurrent family's successor still works, its old
# token is reuse at once
window 0
refresh "$csucc"
check_eq "a successor handed out to concurrent refreshes works" 200 "$AZT_STATUS"
check_eq "no refresh answered 5xx" 0 "$(grep -c '" 5[0-9][0-9] ' "$(authz_log rw)" || true)"

done_testing
