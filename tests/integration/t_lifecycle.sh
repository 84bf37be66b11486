#!/usr/bin/env bash
# t_lifecycle.sh: agent lifecycle (SPEC §13), on two authzd sharing one
# database. Offboarding a person who owns two agents with live sessions,
# consents, refresh and exchanged tokens: within one second every token is
# inactive on the SECOND authzd, refresh and exchange fail, the agents get
# invalid_client, the person cannot sign in, and the audit trail says why.
# The same for one agent. Secret rotation with overlap; leak reports of each
# credential kind; recognisable credentials checked offline; last_used_at.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
pa=$(free_port)
authz_start a "$pa" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
pb=$(free_port)
# one public_url for both, as behind a load balancer: tokens name one issuer
authz_start b "$pb" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1 AUTHZ_PUBLIC_URL="${AZT_URL[a]}"
A=${AZT_URL[a]}; B=${AZT_URL[b]}
RES=https://mcp.example.test/
TA=$A/t/lc/oauth2; TB=$B/t/lc/oauth2
XG=urn:ietf:params:oauth:grant-type:token-exchange
AT=urn:ietf:params:oauth:token-type:access_token
sql() { psql_db -c "$1"; }

admin POST /admin/v1/tenants '{"slug":"lc","display_name":"Lifecycle"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants '{"slug":"other","display_name":"Other"}'
admin POST /admin/v1/tenants/lc/resources "{\"uri\":\"$RES\",\"scopes\":[\"tools:read\"]}"
admin POST /admin/v1/tenants/lc/users '{"username":"alice","password":"alice-secret-pw","scopes":["tools:read"]}'
ALICE=$(jq -r .id <<<"$AZT_BODY")
check_eq "a person is active when created" active "$(jq -r .status <<<"$AZT_BODY")"
admin POST /admin/v1/tenants/lc/users '{"username":"bob","password":"bob-secret-pw-1","scopes":["tools:read"]}'
BOB=$(jq -r .id <<<"$AZT_BODY")

GRANTS='["client_credentials","refresh_token","urn:openid:params:grant-type:ciba","urn:ietf:params:oauth:grant-type:token-exchange","authorization_code"]'
agent() { # NAME OWNER -> "id secret"
  admin POST /admin/v1/tenants/lc/clients "{\"client_name\":\"$1\",\"owner\":$2,\"grant_types\":$GRANTS,\"redirect_uris\":[\"https://app.example.test/cb\"],\"allowed_scopes\":[\"tools:read\",\"approvals:decide\"],\"allowed_resources\":[\"$RES\"]}"
  echo "$(jq -r .client_id <<<"$AZT_BODY") $(jq -r .client_secret <<<"$AZT_BODY") $(jq -r .owner <<<"$AZT_BODY")"
}
read -r a1 s1 o1 <<<"$(agent agent-1 "\"$ALICE\"")"
read -r a2 s2 _ <<<"$(agent agent-2 null)"
read -r a3 s3 _ <<<"$(agent agent-3 "\"$BOB\"")"
check_eq "an agent is created with its owner" "$ALICE" "$o1"
admin PATCH "/admin/v1/tenants/lc/clients/$a2" "{\"owner\":\"$ALICE\"}"
check_eq "PATCH sets the owner" "$ALICE active" "$(jq -r '.owner + " " + .status' <<<"$AZT_BODY")"
admin PATCH "/admin/v1/tenants/lc/clients/$a2" '{"owner":"00000000-0000-0000-0000-000000000000"}'
check_eq "an owner who is not a person of the tenant: 400" 400 "$AZT_STATUS"
admin POST /admin/v1/tenants/other/users '{"username":"carol","password":"carol-secret-pw","scopes":[]}'
CAROL=$(jq -r .id <<<"$AZT_BODY")
admin PATCH "/admin/v1/tenants/lc/clients/$a2" "{\"owner\":\"$CAROL\"}"
check_eq "a person of another tenant as owner: 400" 400 "$AZT_STATUS"
admin PATCH "/admin/v1/tenants/lc/clients/$a2" '{"status":"paused"}'
check_eq "status other than active/disabled: 400 problem" "400 application/problem+json" \
  "$AZT_STATUS $(curl -s -o /dev/null -w '%{content_type}' -X PATCH -H "Authorization: Bearer $(root_token)" \
  -H 'Content-Type: application/json' --data '{"status":"paused"}' "$A/admin/v1/tenants/lc/clients/$a2")"
check_eq "... and nothing changed" "$ALICE active" "$(sql "SELECT owner || ' ' || status FROM clients WHERE client_id = '$a2'")"

# a resource server that introspects on node B
admin POST /admin/v1/tenants/lc/clients "{\"client_name\":\"rs\",\"grant_types\":[\"client_credentials\"],\"introspects\":[\"$RES\"]}"
rs=$(jq -r .client_id <<<"$AZT_BODY"); rss=$(jq -r .client_secret <<<"$AZT_BODY")
active_b() { curl -s -u "$rs:$rss" "$TB/introspect" --data-urlencode "token=$1" | jq -r .active; }
admin POST /admin/v1/tenants/lc/clients '{"client_name":"approver","grant_types":["client_credentials"],"allowed_scopes":["approvals:decide"]}'
dcid=$(jq -r .client_id <<<"$AZT_BODY"); dsec=$(jq -r .client_secret <<<"$AZT_BODY")
decider=$(curl -s -u "$dcid:$dsec" "$TA/token" -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)

session() { # ID SECRET [PERSON] -> "access refresh"
  local id out
  id=$(curl -s -u "$1:$2" "$TA/bc-authorize" -d "login_hint=${3:-alice}" -d scope=tools:read \
       --data-urlencode "resource=$RES" -d binding_message=t_lifecycle -d session_ttl=3600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$A/t/lc/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d "{\"decision\":\"approve\",\"approver\":\"${3:-alice}\"}"
  out=$(curl -s -u "$1:$2" "$TA/token" -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id")
  echo "$(jq -r .access_token <<<"$out") $(jq -r .refresh_token <<<"$out")"
}
exchange() { # ID SECRET SUBJECT NODE_URL -> status body
  local actor
  actor=$(curl -s -u "$1:$2" "$4/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
  http POST "$4/token" -u "$1:$2" -d grant_type=$XG --data-urlencode "subject_token=$3" -d subject_token_type=$AT \
    --data-urlencode "actor_token=$actor" -d actor_token_type=$AT --data-urlencode "resource=$RES"
}

# a consent through the browser: alice signs in and approves agent-1
JAR=$AZT_TMP/alice.jar; : > "$JAR"
VER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
CH=$(printf '%s' "$VER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
AUTHQ=(-G --data-urlencode "client_id=$a1" --data-urlencode redirect_uri=https://app.example.test/cb
       --data-urlencode response_type=code --data-urlencode "code_challenge=$CH" --data-urlencode code_challenge_method=S256
       --data-urlencode scope=tools:read --data-urlencode "resource=$RES" --data-urlencode state=s1)
page=$(curl -s -b "$JAR" -c "$JAR" "${AUTHQ[@]}" "$TA/authorize")
csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
rt=$(sed -n 's/.*name="return_to" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1 | sed 's/&amp;/\&/g')
signin() { curl -s -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" "$A/t/lc/login" --data-urlencode "username=$1" \
  --data-urlencode "password=$2" --data-urlencode "csrf_token=$csrf" --data-urlencode "return_to=$rt"; }
check_eq "alice signs in" 303 "$(signin alice alice-secret-pw)"
page=$(curl -s -b "$JAR" -c "$JAR" "${AUTHQ[@]}" "$TA/authorize")
csrf2=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
loc=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$JAR" -c "$JAR" "$TA/authorize" \
  --data-urlencode "client_id=$a1" --data-urlencode redirect_uri=https://app.example.test/cb \
  --data-urlencode response_type=code --data-urlencode "code_challenge=$CH" --data-urlencode code_challenge_method=S256 \
  --data-urlencode scope=tools:read --data-urlencode "resource=$RES" --data-urlencode state=s1 \
  --data-urlencode decision=approve --data-urlencode "csrf_token=$csrf2")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
ctok=$(curl -s -u "$a1:$s1" "$TA/token" -d grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode redirect_uri=https://app.example.test/cb --data-urlencode "code_verifier=$VER" --data-urlencode "resource=$RES")
cat1=$(jq -r .access_token <<<"$ctok"); crt1=$(jq -r .refresh_token <<<"$ctok")
check_eq "a consent of alice to agent-1 is stored" 1 "$(sql "SELECT count(*) FROM consents WHERE user_id = '$ALICE' AND client_id = '$a1'")"
check_match "the code flow gives a recognisable refresh token" '^azrt_[0-9A-Za-z]{46}$' "$crt1"

read -r sat1 srt1 <<<"$(session "$a1" "$s1")"
read -r sat2 srt2 <<<"$(session "$a2" "$s2")"
exchange "$a2" "$s2" "$sat2" "$TA"
check_eq "agent-2 exchanges alice's session token" 200 "$AZT_STATUS"
xat2=$(jq -r .access_token <<<"$AZT_BODY")
cc1=$(curl -s -u "$a1:$s1" "$TA/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
ALL=("$cat1" "$sat1" "$sat2" "$xat2" "$cc1")
n_active=0
for t in "${ALL[@]}"; do [[ $(active_b "$t") == true ]] && n_active=$((n_active + 1)); done
check_eq "before: all five tokens are active on node B" 5 "$n_active"

# ---- offboarding alice (on node A), checked on node B within 1 s
admin PATCH /admin/v1/tenants/lc/users/alice '{"status":"disabled"}'
t0=$(date +%s%N)   # the change is committed: node B has one second
check_eq "alice is disabled" "200 disabled" "$AZT_STATUS $(jq -r .status <<<"$AZT_BODY")"
all_dead=no
# one curl for all five introspections, so that the time measured is node B's
n_active_b() {
  local args=() t
  for t in "$@"; do args+=(--next -s -u "$rs:$rss" "$TB/introspect" --data-urlencode "token=$t"); done
  curl "${args[@]:1}" | grep -o '"active":true' | wc -l
}
while (( $(date +%s%N) - t0 < 3000000000 )); do
  if (( $(n_active_b "${ALL[@]}") == 0 )); then all_dead=yes; break; fi
done
took=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "every token of alice and her agents is inactive on node B" yes "$all_dead"
check "... within one second (${took} ms)" test "$took" -le 1000
for pair in "$a1:$s1:$srt1" "$a1:$s1:$crt1" "$a2:$s2:$srt2"; do
  IFS=: read -r id sec rtok <<<"$pair"
  http POST "$TB/token" -u "$id:$sec" -d grant_type=refresh_token --data-urlencode "refresh_token=$rtok"
  check_eq "refresh by an offboarded agent on node B: invalid_client" "401 invalid_client" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
done
exchange "$a3" "$s3" "$sat2" "$TB"
check_eq "exchanging alice's session token (another agent, node B): refused" 400 "$AZT_STATUS"
http POST "$TB/token" -u "$a1:$s1" -d grant_type=client_credentials
check_eq "agent-1 gets invalid_client on node B" "401 invalid_client" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
http POST "$TB/token" -u "$a2:$s2" -d grant_type=client_credentials
check_eq "agent-2 gets invalid_client on node B" "401 invalid_client" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
http POST "$TB/bc-authorize" -u "$a3:$s3" -d login_hint=alice -d scope=tools:read --data-urlencode "resource=$RES" -d binding_message=x
check_eq "a session request for a disabled person is refused" 400 "$AZT_STATUS"
JAR=$AZT_TMP/alice2.jar; : > "$JAR"
page=$(curl -s -b "$JAR" -c "$JAR" "$A/t/lc/login")
csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1); rt=/approvals
check_eq "the person cannot sign in (the form again)" 400 "$(signin alice alice-secret-pw)"
check_eq "no consent of alice is left" 0 "$(sql "SELECT count(*) FROM consents WHERE user_id = '$ALICE'")"
check_eq "no live grant of alice is left" 0 "$(sql "SELECT count(*) FROM grants WHERE user_id = '$ALICE' AND revoked_at IS NULL")"
check_eq "both agents are disabled" "disabled disabled" "$(sql "SELECT string_agg(status, ' ') FROM clients WHERE owner = '$ALICE'")"
admin GET "/admin/v1/tenants/lc/audit?event=person.disabled"
check_eq "audit: person.disabled names alice" "$ALICE" "$(jq -r '.events[0].subject' <<<"$AZT_BODY")"
admin GET "/admin/v1/tenants/lc/audit?event=client.disabled"
check_eq "audit: client.disabled for both agents, reason owner_offboarded" \
  "owner_offboarded owner_offboarded" "$(jq -r '[.events[] | .details.reason] | join(" ")' <<<"$AZT_BODY")"
check_eq "audit: the agents named" "$(printf '%s\n' "$a1" "$a2" | sort | paste -sd' ')" \
  "$(jq -r '.events[].client_id' <<<"$AZT_BODY" | sort | paste -sd' ')"
admin GET "/admin/v1/tenants/lc/audit?event=admin.changed"
check_contains "audit: admin.changed for the PATCH" '"user.update"' "$AZT_BODY"

# ---- one agent: bob's agent-3
read -r bat _ <<<"$(session "$a3" "$s3" bob)"
cc3=$(curl -s -u "$a3:$s3" "$TA/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
check_eq "agent-3's tokens are active on node B" "true true" "$(active_b "$bat") $(active_b "$cc3")"
admin PATCH "/admin/v1/tenants/lc/clients/$a3" '{"status":"disabled"}'
t0=$(date +%s%N)
check_eq "agent-3 disabled" "200 disabled" "$AZT_STATUS $(jq -r .status <<<"$AZT_BODY")"
while (( $(n_active_b "$bat" "$cc3") > 0 )) && (( $(date +%s%N) - t0 < 3000000000 )); do :; done
took=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "agent-3's tokens are inactive on node B" "false false" "$(active_b "$bat") $(active_b "$cc3")"
check "... within one second (${took} ms)" test "$took" -le 1000
http POST "$TB/token" -u "$a3:$s3" -d grant_type=client_credentials
check_eq "agent-3 gets invalid_client" "401 invalid_client" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
check_eq "bob is still active" active "$(sql "SELECT status FROM users WHERE id = '$BOB'")"
admin GET "/admin/v1/tenants/lc/audit?event=client.disabled&client=$a3"
check_eq "audit: client.disabled for agent-3 with reason disabled" disabled "$(jq -r '.events[0].details.reason' <<<"$AZT_BODY")"
admin PATCH "/admin/v1/tenants/lc/clients/$a3" '{"status":"active"}'
http POST "$TB/token" -u "$a3:$s3" -d grant_type=client_credentials
check_eq "enabled again, agent-3 authenticates" 200 "$AZT_STATUS"
check_eq "... and its old tokens stay inactive" false "$(active_b "$cc3")"

# ---- secret rotation with overlap
admin POST "/admin/v1/tenants/lc/clients/$a3/secrets" '{"previous_expires_in":3}'
check_eq "rotation: 201" 201 "$AZT_STATUS"
n3=$(jq -r .client_secret <<<"$AZT_BODY")
check_match "the new secret is recognisable" '^azcs_[0-9A-Za-z]{46}$' "$n3"
cc() { curl -s -o /dev/null -w '%{http_code}' -u "$a3:$1" "$TB/token" -d grant_type=client_credentials; }
check_eq "during the overlap both secrets work (node B)" "200 200" "$(cc "$s3") $(cc "$n3")"
admin GET "/admin/v1/tenants/lc/clients/$a3/secrets"
check_eq "GET lists both secrets" 2 "$(jq '.secrets | length' <<<"$AZT_BODY")"
check_not "GET never shows a secret" grep -q "$n3" <<<"$AZT_BODY"
check_not "... nor a hash" grep -q 'hash' <<<"$AZT_BODY"
sleep 3.2
check_eq "after the overlap only the new secret works" "401 200" "$(cc "$s3") $(cc "$n3")"
admin POST "/admin/v1/tenants/lc/clients/$a3/secrets" '{"previous_expires_in":2592001}'
check_eq "previous_expires_in above 30 days: 400" 400 "$AZT_STATUS"
admin POST "/admin/v1/tenants/lc/clients/$a3/secrets" '{"previous_expires_in":"10"}'
check_eq "previous_expires_in as a string: 400" 400 "$AZT_STATUS"
admin POST "/admin/v1/tenants/lc/clients/$a3/secrets" '{"overlap":10}'
check_eq "an unknown member: 400" 400 "$AZT_STATUS"
admin POST "/admin/v1/tenants/other/clients/$a3/secrets" '{}'
check_eq "the client through another tenant: 404" 404 "$AZT_STATUS"
check_eq "... nothing changed" 2 "$(sql "SELECT count(*) FROM client_secrets WHERE client_id = '$a3'")"
admin POST "/admin/v1/tenants/lc/clients/$a3/secrets" '{}'
n3b=$(jq -r .client_secret <<<"$AZT_BODY"); n3b_id=$(jq -r .id <<<"$AZT_BODY")
check_eq "without previous_expires_in the previous secret stops at once" "401 200" "$(cc "$n3") $(cc "$n3b")"
admin DELETE "/admin/v1/tenants/lc/clients/$a3/secrets/$n3b_id"
check_eq "DELETE a secret: 204" 204 "$AZT_STATUS"
check_eq "... it no longer works" 401 "$(cc "$n3b")"
admin DELETE "/admin/v1/tenants/lc/clients/$a3/secrets/cs_nope"
check_eq "DELETE an unknown secret: 404" 404 "$AZT_STATUS"

# ---- last_used_at: written at drain (and once a minute)
authz_stop b
check_match "the client's last_used_at is recorded" '^20' "$(sql "SELECT last_used_at FROM clients WHERE client_id = '$a3'")"
check_eq "each secret's last_used_at is recorded" 2 "$(sql "SELECT count(*) FROM client_secrets WHERE client_id = '$a3' AND last_used_at IS NOT NULL")"
authz_start b "$pb" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1 AUTHZ_PUBLIC_URL="$A"

# ---- leak reports
admin POST /admin/v1/tenants/lc/users '{"username":"dave","password":"dave-secret-pw","scopes":["tools:read"]}'
read -r a4 s4 _ <<<"$(agent agent-4 null)"
read -r a5 s5 _ <<<"$(agent agent-5 null)"
# (alice is disabled: a session for dave)
id=$(curl -s -u "$a4:$s4" "$TA/bc-authorize" -d login_hint=dave -d scope=tools:read --data-urlencode "resource=$RES" \
  -d binding_message=leak -d session_ttl=3600 | jq -r .auth_req_id)
curl -s -o /dev/null -XPOST "$A/t/lc/approvals/$id/decision" -H "Authorization: Bearer $decider" -d '{"decision":"approve","approver":"dave"}'
out=$(curl -s -u "$a4:$s4" "$TA/token" -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id")
lat=$(jq -r .access_token <<<"$out"); lrt=$(jq -r .refresh_token <<<"$out")
cc5=$(curl -s -u "$a5:$s5" "$TA/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
ROOT2=$(authzctl root-token)
check_match "a root token is recognisable" '^azroot_[0-9A-Za-z]{46}$' "$ROOT2"
check_eq "the scanner's check passes on real credentials" \
  "client_secret valid,refresh_token valid,root_token valid" \
  "$(scripts/credcheck.py "$s5" "$lrt" "$ROOT2" | paste -sd,)"
alt=${s5:0:20}X${s5:21}; [[ $alt == "$s5" ]] && alt=${s5:0:20}Y${s5:21}
check_not "... and fails on an altered one" scripts/credcheck.py "$alt"
# a tenant administrator of "other" reports lc's secret: unknown, nothing changes
admin POST /admin/v1/tenants/other/clients '{"client_name":"oadm","grant_types":["client_credentials"],"allowed_scopes":["admin","leaks:report"]}'
oadm=$(jq -r .client_id <<<"$AZT_BODY"); oadms=$(jq -r .client_secret <<<"$AZT_BODY")
otok=$(curl -s -u "$oadm:$oadms" "$A/t/other/oauth2/token" -d grant_type=client_credentials -d scope=admin | jq -r .access_token)
leak() { http POST "$A/admin/v1/leaks" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "$2"; }
leak "$otok" "[{\"token\":\"$s5\",\"url\":\"https://paste.example/1\",\"source\":\"scanner\"}]"
check_eq "another tenant's admin: the secret is unknown" '200 [{"token_type":"client_secret","label":"unknown"}]' "$AZT_STATUS $AZT_BODY"
check_eq "... and it still works" 200 "$(curl -s -o /dev/null -w '%{http_code}' -u "$a5:$s5" "$TB/token" -d grant_type=client_credentials)"
leak "$otok" "[{\"token\":\"$ROOT2\"}]"
check_eq "a tenant admin cannot revoke a root token" '[{"token_type":"root_token","label":"unknown"}]' "$AZT_BODY"
# a client of lc with leaks:report reports for lc
admin POST /admin/v1/tenants/lc/clients '{"client_name":"scanner","grant_types":["client_credentials"],"allowed_scopes":["leaks:report"]}'
scn=$(jq -r .client_id <<<"$AZT_BODY"); scns=$(jq -r .client_secret <<<"$AZT_BODY")
stok=$(curl -s -u "$scn:$scns" "$TA/token" -d grant_type=client_credentials -d scope=leaks:report | jq -r .access_token)
leak "$stok" "[{\"token\":\"$s5\",\"url\":\"https://paste.example/1\",\"source\":\"scanner\"},{\"token\":\"$lrt\",\"url\":\"https://paste.example/2\",\"source\":\"scanner\"},{\"token\":\"not-a-credential\",\"url\":\"https://x.example/\",\"source\":\"scanner\"}]"
check_eq "leaks:report client: secret and refresh token revoked, the unknown string unknown" \
  '200 [{"token_type":"client_secret","label":"revoked"},{"token_type":"refresh_token","label":"revoked"},{"token_type":"unknown","label":"unknown"}]' \
  "$AZT_STATUS $AZT_BODY"
check_eq "the leaked secret no longer works (node B)" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "$a5:$s5" "$TB/token" -d grant_type=client_credentials)"
sleep 0.3
check_eq "the client's tokens issued with it are inactive" false "$(active_b "$cc5")"
check_eq "the leaked refresh token's family is revoked: access token inactive" false "$(active_b "$lat")"
http POST "$TB/token" -u "$a4:$s4" -d grant_type=refresh_token --data-urlencode "refresh_token=$lrt"
check_eq "... and the refresh token is refused" "400 invalid_grant" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
leak "$stok" "[{\"token\":\"$ROOT2\"}]"
check_eq "a leaks:report client cannot revoke a root token" '[{"token_type":"root_token","label":"unknown"}]' "$AZT_BODY"
check_eq "... it still works" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ROOT2" "$A/admin/v1/tenants/lc")"
admin POST /admin/v1/leaks "[{\"token\":\"$ROOT2\",\"url\":\"https://gist.example/r\",\"source\":\"person\"}]"
check_eq "the operator revokes a leaked root token" '[{"token_type":"root_token","label":"revoked"}]' "$AZT_BODY"
check_eq "... it is refused by the admin API" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ROOT2" "$A/admin/v1/tenants/lc")"
read -r a6 s6 _ <<<"$(agent agent-6 null)"
cc6=$(curl -s -u "$a6:$s6" "$TA/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
admin POST /admin/v1/leaks "[{\"token\":\"$cc6\"}]"
check_eq "a leaked access token is revoked" '[{"token_type":"access_token","label":"revoked"}]' "$AZT_BODY"
sleep 0.2
check_eq "... inactive on node B" false "$(active_b "$cc6")"
for bad in '{}' '[]' '[1]' '[{"token":""}]' '[{"token":"x","extra":1}]' 'nope'; do
  admin POST /admin/v1/leaks "$bad"
  check_eq "leak report $bad: 400 problem" "400 about:blank" "$AZT_STATUS $(jq -r .type <<<"$AZT_BODY" 2>/dev/null || echo '?')"
done
http POST "$A/admin/v1/leaks" -H "Authorization: Bearer $cc6" -H 'Content-Type: application/json' --data-binary '[{"token":"x"}]'
check_eq "a revoked token cannot report" 401 "$AZT_STATUS"
admin GET "/admin/v1/tenants/lc/audit?event=credential.leaked&limit=100"
check_eq "audit: credential.leaked with the url and source" "https://paste.example/2 scanner refresh_token" \
  "$(jq -r '.events[] | select(.details.url == "https://paste.example/2") | .details | "\(.url) \(.source) \(.token_type)"' <<<"$AZT_BODY")"
check_not "audit: never the credential" grep -q "$lrt" <<<"$AZT_BODY"

# ---- authzctl: list / show / disable / audit tail, every change audited
help=$(authzctl --help)
for c in "tenants list" "clients list SLUG" "users disable SLUG USERNAME" "audit tail SLUG"; do
  check_contains "authzctl --help covers '$c'" "$c" "$help"
done
check_match "authzctl tenants list" $'(^|\n)lc\t[0-9a-f-]{36}\tactive\tLifecycle' "$(authzctl tenants list)"
check_contains "authzctl tenants show" '"slug": "lc"' "$(authzctl tenants show lc)"
check_not "authzctl tenants show: no webhook secret" grep -q approval_webhook_secret <<<"$(authzctl tenants show lc)"
check_match "authzctl clients list: agent-1 disabled, its owner" "$a1"$'\tdisabled\t'"$ALICE" "$(authzctl clients list lc)"
check_match "authzctl clients list: an agent without owner shows '-'" "$a6"$'\tactive\t-\t' "$(authzctl clients list lc)"
check_contains "authzctl clients show" "\"client_id\": \"$a6\"" "$(authzctl clients show lc "$a6")"
check_not "authzctl clients show: no secret hash" grep -q secret_hash <<<"$(authzctl clients show lc "$a6")"
check_match "authzctl users list" "$BOB"$'\tbob\tactive' "$(authzctl users list lc)"
check_contains "authzctl users show: the agents bob owns" "\"$a3\"" "$(authzctl users show lc bob)"
cc6b=$(curl -s -u "$a6:$s6" "$TA/token" -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
check_eq "authzctl clients disable" "client $a6 disabled" "$(authzctl clients disable lc "$a6" "retired at a shell")"
sleep 0.5
check_eq "... its token is inactive on node B" false "$(active_b "$cc6b")"
check_eq "... it gets invalid_client" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "$a6:$s6" "$TB/token" -d grant_type=client_credentials)"
check_eq "authzctl clients disable of an unknown client: exit 1" 1 "$(authzctl clients disable lc nope >/dev/null 2>&1; echo $?)"
check_eq "authzctl users disable bob" "user bob disabled" "$(authzctl users disable lc bob)"
check_eq "... bob's agent is disabled with him" disabled "$(sql "SELECT status FROM clients WHERE client_id = '$a3'")"
tail=$(authzctl audit tail lc -n 5)
check_eq "authzctl audit tail -n 5: five JSON lines" 5 "$(jq -s length <<<"$tail")"
check_contains "audit tail: the agent disabled with its owner" '"owner_offboarded"' "$tail"
admin GET "/admin/v1/tenants/lc/audit?event=admin.changed&limit=5"
check_eq "changes made with authzctl are audited with source authzctl" "authzctl authzctl" \
  "$(jq -r '[.events[] | select(.details.by == "authzctl") | .source] | .[0:2] | join(" ")' <<<"$AZT_BODY")"
admin GET "/admin/v1/tenants/lc/audit?event=client.disabled&client=$a6"
check_eq "... the client.disabled row carries the reason" "retired at a shell authzctl" \
  "$(jq -r '.events[0] | "\(.reason) \(.details.by)"' <<<"$AZT_BODY")"
check_eq "authzctl tenants disable" "tenant other disabled" "$(authzctl tenants disable other)"
check_eq "... the tenant is gone for the API" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/.well-known/oauth-authorization-server/t/other")"
check_eq "authzctl tenants enable" "tenant other enabled" "$(authzctl tenants enable other)"
check_eq "authzctl with a wrong verb: usage, exit 2" 2 "$(authzctl clients explode lc >/dev/null 2>&1; echo $?)"

done_testing
