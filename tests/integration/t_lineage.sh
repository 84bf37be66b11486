#!/usr/bin/env bash
# t_lineage.sh: revocations hold until the revoked tokens' own exp, whatever
# the tenant's access_token_ttl later becomes (SPEC §5; issue 11 class 6),
# and survive a restart (the revocation set is rebuilt from the database).
# The rest of lineage is tested from outside in conformance/test/lineage.test.mjs.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start lin "$port"
B=${AZT_URL[lin]}
RES=https://mcp.example.test/

admin POST /admin/v1/tenants '{"slug":"lin","display_name":"Lineage"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin PATCH /admin/v1/tenants/lin '{"access_token_ttl":3600}'
check_eq "tokens live an hour" 200 "$AZT_STATUS"
admin POST /admin/v1/tenants/lin/resources "{\"uri\":\"$RES\",\"scopes\":[\"tools:read\"]}"
admin POST /admin/v1/tenants/lin/users '{"username":"alice","password":"a long password","scopes":["tools:read"]}'
admin POST /admin/v1/tenants/lin/clients "{\"client_name\":\"agent\",\"grant_types\":[\"client_credentials\",\"refresh_token\",\"urn:openid:params:grant-type:ciba\"],\"allowed_scopes\":[\"tools:read\",\"approvals:decide\"],\"allowed_resources\":[\"$RES\"],\"introspects\":[\"$RES\"]}"
check_eq "agent created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
T=$B/t/lin/oauth2
tok() { curl -s -u "$cid:$sec" "$T/token" "$@"; }
decider=$(tok -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)
session() { # -> "access refresh"
  local id out
  id=$(curl -s -u "$cid:$sec" "$T/bc-authorize" -d login_hint=alice -d scope=tools:read \
       --data-urlencode "resource=$RES" -d binding_message=t_lineage -d session_ttl=3600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$B/t/lin/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d '{"decision":"approve","approver":"alice"}'
  out=$(tok -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id")
  echo "$(jq -r .access_token <<<"$out") $(jq -r .refresh_token <<<"$out")"
}
claim() { # TOKEN NAME
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p" 2>/dev/null | jq -r ".$2"
}
active() { curl -s -u "$cid:$sec" "$T/introspect" --data-urlencode "token=$1" | jq -r .active; }

read -r at1 rt1 <<<"$(session)"
read -r at2 _ <<<"$(session)"
exp1=$(claim "$at1" exp); exp2=$(claim "$at2" exp)
check "the session tokens live about an hour" test $((exp1 - $(date +%s))) -gt 3000

# lower the tenant's token lifetime, then revoke a whole family (a rotated
# refresh token presented again: reuse) and one access token issued before
admin PATCH /admin/v1/tenants/lin '{"access_token_ttl":5}'
check_eq "access_token_ttl lowered to 5 s" 200 "$AZT_STATUS"
check_eq "the refresh token rotates" 200 "$(curl -s -o /dev/null -w '%{http_code}' -u "$cid:$sec" "$T/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1")"
check_eq "presenting it again is reuse" 400 "$(curl -s -o /dev/null -w '%{http_code}' -u "$cid:$sec" "$T/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1")"
curl -s -o /dev/null -u "$cid:$sec" "$T/revoke" --data-urlencode "token=$at2"
check_eq "the family's access token is inactive" false "$(active "$at1")"
check_eq "the revoked access token is inactive" false "$(active "$at2")"

gid=$(claim "$at1" jti); gid=${gid%%.*}
jti2=$(claim "$at2" jti)
grant_until=$(psql_db -c "SELECT extract(epoch from expires_at)::bigint FROM revocations WHERE kind = 'grant' AND value = '$gid'")
jti_until=$(psql_db -c "SELECT extract(epoch from expires_at)::bigint FROM revocations WHERE kind = 'jti' AND value = '$jti2'")
check "the family's revocation is kept at least until its token's exp ($exp1)" test "${grant_until:-0}" -ge "$exp1"
check "the token's revocation is kept at least until its exp ($exp2)" test "${jti_until:-0}" -ge "$exp2"

# the revocation set is rebuilt from the database at start
authz_stop lin
authz_start lin2 "$port"
check_eq "after a restart the family's token is still inactive" false "$(active "$at1")"
check_eq "after a restart the revoked token is still inactive" false "$(active "$at2")"
read -r at3 _ <<<"$(session)"
check_eq "a new session's token (ttl 5 s now) is active" true "$(active "$at3")"
check "and lives 5 s" test $(( $(claim "$at3" exp) - $(claim "$at3" iat) )) -le 5

done_testing
