#!/usr/bin/env bash
# t_approvals.sh: the approval web pages of session grants (SPEC §4.5),
# through real HTTP with curl and cookie jars: an agent asks at the
# backchannel authentication endpoint; the person signs in (303 to the
# sign-in page and back), sees the request on {ISSUER}/approvals, opens it
# and approves it with the session's CSRF token; the agent polls and gets
# tokens carrying sid; the person revokes the session from the page and
# every token of it becomes inactive. Also: CSRF refusals, another person
# (404), the deny path (access_denied), a second decision (409), an expired
# request, escaping, security headers, and the audit rows with the approver.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
# cheap Argon2 parameters: the tests sign in several times
authz_start main "$port" AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
BASE=${AZT_URL[main]}
ISS=$BASE/t/acme
APPROVALS=$ISS/approvals

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
header() { awk -v n="${1,,}" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }' <<<"$HD"; }
# the value of a hidden input of the last page (HTML-unescaped)
hidden() {
  sed -n "s/.*name=\"$1\" value=\"\\([^\"]*\\)\".*/\\1/p" <<<"$BD" | head -n 1 |
    sed -e 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&amp;/\&/g'
}
sql() { psql_db -c "$1"; }
b64url_json() { local s=$1; s=${s//-/+}; s=${s//_//}; while (( ${#s} % 4 )); do s+='='; done; base64 -d <<<"$s"; }
jwt_claims() { b64url_json "$(cut -d. -f2 <<<"$1")"; }

# the security headers every page and redirect of the web routes carries
check_headers() {
  local what=$1
  check_contains "$what: CSP default-src 'none'" "default-src 'none'" "$(header content-security-policy)"
  check_contains "$what: CSP frame-ancestors 'none'" "frame-ancestors 'none'" "$(header content-security-policy)"
  check_eq "$what: X-Frame-Options DENY" DENY "$(header x-frame-options)"
  check_eq "$what: Cache-Control no-store" no-store "$(header cache-control)"
  check_eq "$what: nosniff" nosniff "$(header x-content-type-options)"
  check_eq "$what: Referrer-Policy no-referrer" no-referrer "$(header referrer-policy)"
}

# signin JAR USER PASSWORD RETURN_TO: the sign-in form, as a browser fills it
signin() {
  local jar=$1 user=$2 pw=$3 rt=$4 csrf
  fetch GET "$ISS/login" -G --data-urlencode "return_to=$rt" -b "$jar" -c "$jar"
  csrf=$(hidden csrf_token)
  fetch POST "$ISS/login" -b "$jar" -c "$jar" --data-urlencode "username=$user" \
    --data-urlencode "password=$pw" --data-urlencode "csrf_token=$csrf" --data-urlencode "return_to=$rt"
}

# decide JAR ID DECISION CSRF: the decision form of a request page
decide() {
  local jar=$1 id=$2 decision=$3 csrf=$4
  local args=(-b "$jar" -c "$jar")
  [[ -n $decision ]] && args+=(--data-urlencode "decision=$decision")
  [[ -n $csrf ]] && args+=(--data-urlencode "csrf_token=$csrf")
  fetch POST "$APPROVALS/$id" "${args[@]}"
}

# revoke_form JAR SID CSRF
revoke_form() {
  local jar=$1 sid=$2 csrf=$3
  local args=(-b "$jar" -c "$jar")
  [[ -n $csrf ]] && args+=(--data-urlencode "csrf_token=$csrf")
  fetch POST "$APPROVALS/sessions/$sid/revoke" "${args[@]}"
}

state_of() { sql "SELECT state FROM ciba_requests WHERE auth_req_id = '$1'"; }

# ---------------------------------------------------------------- setup

admin POST /admin/v1/tenants '{"slug":"acme","display_name":"Acme Corp"}'
check_eq "tenant acme is created" 201 "$AZT_STATUS"
MCP='https://mcp.example.test/'
admin POST /admin/v1/tenants/acme/resources "{\"uri\":\"$MCP\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
check_eq "resource is created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/users '{"username":"alice","password":"alice-secret-pw","scopes":["tools:read","tools:call"]}'
check_eq "user alice is created" 201 "$AZT_STATUS"
ALICE=$(jq -r .id <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/users '{"username":"bob","password":"bob-secret-pw","scopes":["tools:read"]}'
check_eq "user bob is created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/clients "{\"client_name\":\"Agent <b>Smith</b> & Co\",\"grant_types\":[\"urn:openid:params:grant-type:ciba\",\"refresh_token\",\"client_credentials\"],\"allowed_scopes\":[\"tools:read\",\"tools:call\"],\"allowed_resources\":[\"$MCP\"]}"
check_eq "agent client is created" 201 "$AZT_STATUS"
AGENT=$(jq -r .client_id <<<"$AZT_BODY")
AGENT_SECRET=$(jq -r .client_secret <<<"$AZT_BODY")

doc=$(discovery main acme)
BC=$(jq -r .backchannel_authentication_endpoint <<<"$doc")
TOKEN=$(jq -r .token_endpoint <<<"$doc")
INTROSPECT=$(jq -r .introspection_endpoint <<<"$doc")
check_match "discovery names the backchannel authentication endpoint" '^http://127\.0\.0\.1:[0-9]+/t/acme/' "$BC"
check_match "discovery names the introspection endpoint" '^http://127\.0\.0\.1:[0-9]+/t/acme/' "$INTROSPECT"

# bc_request BINDING_MESSAGE [param=value...]: the agent asks for a session
# with $WHO (default alice); sets REQ_ID
bc_request() {
  local binding=$1; shift
  local args=(-u "$AGENT:$AGENT_SECRET" --data-urlencode "login_hint=${WHO:-alice}"
              --data-urlencode "scope=${SCOPE:-tools:read tools:call}" --data-urlencode "resource=$MCP"
              --data-urlencode "binding_message=$binding")
  local p
  for p in "$@"; do args+=(--data-urlencode "$p"); done
  http POST "$BC" "${args[@]}"
  REQ_ID=$(jq -r '.auth_req_id // empty' <<<"$AZT_BODY" 2>/dev/null || true)
}
# poll ID: the agent polls the token endpoint
poll() {
  http POST "$TOKEN" -u "$AGENT:$AGENT_SECRET" --data-urlencode grant_type=urn:openid:params:grant-type:ciba \
    --data-urlencode "auth_req_id=$1"
}

TASK='Triage the <b>open</b> issues & "label" them'
bc_request "$TASK" session_ttl=600
check_eq "backchannel request: 200" 200 "$AZT_STATUS"
check_match "backchannel request: auth_req_id" '^[A-Za-z0-9_-]+$' "$REQ_ID"
ID1=$REQ_ID

# ---------------------------------------------------------------- not signed in

fetch GET "$APPROVALS"
check_eq "list, not signed in: 303" 303 "$ST"
check_eq "list, not signed in: to the sign-in page and back to /approvals" \
  "$ISS/login?return_to=%2Fapprovals" "$(header location)"
check_headers "sign-in redirect"
fetch GET "$APPROVALS/$ID1"
check_eq "request page, not signed in: 303" 303 "$ST"
check_eq "request page, not signed in: return_to is the request's page" \
  "$ISS/login?return_to=%2Fapprovals%2F$ID1" "$(header location)"
fetch POST "$APPROVALS/$ID1" --data-urlencode decision=approve
check_eq "decision, not signed in: 303 to the sign-in page" "303 $ISS/login?return_to=%2Fapprovals%2F$ID1" \
  "$ST $(header location)"
check_eq "decision, not signed in: still pending" pending "$(state_of "$ID1")"
fetch PUT "$APPROVALS"
check_eq "PUT /approvals: 405" 405 "$ST"
fetch GET "$APPROVALS/sessions/x/revoke"
check_eq "GET on the revoke path: 405" "405 POST" "$ST $(header allow)"
fetch GET "$BASE/t/nosuch/approvals"
check_eq "approvals of an unknown tenant: 404" 404 "$ST"

# ---------------------------------------------------------------- alice signs in

AJAR=$AZT_TMP/alice.jar; : > "$AJAR"
signin "$AJAR" alice alice-secret-pw "/approvals/$ID1"
check_eq "alice signs in: 303 back to the request page" "303 $APPROVALS/$ID1" "$ST $(header location)"

fetch GET "$APPROVALS" -b "$AJAR" -c "$AJAR"
check_eq "list page: 200" 200 "$ST"
check_match "list page: HTML" '^text/html; charset=utf-8' "$(header content-type)"
check_headers "list page"
check_contains "list page: the pending section" 'id="pending"' "$BD"
check_contains "list page: the sessions section" 'id="sessions"' "$BD"
check_contains "list page: lists the request" "id=\"request-$ID1\"" "$BD"
check_contains "list page: links to the request's page" "href=\"$APPROVALS/$ID1\"" "$BD"
check_contains "list page: the agent's name, escaped" 'Agent &lt;b&gt;Smith&lt;/b&gt; &amp; Co' "$BD"
check_contains "list page: the agent's client_id" "<code>$AGENT</code>" "$BD"
check_contains "list page: the task, escaped" 'Triage the &lt;b&gt;open&lt;/b&gt; issues &amp; &quot;label&quot; them' "$BD"
check_not "list page: no raw markup from the agent" grep -q '<b>' <<<"$BD"
check_contains "list page: the scopes" '<code>tools:call</code>' "$BD"
check_contains "list page: the resource" "<code>$MCP</code>" "$BD"
check_contains "list page: the session length" '10 minutes' "$BD"
check_contains "list page: when the request expires" '<time datetime="' "$BD"
check_contains "list page: no sessions yet" 'id="no-sessions"' "$BD"
check_not "list page: no JavaScript" grep -qi '<script' <<<"$BD"

fetch HEAD "$APPROVALS" -b "$AJAR" -c "$AJAR" -I
check_eq "HEAD on the list page: 200" 200 "$ST"
fetch GET "$APPROVALS/$ID1" -b "$AJAR" -c "$AJAR"
check_eq "request page: 200" 200 "$ST"
check_headers "request page"
check_contains "request page: the agent" 'id="client-name">Agent &lt;b&gt;Smith&lt;/b&gt; &amp; Co' "$BD"
check_contains "request page: the task" 'id="task">Triage the &lt;b&gt;open&lt;/b&gt;' "$BD"
check_contains "request page: scope tools:read" '<code>tools:read</code>' "$BD"
check_contains "request page: the resource" "<code>$MCP</code>" "$BD"
check_contains "request page: the duration" 'id="duration">10 minutes' "$BD"
check_contains "request page: approve button" 'id="approve" type="submit" name="decision" value="approve"' "$BD"
check_contains "request page: deny button" 'id="deny" type="submit" name="decision" value="deny"' "$BD"
check_contains "request page: the form posts to the same path" "action=\"$APPROVALS/$ID1\"" "$BD"
ACSRF=$(hidden csrf_token)
check_match "request page: csrf_token" '^[A-Za-z0-9_-]{43}$' "$ACSRF"

fetch GET "$APPROVALS/nosuchrequest0000000000" -b "$AJAR" -c "$AJAR"
check_eq "unknown request: 404" 404 "$ST"
fetch GET "$APPROVALS/bad%2Fid" -b "$AJAR" -c "$AJAR"
check_eq "malformed request id: 404" 404 "$ST"

poll "$ID1"
check_eq "agent polls before the decision: authorization_pending" "400 authorization_pending" \
  "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"

# ---------------------------------------------------------------- CSRF

decide "$AJAR" "$ID1" approve ""
check_eq "decision without csrf_token: 403" 403 "$ST"
check_eq "decision without csrf_token: still pending" pending "$(state_of "$ID1")"
# its first character changed (to one it is not: a fixed "x" would be the
# same token once in 64 runs)
if [[ ${ACSRF:0:1} == x ]]; then wrong="y${ACSRF:1}"; else wrong="x${ACSRF:1}"; fi
decide "$AJAR" "$ID1" approve "$wrong"
check_eq "decision with a wrong csrf_token: 403" 403 "$ST"
check_eq "decision with a wrong csrf_token: still pending" pending "$(state_of "$ID1")"
check_eq "refused decisions created no session" 0 "$(sql "SELECT count(*) FROM grants WHERE kind = 'ciba'")"
fetch POST "$APPROVALS/$ID1" -b "$AJAR" -c "$AJAR" -H 'Content-Type: application/json' \
  --data-binary "{\"decision\":\"approve\",\"csrf_token\":\"$ACSRF\"}"
check_eq "decision sent as JSON: 400, still pending" "400 pending" "$ST $(state_of "$ID1")"
fetch POST "$APPROVALS/$ID1" -b "$AJAR" -c "$AJAR" --data-binary "decision=approve&csrf_token=%zz"
check_eq "decision with a bad percent-encoding: 400, still pending" "400 pending" "$ST $(state_of "$ID1")"
decide "$AJAR" "$ID1" maybe "$ACSRF"
check_eq "decision neither approve nor deny: 400, still pending" "400 pending" "$ST $(state_of "$ID1")"

# ---------------------------------------------------------------- another person

BJAR=$AZT_TMP/bob.jar; : > "$BJAR"
signin "$BJAR" bob bob-secret-pw "/approvals"
check_eq "bob signs in: 303 to /approvals" "303 $APPROVALS" "$ST $(header location)"
fetch GET "$APPROVALS" -b "$BJAR" -c "$BJAR"
check_eq "bob's list page: 200" 200 "$ST"
check_not "bob's list page: not alice's request" grep -q "$ID1" <<<"$BD"
check_contains "bob's list page: nothing pending" 'id="no-pending"' "$BD"
fetch GET "$APPROVALS/$ID1" -b "$BJAR" -c "$BJAR"
check_eq "bob opens alice's request: 404" 404 "$ST"
check_not "bob's 404 page shows nothing of the request" grep -q 'Triage' <<<"$BD"
# a request for bob: his list shows it (not alice's), and its page has his
# CSRF token
WHO=bob bc_request "Read bob's tools"
IDB=$REQ_ID
fetch GET "$APPROVALS" -b "$BJAR" -c "$BJAR"
check_contains "bob's list page: his own request" "id=\"request-$IDB\"" "$BD"
check_not "bob's list page: still not alice's request" grep -q "$ID1" <<<"$BD"
fetch GET "$APPROVALS/$IDB" -b "$BJAR" -c "$BJAR"
check_eq "bob opens his request: 200" 200 "$ST"
# SPEC §4.5: "scopes or resources the person does not hold are not offered
# on the page and are never recorded or issued"
check_not "bob's page: a scope he does not hold is not offered" grep -q '<code>tools:call</code>' <<<"$BD"
check_contains "bob's page: a scope he holds is offered" 'class="scope"><code>tools:read</code>' "$BD"
BCSRF=$(hidden csrf_token)
check_match "bob's page: his csrf_token" '^[A-Za-z0-9_-]{43}$' "$BCSRF"
check_eq "bob and alice have different CSRF tokens" different "$([[ $BCSRF != "$ACSRF" ]] && echo different)"
decide "$BJAR" "$ID1" approve "$BCSRF"
check_eq "bob approves alice's request with his own CSRF token: 404" 404 "$ST"
check_eq "bob's decision changed nothing" pending "$(state_of "$ID1")"
decide "$BJAR" "$ID1" deny "$BCSRF"
check_eq "bob denies alice's request: 404" 404 "$ST"
decide "$AJAR" "$IDB" approve "$ACSRF"
check_eq "alice approves bob's request: 404" 404 "$ST"
check_eq "alice's attempt on bob's request changed nothing" pending "$(state_of "$IDB")"
decide "$BJAR" "$ID1" approve "$ACSRF"
check_eq "bob with alice's CSRF token: 403" 403 "$ST"
check_eq "still pending after bob's attempts" pending "$(state_of "$ID1")"

# ---------------------------------------------------------------- approve

decide "$AJAR" "$ID1" approve "$ACSRF"
check_eq "alice approves: 303 back to the list" "303 $APPROVALS?notice=approved" "$ST $(header location)"
check_headers "decision redirect"
check_eq "the request is approved" approved "$(state_of "$ID1")"
SID=$(sql "SELECT grant_id FROM ciba_requests WHERE auth_req_id = '$ID1'")
check_match "the approved request has a session" '^[A-Za-z0-9_-]+$' "$SID"

fetch GET "$APPROVALS?notice=approved" -b "$AJAR" -c "$AJAR"
check_contains "list after approval: the notice" 'id="notice"' "$BD"
check_not "list after approval: the request is no longer pending" grep -q "id=\"request-$ID1\"" <<<"$BD"
check_contains "list after approval: the active session" "id=\"session-$SID\"" "$BD"
check_contains "list after approval: the session's task" 'Triage the &lt;b&gt;open&lt;/b&gt;' "$BD"
check_contains "list after approval: when the session ends" 'class="ends"' "$BD"
check_contains "list after approval: a revoke button" "class=\"revoke\" id=\"revoke-$SID\"" "$BD"
check_contains "list after approval: the revoke form's action" "action=\"$APPROVALS/sessions/$SID/revoke\"" "$BD"

fetch GET "$APPROVALS?notice=<script>" -b "$AJAR" -c "$AJAR"
check_not "an unknown notice is not shown" grep -q 'id="notice"' <<<"$BD"

decide "$AJAR" "$ID1" deny "$ACSRF"
check_eq "a second decision: 409 page" 409 "$ST"
check_match "a second decision: HTML" '^text/html' "$(header content-type)"
check_eq "the second decision changed nothing" approved "$(state_of "$ID1")"

fetch GET "$APPROVALS/$ID1" -b "$AJAR" -c "$AJAR"
check_eq "decided request page: 200" 200 "$ST"
check_contains "decided request page: its state" 'data-state="approved"' "$BD"
check_not "decided request page: no decision form" grep -q 'id="decision-form"' <<<"$BD"
check_contains "decided request page: the approver" 'class="approver">alice<' "$BD"

poll "$ID1"
check_eq "agent polls after approval: 200" 200 "$AZT_STATUS"
AT=$(jq -r .access_token <<<"$AZT_BODY")
RT=$(jq -r .refresh_token <<<"$AZT_BODY")
check_match "agent gets a refresh token" '.{20,}' "$RT"
check_eq "the access token carries the session id" "$SID" "$(jwt_claims "$AT" | jq -r .sid)"
check_eq "the access token is alice's" "$ALICE" "$(jwt_claims "$AT" | jq -r .sub)"

http POST "$INTROSPECT" -u "$AGENT:$AGENT_SECRET" --data-urlencode "token=$AT"
check_eq "introspection before revocation: active, with sid" "true $SID" \
  "$(jq -r '"\(.active) \(.sid)"' <<<"$AZT_BODY")"

# ---------------------------------------------------------------- revoke

revoke_form "$AJAR" "$SID" ""
check_eq "revoke without csrf_token: 403" 403 "$ST"
revoke_form "$BJAR" "$SID" "$BCSRF"
check_eq "bob revokes alice's session: 404" 404 "$ST"
check_eq "the session is still active" "" "$(sql "SELECT revoked_at FROM grants WHERE id = '$SID'")"
http POST "$INTROSPECT" -u "$AGENT:$AGENT_SECRET" --data-urlencode "token=$AT"
check_eq "introspection after the refused revocations: still active" true "$(jq -r .active <<<"$AZT_BODY")"

revoke_form "$AJAR" "$SID" "$ACSRF"
check_eq "alice revokes the session: 303 back to the list" "303 $APPROVALS?notice=revoked" "$ST $(header location)"
check_headers "revoke redirect"
check_match "the session is revoked" '^[0-9]{4}-' "$(sql "SELECT revoked_at FROM grants WHERE id = '$SID'")"
fetch GET "$APPROVALS?notice=revoked" -b "$AJAR" -c "$AJAR"
check_not "list after revocation: the session is gone" grep -q "id=\"session-$SID\"" <<<"$BD"
check_contains "list after revocation: no active sessions" 'id="no-sessions"' "$BD"
check_contains "list after revocation: the notice" 'notice-revoked' "$BD"

http POST "$INTROSPECT" -u "$AGENT:$AGENT_SECRET" --data-urlencode "token=$AT"
check_eq "introspection after revocation: active false" false "$(jq -r .active <<<"$AZT_BODY")"
http POST "$TOKEN" -u "$AGENT:$AGENT_SECRET" --data-urlencode grant_type=refresh_token \
  --data-urlencode "refresh_token=$RT"
check_eq "refresh after revocation: invalid_grant" "400 invalid_grant" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
revoke_form "$AJAR" "$SID" "$ACSRF"
check_eq "revoking again: 409" 409 "$ST"
fetch GET "$APPROVALS/$ID1" -b "$AJAR" -c "$AJAR"
check_contains "request page after revocation: says the session was revoked" 'class="session-revoked"' "$BD"
admin GET "/admin/v1/tenants/acme/sessions?user=$ALICE"
check_eq "admin API: the session is revoked" revoked \
  "$(jq -r --arg s "$SID" '.sessions[] | select(.sid == $s) | .state' <<<"$AZT_BODY")"

# ---------------------------------------------------------------- deny

bc_request "Delete the stale branches" session_ttl=300
ID2=$REQ_ID
poll "$ID2"
check_eq "second request: authorization_pending" authorization_pending "$(jq -r .error <<<"$AZT_BODY")"
fetch GET "$APPROVALS/$ID2" -b "$AJAR" -c "$AJAR"
check_contains "second request page: 5 minutes" 'id="duration">5 minutes' "$BD"
decide "$AJAR" "$ID2" deny "$(hidden csrf_token)"
check_eq "alice denies: 303 back to the list" "303 $APPROVALS?notice=denied" "$ST $(header location)"
check_eq "the request is denied" denied "$(state_of "$ID2")"
sleep 5.2   # the poll interval (5 s): polling faster gets slow_down
poll "$ID2"
check_eq "agent polls after the denial: access_denied" "400 access_denied" \
  "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
decide "$AJAR" "$ID2" approve "$ACSRF"
check_eq "approving a denied request: 409" "409 denied" "$ST $(state_of "$ID2")"
fetch GET "$APPROVALS/$ID2" -b "$AJAR" -c "$AJAR"
check_contains "denied request page: its state, no form" 'data-state="denied"' "$BD"
check_not "denied request page: no decision form" grep -q 'id="decision-form"' <<<"$BD"

# ---------------------------------------------------------------- expired

bc_request "Expires at once" requested_expiry=1
ID3=$REQ_ID
sleep 1.5
fetch GET "$APPROVALS" -b "$AJAR" -c "$AJAR"
check_not "an expired request is not listed as pending" grep -q "$ID3" <<<"$BD"
fetch GET "$APPROVALS/$ID3" -b "$AJAR" -c "$AJAR"
check_eq "expired request page: 200" 200 "$ST"
check_contains "expired request page: says so" 'data-state="expired"' "$BD"
check_not "expired request page: no decision form" grep -q 'id="decision-form"' <<<"$BD"
decide "$AJAR" "$ID3" approve "$ACSRF"
check_eq "approving an expired request: 409" 409 "$ST"
check_eq "no session for the expired request" "" "$(sql "SELECT grant_id FROM ciba_requests WHERE auth_req_id = '$ID3'")"

# ---------------------------------------------------------------- sign-in ends

fetch GET "$APPROVALS" -b "authz_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
check_eq "an unknown session cookie: 303 to sign in" "303 $ISS/login?return_to=%2Fapprovals" "$ST $(header location)"

# ---------------------------------------------------------------- audit

audit() { admin GET "/admin/v1/tenants/acme/audit?event=$1"; }
audit session.approved
check_eq "audit: session.approved names the approver" alice \
  "$(jq -r --arg s "$SID" '.events[] | select(.session_id == $s) | .details.approver' <<<"$AZT_BODY")"
check_eq "audit: session.approved on the web channel" web \
  "$(jq -r --arg s "$SID" '.events[] | select(.session_id == $s) | .details.channel' <<<"$AZT_BODY")"
check_eq "audit: session.approved has alice as subject" "$ALICE" \
  "$(jq -r --arg s "$SID" '.events[] | select(.session_id == $s) | .subject' <<<"$AZT_BODY")"
audit session.denied
check_eq "audit: session.denied names the approver" alice \
  "$(jq -r --arg id "$ID2" '.events[] | select(.details.auth_req_id == $id) | .details.approver' <<<"$AZT_BODY")"
audit session.revoked
check_eq "audit: session.revoked by the person" "person:alice" \
  "$(jq -r --arg s "$SID" '.events[] | select(.session_id == $s) | .details.by' <<<"$AZT_BODY")"
check_eq "audit: one session.revoked row" 1 \
  "$(jq --arg s "$SID" '[.events[] | select(.session_id == $s)] | length' <<<"$AZT_BODY")"
check_eq "audit: one decision row per request" 1 \
  "$(sql "SELECT count(*) FROM audit WHERE event IN ('session.approved', 'session.denied') AND details->>'auth_req_id' = '$ID1'")"
check_eq "audit rows hold no CSRF token or cookie" 0 \
  "$(sql "SELECT count(*) FROM audit WHERE audit::text LIKE '%$ACSRF%'")"

authz_stop main
done_testing
