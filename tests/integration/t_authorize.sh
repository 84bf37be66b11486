#!/usr/bin/env bash
# t_authorize.sh: the person-facing side of the authorization code flow
# (SPEC §4.1), through real HTTP with curl and a cookie jar: the
# authorization endpoint's checks (error page without a redirect for a bad
# client or redirect URI, redirected errors with state and iss, PKCE S256
# only), sign-in (CSRF, generic failure, session cookie, rate limit with 429
# before Argon2), the consent page (CSRF, approve, deny, reuse for a subset)
# and the code it issues, and the audit rows of all this.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
# cheap Argon2 parameters: the tests sign in many times
authz_start main "$port" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
BASE=${AZT_URL[main]}
ISS=$BASE/t/acme
AUTHZ=$ISS/oauth2/authorize

# ---------------------------------------------------------------- helpers

# fetch METHOD URL [curl args...]: sets ST (status), HD (headers), BD (body).
fetch() {
  local method=$1 url=$2; shift 2
  local h=$AZT_TMP/fetch.h b=$AZT_TMP/fetch.b
  : > "$h"; : > "$b"
  ST=$(curl -s --max-time 30 -X "$method" -D "$h" -o "$b" -w '%{http_code}' "$@" "$url") || ST=000
  HD=$(tr -d '\r' < "$h")
  BD=$(cat "$b")
}
# the value of a response header of the last fetch
header() { awk -v n="${1,,}" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }' <<<"$HD"; }
# every Set-Cookie line of the last fetch
set_cookies() { grep -i '^set-cookie:' <<<"$HD" || true; }
# percent-decoding, and a query parameter of a URL (decoded)
urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
qparam() {
  local q=${1#*\?} p
  q=${q%%#*}
  local -a parts
  IFS='&' read -ra parts <<<"$q"
  for p in "${parts[@]}"; do
    if [[ $p == "$2="* ]]; then urldecode "${p#*=}"; return 0; fi
  done
}
# the value of a hidden input of the last page
# (HTML-unescaped, as a browser submits it)
hidden() {
  sed -n "s/.*name=\"$1\" value=\"\\([^\"]*\\)\".*/\\1/p" <<<"$BD" | head -n 1 |
    sed -e 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&amp;/\&/g'
}
sql() { psql_db -c "$1"; }

# RFC 7636 Appendix B style: a random verifier and its S256 challenge
new_verifier() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
s256() { printf '%s' "$1" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n'; }

VERIFIER=$(new_verifier)
CHALLENGE=$(s256 "$VERIFIER")

# authorize [jar] [param=value...]: GET the authorization endpoint with
# the given parameters (url-encoded by curl)
authorize() {
  local jar=$1; shift
  local args=(-G)
  local p
  for p in "$@"; do args+=(--data-urlencode "$p"); done
  if [[ -n $jar ]]; then args+=(-b "$jar" -c "$jar"); fi
  fetch GET "$AUTHZ" "${args[@]}"
}

# ---------------------------------------------------------------- setup

admin POST /admin/v1/tenants '{"slug":"acme","display_name":"Acme Corp"}'
check_eq "tenant acme is created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants '{"slug":"beta","display_name":"Beta"}'
admin POST /admin/v1/tenants/acme/resources '{"uri":"https://mcp.example.test/","scopes":["tools:read","tools:call"]}'
check_eq "resource mcp is created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/resources '{"uri":"https://files.example.test/","scopes":["files:read"]}'
admin POST /admin/v1/tenants/acme/users '{"username":"alice","password":"alice-secret-pw","scopes":["tools:read","tools:call","files:read"]}'
check_eq "user alice is created" 201 "$AZT_STATUS"
ALICE=$(jq -r .id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/users '{"username":"bob","password":"bob-secret-pw","scopes":["tools:read"]}'
BOB=$(jq -r .id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/users '{"username":"carol","password":"carol-secret-pw","scopes":["files:read"]}'
admin POST /admin/v1/tenants/beta/users '{"username":"alice","password":"alice-secret-pw","scopes":["tools:read"]}'
admin POST /admin/v1/tenants/acme/clients '{"client_name":"Agent <b>Smith</b> & Co","token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"redirect_uris":["https://app.example.test/cb?tenant=1","http://127.0.0.1/callback"]}'
check_eq "public client is created" 201 "$AZT_STATUS"
CLIENT=$(jq -r .client_id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/clients '{"client_name":"Machine","grant_types":["client_credentials"],"allowed_scopes":["tools:read"]}'
MACHINE=$(jq -r .client_id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/clients '{"client_name":"Reader","token_endpoint_auth_method":"none","grant_types":["authorization_code"],"redirect_uris":["https://reader.example.test/cb"],"allowed_scopes":["tools:read"],"allowed_resources":["https://mcp.example.test/"]}'
READER=$(jq -r .client_id <<<"$AZT_BODY")

REDIR='https://app.example.test/cb?tenant=1'
MCP='https://mcp.example.test/'
# a complete request; tests override single parameters
std=(client_id="$CLIENT" redirect_uri="$REDIR" response_type=code code_challenge="$CHALLENGE"
     code_challenge_method=S256 "scope=tools:read tools:call" state=st-123 resource="$MCP")
# std without the named parameters
without() {
  local p skip out=()
  for p in "${std[@]}"; do
    skip=0
    for n in "$@"; do [[ $p == "$n="* ]] && skip=1; done
    (( skip )) || out+=("$p")
  done
  printf '%s\n' "${out[@]}"
}

# ---------------------------------------------------------------- discovery

doc=$(discovery main acme)
check_eq "metadata names the authorization endpoint" "$AUTHZ" "$(jq -r .authorization_endpoint <<<"$doc")"

# ---------------------------------------------------------------- no redirect

authorize "" client_id="$CLIENT" redirect_uri=https://evil.example.test/cb response_type=code \
  code_challenge="$CHALLENGE" code_challenge_method=S256 state=x
check_eq "unregistered redirect_uri: 400 error page" 400 "$ST"
check_eq "unregistered redirect_uri: no Location header" "" "$(header location)"
check_match "unregistered redirect_uri: the page is HTML" '^text/html; charset=utf-8' "$(header content-type)"
check_contains "unregistered redirect_uri: the page says why" "redirect_uri" "$BD"
check_contains "error page: Content-Security-Policy" "default-src 'none'" "$(header content-security-policy)"
check_contains "error page: frame-ancestors 'none'" "frame-ancestors 'none'" "$(header content-security-policy)"
check_eq "error page: X-Frame-Options DENY" DENY "$(header x-frame-options)"
check_eq "error page: Cache-Control no-store" no-store "$(header cache-control)"
check_eq "error page: Referrer-Policy no-referrer" no-referrer "$(header referrer-policy)"
check_eq "error page: nosniff" nosniff "$(header x-content-type-options)"

mapfile -t req < <(without redirect_uri); authorize "" "${req[@]}"
check_eq "missing redirect_uri: 400 page, no redirect" "400 " "$ST $(header location)"
authorize "" "${std[@]}" redirect_uri="$REDIR"
check_eq "redirect_uri sent twice: 400 page, no redirect" "400 " "$ST $(header location)"
mapfile -t req < <(without client_id); authorize "" client_id=nope "${req[@]}"
check_eq "unknown client_id: 400 page, no redirect" "400 " "$ST $(header location)"
mapfile -t req < <(without client_id); authorize "" "${req[@]}"
check_eq "missing client_id: 400 page, no redirect" "400 " "$ST $(header location)"
mapfile -t req < <(without redirect_uri); authorize "" redirect_uri=https://app.example.test/cb "${req[@]}"
check_eq "redirect_uri without the registered query: 400 page" "400 " "$ST $(header location)"
fetch GET "$AUTHZ?client_id=$CLIENT&redirect_uri=%zz"
check_eq "bad percent-encoding: 400 page" "400 " "$ST $(header location)"
fetch GET "$BASE/t/nosuch/oauth2/authorize?client_id=$CLIENT"
check_eq "unknown tenant: 404" 404 "$ST"
fetch PUT "$AUTHZ"
check_eq "PUT on the authorization endpoint: 405" 405 "$ST"

# ---------------------------------------------------------------- redirected errors

# expect_error NAME ERROR: the last fetch redirected (303) to the registered
# URI with error, state and iss
expect_error() {
  local name=$1 err=$2 loc
  loc=$(header location)
  check_eq "$name: 303" 303 "$ST"
  check_match "$name: back to the registered URI, its query kept" '^https://app\.example\.test/cb\?tenant=1&' "$loc"
  check_eq "$name: error=$err" "$err" "$(qparam "$loc" error)"
  check_eq "$name: state returned" st-123 "$(qparam "$loc" state)"
  check_eq "$name: iss (RFC 9207)" "$ISS" "$(qparam "$loc" iss)"
  check_eq "$name: no code" "" "$(qparam "$loc" code)"
}

mapfile -t req < <(without code_challenge code_challenge_method); authorize "" "${req[@]}"
expect_error "no PKCE" invalid_request
mapfile -t req < <(without code_challenge_method); authorize "" "${req[@]}" code_challenge_method=plain
expect_error "PKCE plain" invalid_request
mapfile -t req < <(without code_challenge_method); authorize "" "${req[@]}"
expect_error "PKCE without a method (plain by default)" invalid_request
mapfile -t req < <(without code_challenge); authorize "" "${req[@]}" code_challenge=short
expect_error "malformed S256 challenge" invalid_request
mapfile -t req < <(without response_type); authorize "" "${req[@]}" response_type=token
expect_error "response_type=token" unsupported_response_type
mapfile -t req < <(without response_type); authorize "" "${req[@]}"
expect_error "no response_type" invalid_request
mapfile -t req < <(without resource); authorize "" "${req[@]}" resource=https://unknown.example.test/
expect_error "unknown resource" invalid_target
mapfile -t req < <(without resource); authorize "" "${req[@]}" resource=
expect_error "empty resource" invalid_target
mapfile -t req < <(without scope); authorize "" "${req[@]}" "scope=tools:read files:read"
expect_error "scope of another resource" invalid_scope
mapfile -t req < <(without scope); authorize "" "${req[@]}" "scope=tools:read  tools:call"
expect_error "malformed scope" invalid_scope
authorize "" "${std[@]}" response_type=code
expect_error "response_type sent twice" invalid_request
authorize "" "${std[@]}" scope=tools:read
expect_error "scope sent twice" invalid_request
mapfile -t req < <(without client_id redirect_uri); authorize "" client_id="$MACHINE" redirect_uri="$REDIR" "${req[@]}"
check_eq "client without the code grant and no redirect URIs: page, no redirect" "400 " "$ST $(header location)"
mapfile -t req < <(without client_id redirect_uri resource)
authorize "" client_id="$READER" redirect_uri=https://reader.example.test/cb "${req[@]}" resource=https://files.example.test/
check_eq "resource outside the client's allowed_resources: invalid_target" invalid_target "$(qparam "$(header location)" error)"

# ---------------------------------------------------------------- sign-in

JAR=$AZT_TMP/alice.jar
: > "$JAR"
authorize "$JAR" "${std[@]}"
check_eq "signed out: the login page (200)" 200 "$ST"
check_contains "login page: username field" 'name="username"' "$BD"
check_contains "login page: password field" 'name="password" type="password"' "$BD"
check_contains "login page: posts to {ISSUER}/login" "action=\"$ISS/login\"" "$BD"
check_contains "login page: CSP" "default-src 'none'" "$(header content-security-policy)"
check_eq "login page: X-Frame-Options" DENY "$(header x-frame-options)"
check_eq "login page: no-store" no-store "$(header cache-control)"
check_match "login page: CSRF cookie HttpOnly, SameSite=Strict, tenant path" \
  'authz_csrf=[A-Za-z0-9_-]{43}; Path=/t/acme; HttpOnly; SameSite=Strict' "$(set_cookies)"
LOGIN_CSRF=$(hidden csrf_token)
RETURN_TO=$(hidden return_to)
check_match "login page: csrf_token field" '^[A-Za-z0-9_-]{43}$' "$LOGIN_CSRF"
check_match "login page: return_to is a path under the issuer" '^/oauth2/authorize\?client_id=' "$RETURN_TO"

login() { # login JAR USER PASSWORD [CSRF] [RETURN_TO]
  local jar=$1 user=$2 pw=$3 csrf=${4-$LOGIN_CSRF} rt=${5-$RETURN_TO}
  local args=(-b "$jar" -c "$jar" --data-urlencode "username=$user" --data-urlencode "password=$pw")
  [[ -n $csrf ]] && args+=(--data-urlencode "csrf_token=$csrf")
  [[ -n $rt ]] && args+=(--data-urlencode "return_to=$rt")
  fetch POST "$ISS/login" "${args[@]}"
}

login "$JAR" alice alice-secret-pw ""
check_eq "login without csrf_token: 403" 403 "$ST"
check_eq "login without csrf_token: no session cookie" "" "$(set_cookies | grep authz_session || true)"
login "$JAR" alice alice-secret-pw "$(new_verifier)"
check_eq "login with a wrong csrf_token: 403" 403 "$ST"
fetch POST "$ISS/login" --data-urlencode username=alice --data-urlencode password=alice-secret-pw \
  --data-urlencode "csrf_token=$LOGIN_CSRF"
check_eq "login with the token but without its cookie: 403" 403 "$ST"

login "$JAR" alice wrong-password
check_eq "wrong password: the form again (400)" 400 "$ST"
check_contains "wrong password: a generic message" "The username or password is incorrect." "$BD"
login "$JAR" nobody-here whatever-pw
check_eq "unknown user: the same answer" "400" "$ST"
check_contains "unknown user: the same generic message" "The username or password is incorrect." "$BD"

login "$JAR" alice alice-secret-pw "$LOGIN_CSRF" "//evil.example.test/x"
check_eq "return_to of another origin: refused" "400 " "$ST $(header location)"
login "$JAR" alice alice-secret-pw "$LOGIN_CSRF" "https://evil.example.test/"
check_eq "absolute return_to: refused" "400 " "$ST $(header location)"
login "$JAR" alice alice-secret-pw "$LOGIN_CSRF" '/\evil.example.test/'
check_eq "return_to with a backslash: refused" "400 " "$ST $(header location)"

# a username of 200 characters and 400 bytes (the admin API counts
# characters): the sign-in page once refused it for its bytes
LONG_NAME=$(printf 'é%.0s' $(seq 200))
admin POST /admin/v1/tenants/acme/users "{\"username\":\"$LONG_NAME\",\"password\":\"long-name-pw-1\",\"scopes\":[\"tools:read\"]}"
check_eq "a user with a 200-character, 400-byte username is created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/clients "{\"client_name\":\"Long agent\",\"grant_types\":[\"client_credentials\"],\"can_act_for\":[\"$LONG_NAME\"]}"
check_eq "a client may act for that user (can_act_for counts characters too)" 201 "$AZT_STATUS"
LONG_JAR=$(mktemp)
fetch GET "$AUTHZ" -G -b "$LONG_JAR" -c "$LONG_JAR" --data-urlencode "client_id=$CLIENT" \
  --data-urlencode "redirect_uri=$REDIR" --data-urlencode response_type=code \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256
LONG_CSRF=$(hidden csrf_token)
login "$LONG_JAR" "$LONG_NAME" long-name-pw-1 "$LONG_CSRF"
check_eq "that user signs in: 303" 303 "$ST"
rm -f "$LONG_JAR"

login "$JAR" alice alice-secret-pw
check_eq "alice signs in: 303" 303 "$ST"
check_eq "alice signs in: back to the authorization request" "$ISS$RETURN_TO" "$(header location)"
check_match "session cookie: HttpOnly, SameSite=Lax, tenant path, 8 h" \
  'authz_session=[A-Za-z0-9_-]{43}; Path=/t/acme; Max-Age=28800; HttpOnly; SameSite=Lax' "$(set_cookies)"
SESSION1=$(awk '$6 == "authz_session" { print $7 }' "$JAR")
check_eq "the session is stored only as a hash" 0 \
  "$(sql "SELECT count(*) FROM browser_sessions WHERE id = '$SESSION1' OR csrf_token = '$SESSION1'")"
check_eq "one session row for alice" 1 "$(sql "SELECT count(*) FROM browser_sessions WHERE user_id = '$ALICE'")"

# ---------------------------------------------------------------- consent

fetch GET "$(header location)" -b "$JAR" -c "$JAR"
check_eq "signed in: the consent page (200)" 200 "$ST"
check_contains "consent page: names the client (escaped)" 'Agent &lt;b&gt;Smith&lt;/b&gt; &amp; Co' "$BD"
check_not "consent page: no raw client markup" grep -q '<b>Smith' <<<"$BD"
check_contains "consent page: scope tools:read" '<code>tools:read</code>' "$BD"
check_contains "consent page: scope tools:call" '<code>tools:call</code>' "$BD"
check_contains "consent page: the resource" "<code>$MCP</code>" "$BD"
check_contains "consent page: approve button" 'name="decision" value="approve"' "$BD"
check_contains "consent page: deny button" 'name="decision" value="deny"' "$BD"
check_contains "consent page: CSP" "default-src 'none'" "$(header content-security-policy)"
check_eq "consent page: X-Frame-Options" DENY "$(header x-frame-options)"
check_eq "consent page: no-store" no-store "$(header cache-control)"
CSRF=$(hidden csrf_token)
check_match "consent page: csrf_token" '^[A-Za-z0-9_-]{43}$' "$CSRF"

consent() { # consent JAR DECISION CSRF [param=value...] (default: std)
  local jar=$1 decision=$2 csrf=$3; shift 3
  local ps=("$@")
  (( ${#ps[@]} )) || ps=("${std[@]}")
  local args=() p
  [[ -n $jar ]] && args+=(-b "$jar" -c "$jar")
  for p in "${ps[@]}"; do args+=(--data-urlencode "$p"); done
  [[ -n $decision ]] && args+=(--data-urlencode "decision=$decision")
  [[ -n $csrf ]] && args+=(--data-urlencode "csrf_token=$csrf")
  fetch POST "$AUTHZ" "${args[@]}"
}

consent "$JAR" approve ""
check_eq "consent POST without csrf_token: 403" 403 "$ST"
check_eq "consent POST without csrf_token: no redirect" "" "$(header location)"
consent "$JAR" approve "$LOGIN_CSRF"
check_eq "consent POST with a wrong csrf_token: 403" 403 "$ST"
check_eq "refused consent POSTs issued no code" 0 "$(sql "SELECT count(*) FROM auth_codes")"
check_eq "refused consent POSTs stored no consent" 0 "$(sql "SELECT count(*) FROM consents")"
consent "" approve "$CSRF"
check_eq "consent POST without the session cookie: 403, no code" "403 0" \
  "$ST $(sql "SELECT count(*) FROM auth_codes")"
mapfile -t req < <(without redirect_uri)
consent "$JAR" approve "$CSRF" "${req[@]}" redirect_uri=https://evil.example.test/cb
check_eq "consent POST is validated again: a changed redirect_uri gets the error page" "400 " \
  "$ST $(header location)"

consent "$JAR" approve "$CSRF"
LOC=$(header location)
check_eq "approve: 303" 303 "$ST"
check_match "approve: back to the registered URI, its query kept" '^https://app\.example\.test/cb\?tenant=1&code=' "$LOC"
CODE=$(qparam "$LOC" code)
check_match "approve: a code" '^[A-Za-z0-9_-]{43}$' "$CODE"
check_eq "approve: state" st-123 "$(qparam "$LOC" state)"
check_eq "approve: iss" "$ISS" "$(qparam "$LOC" iss)"
check_eq "approve: Cache-Control no-store" no-store "$(header cache-control)"
check_eq "the code is stored only as a hash" 0 "$(sql "SELECT count(*) FROM auth_codes WHERE code_hash = '$CODE'")"
row=$(sql "SELECT client_id, user_id, redirect_uri, code_challenge, array_to_string(scopes, ' '), array_to_string(resources, ' '), expires_at <= now() + interval '60 seconds', auth_time <= now() FROM auth_codes" | tr '|' ' ')
check_eq "the code row: client, person, exact redirect_uri, challenge, scopes, resource, <= 60 s" \
  "$CLIENT $ALICE $REDIR $CHALLENGE tools:read tools:call $MCP t t" "$row"
check_eq "the consent is stored" "{tools:call,tools:read} {$MCP}" \
  "$(sql "SELECT scopes, resources FROM consents WHERE user_id = '$ALICE' AND client_id = '$CLIENT'" | tr '|' ' ')"

# a second authorization for a subset: no consent page, a code at once
authorize "$JAR" "${std[@]/scope=tools:read tools:call/scope=tools:read}"
check_eq "subset of the consent: 303 at once" 303 "$ST"
check_match "subset of the consent: a code" '[?&]code=[A-Za-z0-9_-]{43}' "$(header location)"
check_eq "subset of the consent: the code has the narrower scope" tools:read \
  "$(sql "SELECT array_to_string(scopes, ' ') FROM auth_codes ORDER BY created_at DESC LIMIT 1")"
mapfile -t req < <(without resource); authorize "$JAR" "${req[@]}"
check_eq "no resource, consented scopes: no consent page" 303 "$ST"
mapfile -t req < <(without scope resource); authorize "$JAR" "${req[@]}"
check_eq "no scope, no resource: every scope of the tenant, beyond the consent: consent page" 200 "$ST"
mapfile -t req < <(without scope resource); authorize "$JAR" "${req[@]}" scope=files:read
check_eq "a scope outside the consent: the consent page again" 200 "$ST"
check_contains "the consent page shows the new scope" '<code>files:read</code>' "$BD"

# RFC 8252: the loopback redirect URI with another port
mapfile -t req < <(without redirect_uri)
authorize "$JAR" "${req[@]}" redirect_uri=http://127.0.0.1:45678/callback
check_eq "loopback redirect_uri with a port: accepted (code at once)" 303 "$ST"
check_match "loopback redirect_uri: back to the port asked for" '^http://127\.0\.0\.1:45678/callback\?code=' "$(header location)"
authorize "$JAR" "${req[@]}" redirect_uri=http://127.0.0.1:45678/other
check_eq "loopback redirect_uri with another path: error page" "400 " "$ST $(header location)"

# deny
mapfile -t req < <(without scope resource); authorize "$JAR" "${req[@]}" scope=files:read
CSRF=$(hidden csrf_token)
consent "$JAR" deny "$CSRF" "${req[@]}" scope=files:read
check_eq "deny: 303" 303 "$ST"
check_eq "deny: access_denied" access_denied "$(qparam "$(header location)" error)"
check_eq "deny: state" st-123 "$(qparam "$(header location)" state)"
check_eq "deny: iss" "$ISS" "$(qparam "$(header location)" iss)"
check_eq "deny: the consent is unchanged" "{tools:call,tools:read}" \
  "$(sql "SELECT scopes FROM consents WHERE user_id = '$ALICE'")"
consent "$JAR" maybe "$CSRF" "${req[@]}" scope=files:read
check_eq "an unknown decision: 400 page" "400 " "$ST $(header location)"

# approving more adds to the consent
consent "$JAR" approve "$CSRF" "${req[@]}" scope=files:read
check_eq "approve a new scope: 303 with a code" 303 "$ST"
check_eq "the consent grows by the new scope" "{files:read,tools:call,tools:read}" \
  "$(sql "SELECT scopes FROM consents WHERE user_id = '$ALICE'")"

# ---------------------------------------------------------------- person's scopes

BJAR=$AZT_TMP/bob.jar
: > "$BJAR"
authorize "$BJAR" "${std[@]}"
LOGIN_CSRF=$(hidden csrf_token); RETURN_TO=$(hidden return_to)
login "$BJAR" bob bob-secret-pw
fetch GET "$(header location)" -b "$BJAR" -c "$BJAR"
check_eq "bob (tools:read only) sees the consent page" 200 "$ST"
check_contains "bob's consent page offers tools:read" '<code>tools:read</code>' "$BD"
check_not "bob's consent page does not offer tools:call" grep -q '<code>tools:call</code>' <<<"$BD"
consent "$BJAR" approve "$(hidden csrf_token)"
check_eq "bob's code holds only tools:read" tools:read \
  "$(sql "SELECT array_to_string(scopes, ' ') FROM auth_codes WHERE user_id = '$BOB'")"
mapfile -t req < <(without scope); authorize "$BJAR" "${req[@]}" scope=tools:call
check_eq "a scope the person lacks: invalid_scope" invalid_scope "$(qparam "$(header location)" error)"

# ---------------------------------------------------------------- sessions

# rotation: signing in again replaces the browser's session
fetch GET "$ISS/login" -b "$JAR" -c "$JAR"
check_eq "GET {ISSUER}/login shows the form" 200 "$ST"
LOGIN_CSRF=$(hidden csrf_token)
login "$JAR" alice alice-secret-pw "$LOGIN_CSRF" ""
check_eq "sign-in without return_to: a signed-in page" 200 "$ST"
SESSION2=$(awk '$6 == "authz_session" { print $7 }' "$JAR")
check_not "signing in again gives a new session cookie" test "$SESSION1" = "$SESSION2"
check_eq "the old session is gone (one session row)" 1 "$(sql "SELECT count(*) FROM browser_sessions WHERE user_id = '$ALICE'")"
fetch GET "$AUTHZ" -G --data-urlencode "client_id=$CLIENT" --data-urlencode "redirect_uri=$REDIR" \
  --data-urlencode response_type=code --data-urlencode "code_challenge=$CHALLENGE" \
  --data-urlencode code_challenge_method=S256 --data-urlencode scope=tools:read \
  -H "Cookie: authz_session=$SESSION1"
check_eq "the old session cookie no longer signs in" 200 "$ST"
check_contains "the old session cookie gets the login page" 'name="password"' "$BD"
admin POST /admin/v1/tenants/beta/resources '{"uri":"https://beta.example.test/","scopes":["tools:read"]}'
admin POST /admin/v1/tenants/beta/clients "{\"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"$REDIR\"]}"
BETA_CLIENT=$(jq -r .client_id <<<"$AZT_BODY")
fetch GET "$BASE/t/beta/oauth2/authorize" -G --data-urlencode "client_id=$BETA_CLIENT" \
  --data-urlencode "redirect_uri=$REDIR" --data-urlencode response_type=code \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256 \
  -H "Cookie: authz_session=$SESSION2"
check_contains "a session of tenant acme does not sign in at tenant beta" 'name="password"' "$BD"
fetch GET "$AUTHZ" -G --data-urlencode "client_id=$BETA_CLIENT" --data-urlencode "redirect_uri=$REDIR"
check_eq "a client of tenant beta is unknown at acme" "400 " "$ST $(header location)"

# ---------------------------------------------------------------- rate limit

CJAR=$AZT_TMP/carol.jar
: > "$CJAR"
authorize "$CJAR" "${std[@]}"
LOGIN_CSRF=$(hidden csrf_token); RETURN_TO=$(hidden return_to)
for i in 1 2 3 4 5; do
  login "$CJAR" carol "wrong-$i"
  [[ $ST == 400 ]] || fail "failure $i of carol is answered 400" "got $ST"
done
login "$CJAR" carol wrong-6
check_eq "the 6th guess for one username within 15 minutes: 429" 429 "$ST"
check_match "429 carries Retry-After (seconds)" '^[0-9]+$' "$(header retry-after)"
check_contains "429 page: CSP" "default-src 'none'" "$(header content-security-policy)"
login "$CJAR" carol carol-secret-pw
check_eq "even the right password is refused while limited (429)" 429 "$ST"
check_eq "no session for carol" 0 "$(sql "SELECT count(*) FROM browser_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'carol'")"
check_eq "refused attempts are not recorded: 5 failures for carol" 5 \
  "$(sql "SELECT count(*) FROM signin_attempts WHERE key = 'user:carol'")"
# the wait is counted from the failures: move them back 15 minutes
sql "UPDATE signin_attempts SET at = at - interval '16 minutes' WHERE key = 'user:carol'" >/dev/null
login "$CJAR" carol carol-secret-pw
check_eq "after the window, carol signs in" 303 "$ST"
# per source address: 20 failures (over any usernames) limit the source
n=$(sql "SELECT count(*) FROM signin_attempts WHERE key LIKE 'source:%'")
for (( i = n; i < 20; i++ )); do
  login "$CJAR" "ghost-$i" nope-nope
  [[ $ST == 400 ]] || fail "failure $i from this source is answered 400" "got $ST"
done
login "$CJAR" ghost-x nope-nope
check_eq "over 20 failures from one source: 429 for any username" 429 "$ST"
login "$CJAR" alice alice-secret-pw
check_eq "the source limit holds for a known user too" 429 "$ST"
sql "DELETE FROM signin_attempts" >/dev/null

# ---------------------------------------------------------------- audit

ev() { sql "SELECT count(*) FROM audit WHERE event = '$1' AND outcome = '$2' $3"; }
check_match "audit: signin.succeeded with alice as subject" '^[1-9]' "$(ev signin.succeeded success "AND subject = '$ALICE'")"
check_match "audit: signin.failed (wrong password) for alice" '^[1-9]' "$(ev signin.failed failure "AND subject = '$ALICE' AND reason = 'wrong password'")"
check_match "audit: signin.failed for an unknown username" '^[1-9]' "$(ev signin.failed failure "AND subject IS NULL AND reason = 'unknown username'")"
check_match "audit: signin.failed when rate limited" '^[1-9]' "$(ev signin.failed failure "AND reason LIKE 'too many%'")"
check_eq "audit: consent.granted for alice, with client, scope and resource" 1 \
  "$(ev consent.granted success "AND subject = '$ALICE' AND client_id = '$CLIENT' AND scope = 'tools:read tools:call' AND resources = ARRAY['$MCP']")"
check_match "audit: code.issued with grant_type authorization_code" '^[1-9]' \
  "$(ev code.issued success "AND subject = '$ALICE' AND client_id = '$CLIENT' AND details->>'grant_type' = 'authorization_code'")"
check_eq "audit: one code.issued per code" "$(sql "SELECT count(*) FROM auth_codes")" "$(ev code.issued success "")"
check_eq "audit rows hold no password, code or cookie" 0 \
  "$(sql "SELECT count(*) FROM audit WHERE audit::text LIKE '%alice-secret-pw%' OR audit::text LIKE '%$CODE%' OR audit::text LIKE '%$SESSION2%'")"
check_not "the log holds no password, code or cookie" grep -qE "alice-secret-pw|$CODE|$SESSION2" "$(authz_log main)"

authz_stop main
done_testing
