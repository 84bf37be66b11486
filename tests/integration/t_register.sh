#!/usr/bin/env bash
# t_register.sh: RFC 7591 dynamic client registration (SPEC §3) through real
# HTTP: the tenant's registration_policy (closed / open / token), public and
# confidential clients, what is stored (dynamic, no admin-only fields, the
# secret only hashed), invalid_redirect_uri / invalid_client_metadata, and no
# client row after any refusal.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

jget() { jq -r "$1" <<<"$AZT_BODY" 2>/dev/null || echo "(not JSON)"; }
# status_is NAME EXPECTED: AZT_STATUS is EXPECTED (the body is shown if not)
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
authz_start main "$port"
base=${AZT_URL[main]}

admin POST /admin/v1/tenants '{"slug":"reg","display_name":"Registration"}'
status_is "tenant reg created" 201
admin POST /admin/v1/tenants '{"slug":"other","display_name":"Other"}'
status_is "tenant other created" 201
issuer=$base/t/reg
reg_url=$issuer/oauth2/register

set_policy() {
  admin PATCH /admin/v1/tenants/reg "{\"registration_policy\":\"$1\"}"
  status_is "PATCH registration_policy=$1" 200
}

n_clients() {
  psql_db -c "SELECT count(*) FROM clients c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'reg'"
}

hdrs=$AZT_TMP/headers
# register BODY [curl args...]: POST a JSON body to the registration endpoint
register() {
  local body=$1; shift
  http POST "$reg_url" -D "$hdrs" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
header() { grep -i "^$1:" "$hdrs" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
# refused NAME STATUS ERROR BODY [curl args...]: the request is refused with
# STATUS and error ERROR, and no client row appears
refused() {
  local name=$1 status=$2 err=$3 body=$4; shift 4
  local before after
  before=$(n_clients)
  register "$body" "$@"
  check_eq "$name: HTTP $status" "$status" "$AZT_STATUS"
  check_eq "$name: error $err" "$err" "$(jget .error)"
  after=$(n_clients)
  check_eq "$name: no client row was written" "$before" "$after"
}

public_body='{"client_name":"MCP Inspector","redirect_uris":["http://127.0.0.1:33418/callback","http://localhost:6274/oauth/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}'

# ---------------------------------------------------------------- discovery

doc=$(discovery main reg)
check_eq "metadata names registration_endpoint = ISSUER/oauth2/register" "$reg_url" \
  "$(jq -r .registration_endpoint <<<"$doc")"

# ---------------------------------------------------------------- closed

check_eq "a new tenant's registration_policy is closed" closed \
  "$(psql_db -c "SELECT registration_policy FROM tenants WHERE slug = 'reg'")"
refused "closed policy refuses registration" 403 access_denied "$public_body"
check_eq "closed: the refusal says why" "registration is closed for this tenant" \
  "$(jget .error_description)"

# ---------------------------------------------------------------- open: public

set_policy open
register "$public_body"
status_is "open: a public client (none) registers: 201" 201
pub_id=$(jget .client_id)
check_match "open: the answer has a client_id" '^[A-Za-z0-9_-]{16,}$' "$pub_id"
check_eq "open: a public client gets no client_secret" null "$(jget .client_secret)"
check_eq "open: token_endpoint_auth_method none is echoed" none "$(jget .token_endpoint_auth_method)"
check_eq "open: client_name is echoed" "MCP Inspector" "$(jget .client_name)"
check_eq "open: redirect_uris are echoed" \
  '["http://127.0.0.1:33418/callback","http://localhost:6274/oauth/callback"]' "$(jget '.redirect_uris|tojson')"
check_eq "open: grant_types are echoed" '["authorization_code","refresh_token"]' \
  "$(jget '.grant_types|tojson')"
check_match "open: client_id_issued_at is a recent time" '^[0-9]{10}$' "$(jget .client_id_issued_at)"
check_eq "open: the answer has Cache-Control: no-store" no-store "$(header Cache-Control)"
check_match "open: the answer is JSON" '^application/json' "$(header Content-Type)"
row=$(psql_db -c "SELECT dynamic, token_endpoint_auth_method, secret_hash IS NULL, allowed_scopes,
                         can_act_for, introspects, may_impersonate
                  FROM clients WHERE client_id = '$pub_id'")
check_eq "the public client is stored dynamic, without secret or admin-only fields" \
  't|none|t|{}|{}|{}|f' "$row"

# ---------------------------------------------------------------- open: confidential

conf_body='{"client_name":"Agent","redirect_uris":["https://agent.example.com/cb"],"scope":"files:read files:read mail:send","contacts":["ops@example.com"],"client_uri":"https://agent.example.com","software_id":"agent-7","software_version":"1.2.3","may_impersonate":true,"allowed_scopes":["admin"],"can_act_for":["*"],"x-unknown":{"a":1}}'
register "$conf_body"
status_is "open: a confidential client (default client_secret_basic) registers: 201" 201
conf_id=$(jget .client_id)
secret=$(jget .client_secret)
check_eq "open: the default method is client_secret_basic" client_secret_basic \
  "$(jget .token_endpoint_auth_method)"
check_match "open: a client_secret is returned" '^[A-Za-z0-9_-]{32,}$' "$secret"
check_eq "open: client_secret_expires_at is 0" 0 "$(jget .client_secret_expires_at)"
check_eq "open: default grant_types [authorization_code]" '["authorization_code"]' "$(jget '.grant_types|tojson')"
check_eq "open: default response_types [code]" '["code"]' "$(jget '.response_types|tojson')"
check_eq "open: scope is echoed (normalized)" "files:read mail:send" "$(jget .scope)"
check_eq "open: contacts, client_uri, software_id, software_version are echoed" \
  '["ops@example.com"]|https://agent.example.com|agent-7|1.2.3' \
  "$(jget '[(.contacts|tojson), .client_uri, .software_id, .software_version]|join("|")')"
check_eq "open: unknown and admin-only fields are ignored, not echoed" "false|false|false|false" \
  "$(jget '[has("x-unknown"), has("may_impersonate"), has("allowed_scopes"), has("can_act_for")]|map(tostring)|join("|")')"
row=$(psql_db -c "SELECT dynamic, may_impersonate, allowed_scopes, can_act_for,
                         metadata->>'scope', metadata->>'software_id'
                  FROM clients WHERE client_id = '$conf_id'")
check_eq "the confidential client is stored dynamic, admin-only fields left empty, metadata kept" \
  't|f|{}|{}|files:read mail:send|agent-7' "$row"
in_clear=$(psql_db -v s="$secret" <<'SQL'
SELECT count(*) FROM clients WHERE position(:'s' in coalesce(secret_hash, '')) > 0
   OR position(:'s' in metadata::text) > 0;
SQL
)
check_eq "the client secret is not stored in the clear" 0 "$in_clear"
admin GET "/admin/v1/tenants/reg/clients/$conf_id"
status_is "admin GET of the registered client: 200" 200
check_eq "admin GET shows the client as dynamic" true "$(jget .dynamic)"
check_eq "admin GET shows no client_secret" "false" "$(jget 'has("client_secret")')"
if [[ $AZT_BODY == *"$secret"* ]]; then
  fail "admin GET does not contain the secret anywhere"
else
  pass "admin GET does not contain the secret anywhere"
fi

# The stored hash is the secret's: the client authenticates with it (the
# introspection endpoint answers an unknown token with active=false).
http POST "$issuer/oauth2/introspect" -u "$conf_id:$secret" --data-urlencode token=not-a-token
status_is "the registered secret authenticates the client (introspection 200)" 200
http POST "$issuer/oauth2/introspect" -u "$conf_id:wrong-$secret" --data-urlencode token=not-a-token
status_is "a wrong secret does not (introspection 401)" 401

register '{"redirect_uris":["https://post.example.com/cb"],"token_endpoint_auth_method":"client_secret_post"}'
check_eq "open: client_secret_post registers with a secret" "201 true" \
  "$AZT_STATUS $(jget '.client_secret != null')"
register '{"redirect_uris":["https://jwt.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}}'
check_eq "open: private_key_jwt with a public jwks registers without a secret" "201 null" \
  "$AZT_STATUS $(jget .client_secret)"
register '{"redirect_uris":["http://[::1]:8080/cb"],"token_endpoint_auth_method":"none"}'
status_is "open: http on [::1] is a valid redirect URI" 201
check_eq "open: nulls count as absent" 201 \
  "$(register '{"redirect_uris":["https://n.example.com/cb"],"client_name":null,"scope":null}'; echo "$AZT_STATUS")"

# ---------------------------------------------------------------- invalid_redirect_uri

refused "http on a non-loopback host" 400 invalid_redirect_uri \
  '{"redirect_uris":["http://app.example.com/cb"],"token_endpoint_auth_method":"none"}'
refused "a redirect URI with a fragment" 400 invalid_redirect_uri \
  '{"redirect_uris":["https://app.example.com/cb#frag"],"token_endpoint_auth_method":"none"}'
refused "a relative redirect URI" 400 invalid_redirect_uri \
  '{"redirect_uris":["/oauth/callback"],"token_endpoint_auth_method":"none"}'
refused "a custom-scheme redirect URI" 400 invalid_redirect_uri \
  '{"redirect_uris":["javascript:alert(1)"],"token_endpoint_auth_method":"none"}'
refused "a redirect URI with userinfo" 400 invalid_redirect_uri \
  '{"redirect_uris":["http://127.0.0.1@evil.example/cb"],"token_endpoint_auth_method":"none"}'
refused "no redirect_uris for the code grant" 400 invalid_redirect_uri \
  '{"token_endpoint_auth_method":"none"}'
refused "an empty redirect_uris array" 400 invalid_redirect_uri \
  '{"redirect_uris":[],"token_endpoint_auth_method":"none"}'
check_eq "errors have Cache-Control: no-store" no-store "$(header Cache-Control)"

# ---------------------------------------------------------------- invalid_client_metadata

refused "grant_types client_credentials" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"grant_types":["client_credentials"]}'
refused "grant_types token-exchange" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:token-exchange"]}'
refused "response_types token" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"response_types":["token"]}'
refused "an unknown token_endpoint_auth_method" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"token_endpoint_auth_method":"client_secret_jwt"}'
refused "private_key_jwt without jwks or jwks_uri" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}'
refused "a jwks holding a private key" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}}'
refused "broken JSON" 400 invalid_client_metadata '{"redirect_uris":["https://a.example.com/cb"'
refused "a JSON array instead of an object" 400 invalid_client_metadata '["https://a.example.com/cb"]'
refused "a repeated member" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"redirect_uris":["https://b.example.com/cb"]}'
refused "redirect_uris as a string" 400 invalid_client_metadata \
  '{"redirect_uris":"https://a.example.com/cb"}'
refused "client_name as a number" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"client_name":5}'
refused "grant_types as a string" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"grant_types":"authorization_code"}'
refused "a malformed scope string" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"scope":"a  b"}'
refused "invalid UTF-8 in the body" 400 invalid_client_metadata \
  "$(printf '{"redirect_uris":["https://a.example.com/cb"],"client_name":"\xc3\x28"}')"
refused "a NUL escape in a string" 400 invalid_client_metadata \
  '{"redirect_uris":["https://a.example.com/cb"],"client_name":"a\u0000b"}'
refused "an empty body" 400 invalid_client_metadata ''
refused "a form body instead of JSON" 400 invalid_client_metadata \
  'redirect_uris=https://a.example.com/cb' -H 'Content-Type: application/x-www-form-urlencoded'

http GET "$reg_url"
status_is "GET on the registration endpoint: 405" 405
http OPTIONS "$reg_url" -D "$hdrs" -H 'Origin: https://inspector.example' \
  -H 'Access-Control-Request-Method: POST'
status_is "CORS preflight: 204" 204
check_eq "CORS preflight allows any origin" '*' "$(header Access-Control-Allow-Origin)"
http POST "$base/t/no-such-tenant/oauth2/register" -H 'Content-Type: application/json' \
  --data-binary "$public_body"
status_is "an unknown tenant: 404" 404

# ---------------------------------------------------------------- token

# A confidential client of the tenant for authz itself (client_credentials,
# aud = issuer) mints the initial access tokens.
admin POST /admin/v1/tenants/reg/clients \
  '{"client_name":"ops","grant_types":["client_credentials"],"allowed_scopes":["admin","register","files:read"]}'
status_is "admin creates a client_credentials client" 201
ops_id=$(jget .client_id)
ops_secret=$(jget .client_secret)
admin POST /admin/v1/tenants/other/clients \
  '{"client_name":"ops","grant_types":["client_credentials"],"allowed_scopes":["admin","register"]}'
other_id=$(jget .client_id)
other_secret=$(jget .client_secret)

# token_for ISSUER ID SECRET SCOPE: prints an access token
token_for() {
  curl -s -u "$2:$3" --data-urlencode grant_type=client_credentials --data-urlencode "scope=$4" \
    "$1/oauth2/token" | jq -r .access_token
}
admin_tok=$(token_for "$issuer" "$ops_id" "$ops_secret" admin)
register_tok=$(token_for "$issuer" "$ops_id" "$ops_secret" register)
files_tok=$(token_for "$issuer" "$ops_id" "$ops_secret" files:read)
foreign_tok=$(token_for "$base/t/other" "$other_id" "$other_secret" register)
check_match "initial access tokens were issued" '^ey.*\..*\..*$' "$admin_tok $register_tok $foreign_tok"

set_policy token
refused "token policy without a token" 401 invalid_token "$public_body"
check_match "token policy without a token: WWW-Authenticate: Bearer" '^Bearer realm=' \
  "$(header WWW-Authenticate)"
refused "token policy with a garbage token" 401 invalid_token "$public_body" \
  -H 'Authorization: Bearer not.a.token'
check_contains "token policy with a garbage token: error=\"invalid_token\" in WWW-Authenticate" \
  'error="invalid_token"' "$(header WWW-Authenticate)"
refused "token policy with another tenant's token" 401 invalid_token "$public_body" \
  -H "Authorization: Bearer $foreign_tok"
refused "token policy with a token lacking scope register/admin" 403 insufficient_scope \
  "$public_body" -H "Authorization: Bearer $files_tok"
register "$public_body" -H "Authorization: Bearer $admin_tok"
status_is "token policy with a tenant admin token: 201" 201
tok_client=$(jget .client_id)
register "$public_body" -H "Authorization: Bearer $register_tok"
status_is "token policy with a register-scoped token: 201" 201
check_eq "the registration by token is audited with the token's client" "$ops_id" \
  "$(psql_db -c "SELECT details->>'by' FROM audit WHERE event = 'admin.changed'
                 AND details->>'target' = '$tok_client'")"

# the admin token revoked: refused at once
http POST "$issuer/oauth2/revoke" -u "$ops_id:$ops_secret" --data-urlencode "token=$admin_tok"
status_is "the admin token is revoked" 200
refused "token policy with a revoked token" 401 invalid_token "$public_body" \
  -H "Authorization: Bearer $admin_tok"

set_policy closed
refused "closed again: even an admin token is refused" 403 access_denied "$public_body" \
  -H "Authorization: Bearer $register_tok"

# ---------------------------------------------------------------- audit

n_ok=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'admin.changed' AND outcome = 'success'
                   AND details->>'action' = 'client.register' AND (details->>'dynamic')::boolean")
n_dyn=$(psql_db -c "SELECT count(*) FROM clients WHERE dynamic")
check_eq "every registration left an admin.changed audit row (action client.register)" "$n_dyn" "$n_ok"
n_refused=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'admin.changed' AND outcome = 'failure'
                        AND details->>'action' = 'client.register'")
check "refusals by policy are audited as failures" test "$n_refused" -ge 7

authz_stop main
done_testing
