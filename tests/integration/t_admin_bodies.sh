#!/usr/bin/env bash
# t_admin_bodies.sh: the admin API's request bodies from an attacker's (and a
# careless admin's) side, through real HTTP against authzd and PostgreSQL
# (SPEC §7, §9): on every call that takes a body, an unknown member (the
# "scope" typo on users POST among them), a read-only member, a wrong type, a
# missing required member, a duplicate (409), oversized values, bad tenant
# slugs, SQL metacharacters; on every call that takes none, a body. Each is
# answered 4xx problem+json whose detail names the member, never with a
# database message, and a follow-up read (the API's GETs and the rows
# themselves) proves nothing changed. Valid calls, {} on body-less calls and
# metacharacters in values that are valid keep working; `authzctl tenant
# create` refuses a bad slug in its own words too.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

jget() { jq -r "$1" <<<"$AZT_BODY" 2>/dev/null || echo "(not JSON)"; }
status_is() {
  if [[ $AZT_STATUS == "$2" ]]; then
    pass "$1"
  else
    fail "$1" "expected HTTP $2, got $AZT_STATUS" "body: ${AZT_BODY:0:1000}"
  fi
}

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start main "$port" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
base=${AZT_URL[main]}
T=/admin/v1/tenants/acme

hdrs=$AZT_TMP/headers
# header NAME: its value in the last answer ("" when it has none)
header() { { grep -i "^$1:" "$hdrs" || true; } | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
# call METHOD PATH [BODY]: the admin API with the root token; a BODY (even
# an empty one) is sent as application/json
call() {
  local args=(-D "$hdrs" -H "Authorization: Bearer $(root_token)")
  if (( $# >= 3 )); then
    args+=(-H 'Content-Type: application/json' --data-binary "$3")
  fi
  http "$1" "$base$2" "${args[@]}"
}
long() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# ---------------------------------------------------------------- the world

call POST /admin/v1/tenants '{"slug":"acme","display_name":"Acme"}'
status_is "tenant acme created" 201
call POST "$T/resources" '{"uri":"https://mcp.acme.example/","scopes":["read","write"]}'
status_is "resource created" 201
call POST "$T/clients" '{"client_name":"agent","grant_types":["client_credentials"],"allowed_scopes":["read"]}'
status_is "client created" 201
CID=$(jget .client_id)
call POST "$T/users" '{"username":"alice","password":"alice-password","scopes":["read"]}'
status_is "alice created" 201
call POST "$T/users" '{"username":"bob","password":"bob-password"}'
status_is "bob created" 201
policy='{"issuer":"https://issuer.example","jwks_uri":"https://issuer.example/jwks","audience":"https://authz.example/t/acme","use":["subject"],"user_claim":"sub"}'
call PUT "$T/trust-policies/idp" "$policy"
status_is "trust policy created" 201

# What an outsider can see of acme (the API's answers) and every row the
# admin API can write, including the audit trail and the signing keys.
state() {
  local p
  for p in "$T" "$T/clients/$CID" "$T/users/alice" "$T/users/bob" "$T/resources" "$T/trust-policies"; do
    call GET "$p"
    printf '%s %s\n' "$AZT_STATUS" "$AZT_BODY"
  done
  psql_db -c "SELECT string_agg(x, ' ' ORDER BY x) FROM (
    SELECT 'tenants:' || md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS x FROM tenants t
    UNION ALL SELECT 'keys:' || md5(coalesce(string_agg(k::text, '|' ORDER BY k.id), '')) FROM signing_keys k
    UNION ALL SELECT 'clients:' || md5(coalesce(string_agg(c::text, '|' ORDER BY c.id), '')) FROM clients c
    UNION ALL SELECT 'users:' || md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM users u
    UNION ALL SELECT 'resources:' || md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM resources r
    UNION ALL SELECT 'trust:' || md5(coalesce(string_agg(p::text, '|' ORDER BY p.name), '')) FROM trust_policies p
    UNION ALL SELECT 'audit:' || count(*) FROM audit) s"
}

# The state after the last refusal: the state before the next one, unless a
# call in between changed something (those calls reset it with changed).
STATE=""
changed() { STATE=""; }

# refused NAME STATUS METHOD PATH BODY WORD: answered STATUS as problem+json
# whose detail contains WORD (the member), with no database words, and
# nothing changed
refused() {
  local name=$1 status=$2 method=$3 path=$4 body=$5 word=$6 before after detail ct
  before=${STATE:-$(state)}
  call "$method" "$path" "$body"
  ct=$(header content-type)
  detail=$(jget .detail)
  if [[ $AZT_STATUS == "$status" && $ct == application/problem+json* && $(jget .status) == "$status" ]]; then
    pass "$name: $status problem+json"
  else
    fail "$name: $status problem+json" "got HTTP $AZT_STATUS ($ct)" "body: ${AZT_BODY:0:800}"
  fi
  check_contains "$name: the detail names $word" "$word" "$detail"
  if grep -qiE 'violat|constraint|sqlstate|syntax error|relation |duplicate key|ERROR:' <<<"$AZT_BODY"; then
    fail "$name: no database message in the answer" "body: ${AZT_BODY:0:800}"
  else
    pass "$name: no database message in the answer"
  fi
  after=$(state)
  STATE=$after
  check_eq "$name: nothing changed" "$before" "$after"
}

# ---------------------------------------------------------------- POST tenants

refused "tenants POST, unknown member" 400 POST /admin/v1/tenants \
  '{"slug":"new1","display_name":"New","colour":"red"}' '"colour"'
refused "tenants POST, near miss" 400 POST /admin/v1/tenants \
  '{"slug":"new1","displayname":"New"}' 'did you mean "display_name"'
refused "tenants POST, read-only id is unknown here" 400 POST /admin/v1/tenants \
  '{"slug":"new1","id":"00000000-0000-0000-0000-000000000000"}' '"id"'
refused "tenants POST, slug a number" 400 POST /admin/v1/tenants '{"slug":5}' slug
refused "tenants POST, display_name an object" 400 POST /admin/v1/tenants \
  '{"slug":"new1","display_name":{"a":1}}' display_name
refused "tenants POST, slug missing" 400 POST /admin/v1/tenants '{"display_name":"x"}' slug
refused "tenants POST, slug null" 400 POST /admin/v1/tenants '{"slug":null}' slug
refused "tenants POST, duplicate slug" 409 POST /admin/v1/tenants '{"slug":"acme"}' slug
for s in Acme -acme "$(long a 64)" "ünï" "" "a_b" "a.b" " acme" "acme%00" \
         "acme'; DROP TABLE tenants; --" 'acme"' 'acme\\'; do
  refused "tenants POST, bad slug '${s:0:20}'" 400 POST /admin/v1/tenants \
    "$(jq -nc --arg s "$s" '{slug:$s}')" slug
done
refused "tenants POST, slug with a NUL escape" 400 POST /admin/v1/tenants '{"slug":"acme\u0000x"}' JSON
refused "tenants POST, display_name 201 characters" 400 POST /admin/v1/tenants \
  "{\"slug\":\"new1\",\"display_name\":\"$(long x 201)\"}" display_name
refused "tenants POST, display_name empty" 400 POST /admin/v1/tenants \
  '{"slug":"new1","display_name":""}' display_name
refused "tenants POST, display_name with a control character" 400 POST /admin/v1/tenants \
  '{"slug":"new1","display_name":"a\u0007b"}' display_name
slug63=$(long z 63)
call POST /admin/v1/tenants "{\"slug\":\"$slug63\"}"
status_is "tenants POST, a 63-character slug is valid" 201
changed
name200=$(for _ in $(seq 200); do printf 'é'; done)
call POST /admin/v1/tenants "$(jq -nc --arg d "$name200" '{slug:"accents",display_name:$d}')"
status_is "tenants POST, 200 two-byte characters are a valid display_name" 201
check_eq "the display_name is stored as given" "$name200" "$(jget .display_name)"
changed

# ---------------------------------------------------------------- PATCH tenants/{t}

refused "tenants PATCH, unknown member" 400 PATCH "$T" '{"colour":"red"}' '"colour"'
refused "tenants PATCH, near miss" 400 PATCH "$T" '{"acces_token_ttl":60}' 'did you mean "access_token_ttl"'
refused "tenants PATCH, a valid setting with an unknown member" 400 PATCH "$T" \
  '{"access_token_ttl":60,"colour":"red"}' '"colour"'
refused "tenants PATCH, read-only slug" 400 PATCH "$T" '{"slug":"renamed"}' slug
refused "tenants PATCH, read-only issuer" 400 PATCH "$T" '{"issuer":"https://evil.example"}' issuer
refused "tenants PATCH, ttl a string" 400 PATCH "$T" '{"access_token_ttl":"60"}' access_token_ttl
refused "tenants PATCH, ttl a fraction" 400 PATCH "$T" '{"access_token_ttl":1.5}' access_token_ttl
refused "tenants PATCH, ttl too small" 400 PATCH "$T" '{"access_token_ttl":4}' access_token_ttl
refused "tenants PATCH, max_session_ttl too large" 400 PATCH "$T" '{"max_session_ttl":2592001}' max_session_ttl
refused "tenants PATCH, policy a boolean" 400 PATCH "$T" '{"registration_policy":true}' registration_policy
refused "tenants PATCH, policy with SQL" 400 PATCH "$T" \
  "{\"registration_policy\":\"open'; UPDATE tenants SET slug = 'x'; --\"}" registration_policy
refused "tenants PATCH, display_name 201 characters" 400 PATCH "$T" \
  "{\"display_name\":\"$(long y 201)\"}" display_name
refused "tenants PATCH, short webhook secret" 400 PATCH "$T" '{"approval_webhook_secret":"short"}' \
  approval_webhook_secret
refused "tenants PATCH, webhook on plain http" 400 PATCH "$T" \
  '{"approval_webhook_url":"http://hooks.example/x"}' approval_webhook_url
refused "tenants PATCH, unknown signing_alg" 400 PATCH "$T" '{"signing_alg":"none"}' signing_alg

# ---------------------------------------------------------------- POST resources

refused "resources POST, the scope typo" 400 POST "$T/resources" \
  '{"uri":"https://new.acme.example/","scope":"read"}' 'did you mean "scopes"'
refused "resources POST, url for uri" 400 POST "$T/resources" \
  '{"url":"https://new.acme.example/"}' 'did you mean "uri"'
refused "resources POST, uri missing" 400 POST "$T/resources" '{"scopes":["read"]}' uri
refused "resources POST, uri a number" 400 POST "$T/resources" '{"uri":5}' uri
refused "resources POST, scopes a string" 400 POST "$T/resources" \
  '{"uri":"https://new.acme.example/","scopes":"read write"}' scopes
refused "resources POST, duplicate uri" 409 POST "$T/resources" '{"uri":"https://mcp.acme.example/"}' uri
refused "resources POST, uri of 2001 characters" 400 POST "$T/resources" \
  "{\"uri\":\"https://x.example/$(long p 1983)\"}" uri
refused "resources POST, 201 scopes" 400 POST "$T/resources" \
  "$(jq -nc '{uri:"https://new.acme.example/", scopes:[range(201)|"s\(.)"]}')" scopes
refused "resources POST, uri with SQL" 400 POST "$T/resources" \
  "{\"uri\":\"https://x.example/'; DROP TABLE resources; --\"}" uri

# ---------------------------------------------------------------- POST clients, PATCH clients/{id}

refused "clients POST, the scope typo" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"scope":"read"}' 'did you mean "allowed_scopes"'
refused "clients POST, RFC 7591 metadata authz does not keep" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"logo_uri":"https://x.example/l.png"}' '"logo_uri"'
refused "clients POST, read-only client_id" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"client_id":"chosen"}' client_id
refused "clients POST, may_impersonate a string" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"may_impersonate":"yes"}' may_impersonate
refused "clients POST, grant_types a string" 400 POST "$T/clients" \
  '{"grant_types":"client_credentials"}' grant_types
refused "clients POST, client_name of 201 characters" 400 POST "$T/clients" \
  "{\"grant_types\":[\"client_credentials\"],\"client_name\":\"$(long n 201)\"}" client_name
refused "clients PATCH, near miss" 400 PATCH "$T/clients/$CID" '{"allowed_scope":["read"]}' \
  'did you mean "allowed_scopes"'
refused "clients PATCH, a valid change with an unknown member" 400 PATCH "$T/clients/$CID" \
  '{"client_name":"renamed","colour":"red"}' '"colour"'
refused "clients PATCH, read-only client_secret" 400 PATCH "$T/clients/$CID" '{"client_secret":"mine"}' \
  client_secret
refused "clients PATCH, read-only dynamic" 400 PATCH "$T/clients/$CID" '{"dynamic":true}' dynamic
refused "clients PATCH, allowed_scopes a string" 400 PATCH "$T/clients/$CID" '{"allowed_scopes":"read"}' \
  allowed_scopes
refused "clients PATCH, jwks a string" 400 PATCH "$T/clients/$CID" '{"jwks":"keys"}' jwks
# the client metadata check the admin API shares with dynamic registration
# (policy/client_metadata.c): what the admin API took before and should not
refused "clients POST, jwks holding a private key" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}}' \
  'invalid_client_metadata: jwks'
refused "clients POST, a symmetric key in jwks" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}' \
  'invalid_client_metadata: jwks'
refused "clients POST, a repeated grant type" 400 POST "$T/clients" \
  '{"grant_types":["client_credentials","client_credentials"]}' 'grant_types[1] repeats'
refused "clients POST, the code grant without the code response type" 400 POST "$T/clients" \
  '{"redirect_uris":["https://app.example/cb"],"response_types":[]}' response_types
refused "clients POST, 51 redirect_uris" 400 POST "$T/clients" \
  "$(jq -nc '{redirect_uris:[range(51)|"https://app.example/cb\(.)"]}')" 'invalid_redirect_uri: redirect_uris'
refused "clients POST, a redirect_uris entry that is no string" 400 POST "$T/clients" \
  '{"redirect_uris":[42]}' redirect_uris
refused "clients PATCH, a public client with client_credentials" 400 PATCH "$T/clients/$CID" \
  '{"token_endpoint_auth_method":"none"}' 'grant_types of a public client'
refused "clients PATCH, allowed_resources of no resource of the tenant" 400 PATCH "$T/clients/$CID" \
  '{"allowed_resources":["https://other.example/"]}' 'not a resource of this tenant'

# the route table: a path it knows answers 405 with the methods of its rows
call PUT "$T/clients" '{}'
status_is "clients PUT is 405" 405
check_eq "clients: Allow lists the table's methods" "GET, HEAD, POST" "$(header allow)"
call POST "$T/users/alice" '{}'
status_is "users/{username} POST is 405" 405
check_eq "users/{username}: Allow" "GET, HEAD, PATCH, DELETE" "$(header allow)"
call DELETE "$T" ''
status_is "tenant DELETE is 405" 405
check_eq "tenant: Allow" "GET, HEAD, PATCH" "$(header allow)"
call GET "$T/keys/rotate" ''
check_eq "keys/rotate: Allow" "POST" "$(header allow)"
call GET "$T/no-such-collection" ''
status_is "an unknown path under the tenant is 404" 404
call GET "$T/sessions/ses_x" ''
status_is "sessions/{sid} without revoke is 404" 404

sqlname="x'); DELETE FROM clients; --"
n_before=$(psql_db -c "SELECT count(*) FROM clients")
call POST "$T/clients" "$(jq -nc --arg n "$sqlname" '{grant_types:["client_credentials"],client_name:$n}')"
status_is "clients POST, SQL metacharacters in a valid client_name are just a name" 201
check_eq "the name is stored as given" "$sqlname" "$(jget .client_name)"
check_eq "one client more, none less" "$((n_before + 1))" "$(psql_db -c "SELECT count(*) FROM clients")"
changed

# ---------------------------------------------------------------- POST users, PATCH users/{username}

refused "users POST, the scope typo" 400 POST "$T/users" \
  '{"username":"dave","password":"dave-password","scope":"read"}' 'unknown member "scope" (did you mean "scopes"?)'
call GET "$T/users/dave"
status_is "users POST, the scope typo created nobody" 404
refused "users POST, unknown member" 400 POST "$T/users" \
  '{"username":"dave","password":"dave-password","role":"admin"}' '"role"'
refused "users POST, read-only id" 400 POST "$T/users" \
  '{"username":"dave","password":"dave-password","id":"00000000-0000-0000-0000-000000000001"}' 'id is read-only'
refused "users POST, password a number" 400 POST "$T/users" '{"username":"dave","password":12345678}' password
refused "users POST, username an array" 400 POST "$T/users" \
  '{"username":["dave"],"password":"dave-password"}' username
refused "users POST, scopes a string" 400 POST "$T/users" \
  '{"username":"dave","password":"dave-password","scopes":"read"}' scopes
refused "users POST, password missing" 400 POST "$T/users" '{"username":"dave"}' password
refused "users POST, username missing" 400 POST "$T/users" '{"password":"dave-password"}' username
refused "users POST, duplicate username" 409 POST "$T/users" '{"username":"alice","password":"other-password"}' \
  username
refused "users POST, username of 201 characters" 400 POST "$T/users" \
  "{\"username\":\"$(long u 201)\",\"password\":\"dave-password\"}" username
refused "users POST, username with a slash" 400 POST "$T/users" \
  '{"username":"a/b","password":"dave-password"}' username
refused "users POST, username with a newline" 400 POST "$T/users" \
  '{"username":"a\nb","password":"dave-password"}' username
refused "users POST, password of 7 characters" 400 POST "$T/users" '{"username":"dave","password":"1234567"}' password
refused "users POST, password of 1025 characters" 400 POST "$T/users" \
  "{\"username\":\"dave\",\"password\":\"$(long w 1025)\"}" password
refused "users POST, a scope with a space" 400 POST "$T/users" \
  '{"username":"dave","password":"dave-password","scopes":["read write"]}' scopes
refused "users PATCH, the scope typo" 400 PATCH "$T/users/alice" '{"scope":"read write"}' 'did you mean "scopes"'
refused "users PATCH, read-only created_at" 400 PATCH "$T/users/alice" '{"created_at":"2020-01-01T00:00:00Z"}' \
  created_at
refused "users PATCH, renaming onto another person" 409 PATCH "$T/users/alice" '{"username":"bob"}' username
refused "users PATCH, password too short" 400 PATCH "$T/users/alice" '{"password":"short"}' password
sqluser="o'brien\"; DROP TABLE users; --"
call POST "$T/users" "$(jq -nc --arg u "$sqluser" '{username:$u,password:"obrien-password"}')"
status_is "users POST, SQL metacharacters in a valid username are just a name" 201
call GET "$T/users/$(jq -rn --arg u "$sqluser" '$u|@uri')"
status_is "the person is found by that username" 200
check_eq "the username is stored as given" "$sqluser" "$(jget .username)"
changed
call PATCH "$T/users/bob" '{"scopes":["read"]}'
status_is "users PATCH, a valid change still works" 200
check_eq "the change is stored" '["read"]' "$(jget '.scopes|tojson')"
changed

# ---------------------------------------------------------------- PUT trust-policies/{name}

refused "trust PUT, near miss" 400 PUT "$T/trust-policies/idp" "$(jq -c '.audiences = ["x"]' <<<"$policy")" \
  'did you mean "audience"'
refused "trust PUT, issuer a number" 400 PUT "$T/trust-policies/idp" "$(jq -c '.issuer = 5' <<<"$policy")" issuer
refused "trust PUT, audience missing" 400 PUT "$T/trust-policies/idp" "$(jq -c 'del(.audience)' <<<"$policy")" \
  audience
refused "trust PUT, issuer of 1001 characters" 400 PUT "$T/trust-policies/idp" \
  "$(jq -c --arg i "https://$(long i 993)" '.issuer = $i' <<<"$policy")" issuer

# ---------------------------------------------------------------- calls that take no body

refused "keys/rotate with a member" 400 POST "$T/keys/rotate" '{"alg":"RS256"}' '"alg"'
refused "keys/rotate with a non-JSON body" 400 POST "$T/keys/rotate" 'rotate please' 'no body'
refused "GET tenant with a body" 400 GET "$T" '{"x":1}' '"x"'
refused "DELETE client with a body" 400 DELETE "$T/clients/$CID" '{"force":true}' '"force"'
refused "DELETE user with a body" 400 DELETE "$T/users/bob" '{"force":true}' '"force"'
refused "DELETE resource with a body" 400 DELETE "$T/resources?uri=https%3A%2F%2Fmcp.acme.example%2F" \
  '{"force":true}' '"force"'
refused "DELETE trust policy with a body" 400 DELETE "$T/trust-policies/idp" '{"force":true}' '"force"'
refused "DELETE consents with a body" 400 DELETE "$T/consents?client=$CID" '{"all":true}' '"all"'
refused "sessions revoke with a body" 400 POST "$T/sessions/no-such-sid/revoke" '{"reason":"x"}' '"reason"'
refused "GET audit with a body" 400 GET "$T/audit" '[]' 'no body'
call GET "$T" '{}'
status_is "GET tenant with {} is a GET" 200
call POST "$T/keys/rotate" ' { } '
status_is "keys/rotate with {} rotates" 201
changed

# ---------------------------------------------------------------- no 5xx, no surprise SQL errors

log=$(authz_log main)
check_eq "no admin call answered 5xx" "" \
  "$(jq -Rrc 'fromjson? | select(.msg == "request" and .status >= 500) | "\(.method) \(.path) \(.status)"' "$log")"
check_eq "no statement failed unexpectedly" 0 "$(grep -c 'database statement failed' "$log" || true)"

# ---------------------------------------------------------------- authzctl

out=$(authzctl tenant create Bad-Slug 2>&1) && rc=0 || rc=$?
check "authzctl tenant create refuses a bad slug" test "$rc" -ne 0
check_contains "authzctl names the slug rule" "slug must match [a-z0-9][a-z0-9-]{0,62}" "$out"
if grep -qiE 'violat|constraint|ERROR:' <<<"$out"; then
  fail "authzctl shows no PostgreSQL message" "$out"
else
  pass "authzctl shows no PostgreSQL message"
fi
out=$(authzctl tenant create good-slug "" 2>&1) && rc=0 || rc=$?
check "authzctl tenant create refuses an empty display name" test "$rc" -ne 0
check_contains "authzctl names the display name rule" "display name must be 1 to 200" "$out"
check_eq "neither authzctl refusal created a tenant" 0 \
  "$(psql_db -c "SELECT count(*) FROM tenants WHERE slug IN ('Bad-Slug', 'good-slug')")"

authz_stop main
done_testing
