#!/usr/bin/env bash
# t_trust.sh: trust policies and private_key_jwt through real HTTP (SPEC §3,
# §7, issue 4):
# - the admin API for trust policies: PUT (create 201 / replace 200), GET,
#   list, DELETE, every validation error as an RFC 9457 problem with no row
#   written (missing audience, http jwks_uri to a non-loopback host, unknown
#   maps_to_client, ...), admin.changed audit rows, tenant isolation, and the
#   authz_cache notification that makes every authzd drop its cached policies;
# - private_key_jwt (RFC 7523) client authentication with keys made by
#   openssl and assertions signed by a tiny python helper that calls openssl:
#   aud = issuer / token endpoint / array, client found by sub, jti single-use
#   across two authzd sharing the database, and every refusal (replay, wrong
#   aud, expired, too long-lived, alg none, HS256 with the public key, wrong
#   key, wrong type, ...) answered invalid_client with a client_auth.failed
#   audit row, never a 5xx; keys from an inline jwks and from a jwks_uri
#   (http on loopback; https with the certificate chain and host name
#   checked against a test CA given through SSL_CERT_FILE);
# - trust_verify in a live token exchange: a foreign person token (subject
#   policy) and a Kubernetes-shaped workload token (actor policy, act.wid) on
#   a second authzd, and a policy deletion made through the first one taking
#   effect there within a second.
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

# ---------------------------------------------------------------- helper
# jwt.py: JWKs of openssl keys, and client assertions signed with openssl
# (ES256 as raw r||s, EdDSA, HS256, none).
cat > "$AZT_TMP/jwt.py" <<'PY'
import base64, hashlib, hmac, json, os, subprocess, sys, tempfile, time

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def spki(key):
    return subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                          capture_output=True, check=True).stdout

def is_ed(key):
    return len(spki(key)) == 44

def jwk(key, kid):
    der = spki(key)
    if len(der) == 44:
        j = {"kty": "OKP", "crv": "Ed25519", "x": b64u(der[-32:])}
    else:
        j = {"kty": "EC", "crv": "P-256", "x": b64u(der[-64:-32]), "y": b64u(der[-32:])}
    j["kid"] = kid
    return j

def der_to_raw(der):
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(32, b"\x00")
        i += 2 + n
    return out

def sign(key, hdr, claims, der=False):
    si = (b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
          b64u(json.dumps(claims, separators=(",", ":")).encode())).encode()
    alg = hdr.get("alg")
    if alg == "none":
        sig = b""
    elif alg == "HS256":
        sig = hmac.new(os.environ["HS_SECRET"].encode(), si, hashlib.sha256).digest()
    elif alg == "EdDSA":
        with tempfile.NamedTemporaryFile() as f:
            f.write(si)
            f.flush()
            sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", f.name],
                                 capture_output=True, check=True).stdout
    else:
        d = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=si,
                           capture_output=True, check=True).stdout
        sig = d if der else der_to_raw(d)
    return si.decode() + "." + b64u(sig)

def merge(base, over, now):
    for k, v in over.items():
        if v is None:
            base.pop(k, None)
        elif k in ("exp", "iat", "nbf") and isinstance(v, str) and v[:1] in "+-":
            base[k] = now + int(v)
        else:
            base[k] = v
    return base

cmd = sys.argv[1]
if cmd == "jwk":
    print(json.dumps(jwk(sys.argv[2], sys.argv[3]), separators=(",", ":")))
elif cmd == "assertion":
    # assertion KEY KID CLIENT_ID AUD [CLAIM_OVERRIDES] [HEADER_OVERRIDES] [der]
    key, kid, cid, aud = sys.argv[2:6]
    over = json.loads(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6] else {}
    hover = json.loads(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[7] else {}
    der = len(sys.argv) > 8 and sys.argv[8] == "der"
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": json.loads(aud) if aud.startswith("[") else aud,
              "exp": now + 120, "iat": now, "jti": b64u(os.urandom(16))}
    hdr = {"alg": "EdDSA" if is_ed(key) else "ES256", "kid": kid, "typ": "JWT"}
    print(sign(key, merge(hdr, hover, now), merge(claims, over, now), der))
elif cmd == "token":
    # token KEY KID CLAIMS: any claims ("+N"/"-N" times relative to now)
    key, kid = sys.argv[2:4]
    now = int(time.time())
    hdr = {"alg": "EdDSA" if is_ed(key) else "ES256", "kid": kid, "typ": "JWT"}
    print(sign(key, hdr, merge({}, json.loads(sys.argv[4]), now)))
elif cmd == "payload":
    p = sys.argv[2].split(".")[1]
    print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())
PY
jwtpy() { python3 "$AZT_TMP/jwt.py" "$@"; }

for k in k1 k2; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$AZT_TMP/$k.pem" 2>/dev/null
done
openssl genpkey -algorithm ED25519 -out "$AZT_TMP/ed.pem" 2>/dev/null
jwk1=$(jwtpy jwk "$AZT_TMP/k1.pem" k1)
jwk_ed=$(jwtpy jwk "$AZT_TMP/ed.pem" e1)

# ---------------------------------------------------------------- setup

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start main "$port"
base=${AZT_URL[main]}

admin POST /admin/v1/tenants '{"slug":"acme","display_name":"Acme"}'
status_is "tenant acme created" 201
admin POST /admin/v1/tenants '{"slug":"other","display_name":"Other"}'
status_is "tenant other created" 201
issuer=$base/t/acme
token_ep=$issuer/oauth2/token

admin POST /admin/v1/tenants/acme/clients \
  '{"client_name":"k8s agent","grant_types":["client_credentials"],"allowed_scopes":["approvals:decide"]}'
status_is "agent client created" 201
agent=$(jget .client_id)
agent_secret=$(jget .client_secret)
admin POST /admin/v1/tenants/other/clients '{"client_name":"elsewhere","grant_types":["client_credentials"]}'
status_is "a client of tenant other created" 201
foreign_client=$(jget .client_id)

n_policies() { psql_db -c "SELECT count(*) FROM trust_policies"; }
snapshot() { psql_db -c "SELECT coalesce(string_agg(name || '/' || audience || '/' || updated_at, ',' ORDER BY name), '') FROM trust_policies"; }
last_admin_action() {
  psql_db -c "SELECT details->>'action' || ' ' || (details->>'target') FROM audit WHERE event = 'admin.changed' ORDER BY id DESC LIMIT 1"
}
hdrs=$AZT_TMP/headers
header() { grep -i "^$1:" "$hdrs" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
put_policy() {
  local name=$1 body=$2
  admin PUT "/admin/v1/tenants/acme/trust-policies/$name" "$body"
}

# ---------------------------------------------------------------- admin API

k8s_iss=https://kubernetes.default.svc.cluster.local
policy=$(jq -nc --arg iss "$k8s_iss" --argjson jwk "$jwk1" --arg aud "$issuer" --arg agent "$agent" \
  '{issuer:$iss, jwks:{keys:[$jwk]}, audience:$aud, subject_pattern:"system:serviceaccount:agents:*",
    required_claims:{"environment":"prod"}, max_token_age:3600, use:["actor"], maps_to_client:$agent}')

http PUT "$base/admin/v1/tenants/acme/trust-policies/k8s" -D "$hdrs" \
  -H "Authorization: Bearer $(root_token)" -H 'Content-Type: application/json' --data-binary "$policy"
status_is "PUT a new trust policy answers 201" 201
check_eq "PUT 201 names the policy in Location" "/admin/v1/tenants/acme/trust-policies/k8s" "$(header location)"
check_eq "PUT answers the stored policy" \
  "k8s|$k8s_iss|$issuer|system:serviceaccount:agents:*|prod|3600|actor|$agent|null|null" \
  "$(jget '[.name,.issuer,.audience,.subject_pattern,.required_claims.environment,.max_token_age,(.use|join(",")),.maps_to_client,.user_claim,.jwks_uri]|map(tostring)|join("|")')"
check_eq "the stored jwks is the JWK Set given" "$(jq -c '.kid' <<<"$jwk1")" "$(jget '.jwks.keys[0].kid|tojson')"
check_match "created_at and updated_at are RFC 3339" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z\|.*Z$' "$(jget '.created_at + "|" + .updated_at')"
check_eq "the creation is audited (admin.changed)" "trust_policy.create k8s" "$(last_admin_action)"

admin GET /admin/v1/tenants/acme/trust-policies/k8s
status_is "GET the policy answers 200" 200
check_eq "GET shows the policy" "k8s $agent" "$(jget '.name + " " + .maps_to_client')"
doc=$AZT_BODY

# a GET document can be PUT back unchanged (name, created_at, updated_at are read-only)
put_policy k8s "$doc"
status_is "PUT of the GET document replaces it (200)" 200
check_eq "the replacement is audited" "trust_policy.update k8s" "$(last_admin_action)"
put_policy k8s "$(jq -c '.audience = "https://authz.example/t/acme" | del(.created_at, .updated_at, .name)' <<<"$doc")"
status_is "PUT with a new audience answers 200" 200
check_eq "the new audience is stored" "https://authz.example/t/acme" "$(jget .audience)"
check_eq "created_at is kept on replace" "$(jq -r .created_at <<<"$doc")" "$(jget .created_at)"
check_eq "one row for the policy" 1 "$(n_policies)"

# several policies may name one issuer; jwks_uri https, or http on loopback
put_policy k8s-ci "$(jq -c '.subject_pattern = "system:serviceaccount:ci:*" | del(.jwks, .required_claims) | .jwks_uri = "https://kubernetes.default.svc/openid/v1/jwks"' <<<"$policy")"
status_is "a second policy for the same issuer, with an https jwks_uri, is created" 201
put_policy spiffe "$(jq -nc --arg aud "$issuer" --arg agent "$agent" \
  '{issuer:"https://spire.example.org", jwks_uri:"http://127.0.0.1:8081/keys", audience:$aud,
    subject_pattern:"spiffe://example.org/*", use:["actor","subject"], maps_to_client:$agent, user_claim:"sub"}')"
status_is "a policy with an http loopback jwks_uri and both uses is created" 201
check_eq "use holds both" "actor,subject" "$(jget '.use|join(",")')"

admin GET /admin/v1/tenants/acme/trust-policies
status_is "GET the collection answers 200" 200
check_eq "the list names every policy, ordered by name" "k8s k8s-ci spiffe" "$(jget '[.trust_policies[].name]|join(" ")')"

# ---- validation: each refused with a problem, nothing written
refused() {
  local name=$1 pname=$2 body=$3 detail=$4 before after
  before=$(snapshot)
  http PUT "$base/admin/v1/tenants/acme/trust-policies/$pname" -D "$hdrs" \
    -H "Authorization: Bearer $(root_token)" -H 'Content-Type: application/json' --data-binary "$body"
  if [[ $AZT_STATUS == 400 && $(header content-type) == application/problem+json* &&
        $(jget .detail) == *"$detail"* ]]; then
    pass "$name: 400 problem ($detail)"
  else
    fail "$name: 400 problem ($detail)" "got HTTP $AZT_STATUS $(header content-type)" "body: ${AZT_BODY:0:800}"
  fi
  after=$(snapshot)
  check_eq "$name: no row changed" "$before" "$after"
}
mod() { jq -c "$1" <<<"$policy"; }

refused "missing audience" new "$(mod 'del(.audience)')" "audience is required"
refused "empty audience" new "$(mod '.audience = ""')" "audience must be"
refused "missing issuer" new "$(mod 'del(.issuer)')" "issuer is required"
refused "issuer not a string" new "$(mod '.issuer = 5')" "issuer must be"
refused "missing use" new "$(mod 'del(.use)')" "use is required"
refused "use with an unknown value" new "$(mod '.use = ["admin"]')" "use must be"
refused "use with a duplicate" new "$(mod '.use = ["actor","actor"]')" "use must be"
refused "use empty" new "$(mod '.use = []')" "use must be"
refused "neither jwks nor jwks_uri" new "$(mod 'del(.jwks)')" "jwks or jwks_uri is required"
refused "both jwks and jwks_uri" new "$(mod '.jwks_uri = "https://issuer.example/jwks"')" "not both"
refused "http jwks_uri to a non-loopback host" new \
  "$(mod 'del(.jwks) | .jwks_uri = "http://issuer.example/jwks"')" "loopback"
refused "http jwks_uri sneaking a host past the loopback check with userinfo" new \
  "$(mod 'del(.jwks) | .jwks_uri = "http://127.0.0.1:80@evil.example/jwks"')" "user information"
refused "jwks_uri with a fragment" new "$(mod 'del(.jwks) | .jwks_uri = "https://issuer.example/jwks#k"')" "jwks_uri"
refused "jwks_uri not http(s)" new "$(mod 'del(.jwks) | .jwks_uri = "file:///etc/passwd"')" "jwks_uri"
refused "unknown maps_to_client" new "$(mod '.maps_to_client = "no-such-client"')" "maps_to_client names no client"
refused "maps_to_client of another tenant" new \
  "$(jq -c --arg c "$foreign_client" '.maps_to_client = $c' <<<"$policy")" "maps_to_client names no client"
refused "actor use without maps_to_client" new "$(mod 'del(.maps_to_client)')" "maps_to_client is required"
refused "subject use without user_claim" new "$(mod '.use = ["subject"] | del(.maps_to_client)')" "user_claim is required"
refused "maps_to_client without actor use" new "$(mod '.use = ["subject"] | .user_claim = "sub"')" "maps_to_client applies"
refused "a symmetric (oct) key in jwks" new "$(mod '.jwks = {keys:[{kty:"oct",k:"c2VjcmV0",kid:"h"}]}')" "oct"
refused "a private key in jwks" new "$(mod '.jwks.keys[0].d = "AAAA"')" "public keys only"
refused "jwks that is not a JWK Set" new "$(mod '.jwks = {keys:"x"}')" "keys array"
refused "a key off the curve" new "$(mod '.jwks.keys[0].y = .jwks.keys[0].x')" "jwks"
refused "required_claims with a non-string value" new "$(mod '.required_claims = {"a":1}')" "required_claims"
refused "required_claims not an object" new "$(mod '.required_claims = ["a"]')" "required_claims"
refused "max_token_age zero" new "$(mod '.max_token_age = 0')" "max_token_age"
refused "max_token_age as a string" new "$(mod '.max_token_age = "60"')" "max_token_age"
refused "an unknown member" new "$(mod '.audiences = ["x"]')" "unknown member"
refused "a name differing from the path" new "$(mod '.name = "other"')" "name differs"
refused "a policy name outside [a-z0-9][a-z0-9._-]{0,62}" Bad_Name "$policy" "trust policy name"
refused "malformed JSON" new '{"issuer":' "malformed JSON"
refused "a JSON array body" new '[1]' "JSON object"
refused "an empty subject_pattern" new "$(mod '.subject_pattern = ""')" "subject_pattern"

# ---- other tenants, methods, deletion
admin GET /admin/v1/tenants/other/trust-policies/k8s
status_is "another tenant does not see the policy (404)" 404
admin GET /admin/v1/tenants/other/trust-policies
check_eq "another tenant's list is empty" "0" "$(jget '.trust_policies|length')"
admin POST /admin/v1/tenants/acme/trust-policies/k8s "$policy"
status_is "POST on a policy is 405" 405
admin POST /admin/v1/tenants/acme/trust-policies "$policy"
status_is "POST on the collection is 405" 405
admin GET /admin/v1/tenants/acme/trust-policies/nope
status_is "GET of an unknown policy is 404" 404
http GET "$base/admin/v1/tenants/acme/trust-policies/k8s"
status_is "the admin API needs a token" 401

# every authzd drops its cached policies on a change (authz_cache NOTIFY)
notes=$(psql_db -c "LISTEN authz_cache; UPDATE trust_policies SET updated_at = now() WHERE name = 'k8s'; SELECT 1" 2>&1 || true)
tid=$(psql_db -c "SELECT id FROM tenants WHERE slug = 'acme'")
check_contains "a trust policy change notifies authz_cache with the tenant id" "payload \"$tid\"" "$notes"

admin DELETE /admin/v1/tenants/acme/trust-policies/k8s-ci
status_is "DELETE a policy answers 204" 204
check_eq "the deletion is audited" "trust_policy.delete k8s-ci" "$(last_admin_action)"
admin GET /admin/v1/tenants/acme/trust-policies/k8s-ci
status_is "the deleted policy is gone (404)" 404
admin DELETE /admin/v1/tenants/acme/trust-policies/k8s-ci
status_is "DELETE of a missing policy is 404" 404
check_eq "two policies are left" 2 "$(n_policies)"

# ---------------------------------------------------------------- private_key_jwt

doc=$(discovery main acme)
check_eq "metadata lists private_key_jwt" "true" \
  "$(jq '.token_endpoint_auth_methods_supported | index("private_key_jwt") != null' <<<"$doc")"
check_eq "metadata lists the assertion signing algorithms" "true" \
  "$(jq '.token_endpoint_auth_signing_alg_values_supported | (index("ES256") != null and index("EdDSA") != null and index("none") == null and index("HS256") == null)' <<<"$doc")"

admin POST /admin/v1/tenants/acme/clients "$(jq -nc --argjson jwk "$jwk1" \
  '{client_name:"pkj agent", token_endpoint_auth_method:"private_key_jwt", jwks:{keys:[$jwk]},
    grant_types:["client_credentials"], allowed_scopes:["approvals:decide"]}')"
status_is "a private_key_jwt client is created" 201
pkj=$(jget .client_id)
check_eq "a private_key_jwt client gets no secret" "null" "$(jget .client_secret)"

statuses=()
# token ASSERTION [curl args...]: client_credentials with a client assertion
token() {
  local a=$1; shift
  http POST "$token_ep" --data-urlencode grant_type=client_credentials \
    --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$a" "$@"
  statuses+=("$AZT_STATUS")
}
assertion() { jwtpy assertion "$AZT_TMP/k1.pem" k1 "$pkj" "$@"; }
last_failure() {
  psql_db -c "SELECT coalesce(client_id, '-') || ' | ' || reason FROM audit WHERE event = 'client_auth.failed' ORDER BY id DESC LIMIT 1"
}
# refused_auth NAME REASON-SUBSTRING ASSERTION [curl args...]
refused_auth() {
  local name=$1 reason=$2 a=$3; shift 3
  local before
  before=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'client_auth.failed'")
  token "$a" "$@"
  if [[ $AZT_STATUS == 401 && $(jget .error) == invalid_client ]]; then
    pass "$name: 401 invalid_client"
  else
    fail "$name: 401 invalid_client" "got HTTP $AZT_STATUS" "body: ${AZT_BODY:0:500}"
  fi
  check_eq "$name: one client_auth.failed audit row" "$((before + 1))" \
    "$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'client_auth.failed'")"
  check_contains "$name: the audit row says why" "$reason" "$(last_failure)"
}

a1=$(assertion "$issuer")
token "$a1" -d "client_id=$pkj"
status_is "an assertion with aud = issuer and client_id in the body gets a token" 200
payload=$(jwtpy payload "$(jget .access_token)")
check_eq "the token is the client's own (sub = client_id = the assertion's client)" "$pkj $pkj" \
  "$(jq -r '.sub + " " + .client_id' <<<"$payload")"
a2=$(assertion "$token_ep")
token "$a2"
status_is "an assertion with aud = token endpoint and no client_id (found by sub) gets a token" 200
a3=$(assertion "[\"https://elsewhere.example\",\"$issuer\"]")
token "$a3"
status_is "an assertion with an aud array naming the issuer gets a token" 200

refused_auth "a replayed assertion (same jti)" "replay" "$a1" -d "client_id=$pkj"
refused_auth "a replayed assertion without client_id" "replay" "$a2"

# the jti is single-use across every authzd sharing the database
port_b=$(free_port)
authz_start b "$port_b" AUTHZ_PUBLIC_URL="$base"
http POST "${AZT_URL[b]}/t/acme/oauth2/token" --data-urlencode grant_type=client_credentials \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode "client_assertion=$a3"
check_eq "an assertion used on one authzd is refused by another (401)" 401 "$AZT_STATUS"
a4=$(assertion "$issuer")
http POST "${AZT_URL[b]}/t/acme/oauth2/token" --data-urlencode grant_type=client_credentials \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode "client_assertion=$a4"
check_eq "a fresh assertion works on the other authzd (200)" 200 "$AZT_STATUS"
refused_auth "then it is refused on the first" "replay" "$a4"
authz_stop b

other_iss=$base/t/other
refused_auth "aud naming another tenant" "aud names neither" "$(assertion "$other_iss")"
refused_auth "aud naming the issuer with a trailing slash" "aud names neither" "$(assertion "$issuer/")"
refused_auth "no aud" "aud names neither" "$(assertion "$issuer" '{"aud":null}')"
refused_auth "exp an hour ahead (more than 5 minutes)" "too far in the future" "$(assertion "$issuer" '{"exp":"+3600"}')"
refused_auth "expired" "expired" "$(assertion "$issuer" '{"exp":"-120"}')"
refused_auth "no exp" "exp is required" "$(assertion "$issuer" '{"exp":null}')"
refused_auth "nbf in the future" "nbf" "$(assertion "$issuer" '{"nbf":"+300"}')"
refused_auth "iat in the future" "iat" "$(assertion "$issuer" '{"iat":"+300"}')"
refused_auth "no jti" "jti" "$(assertion "$issuer" '{"jti":null}')"
refused_auth "iss not the client_id" "iss is not the client_id" "$(assertion "$issuer" '{"iss":"someone-else"}')"
refused_auth "sub naming an unknown client" "unknown client" "$(assertion "$issuer" '{"sub":"no-such-client"}')"
refused_auth "client_id in the body differing from sub" "differs" "$(assertion "$issuer")" -d "client_id=$agent"
refused_auth "alg none (no signature)" "unsigned" "$(assertion "$issuer" '' '{"alg":"none"}')"
refused_auth "alg none with a signature" "alg none" \
  "$(assertion "$issuer" '' '{"alg":"none"}' | sed 's/\.$/.AAAA/')"
refused_auth "HS256 with the public JWK as the secret (algorithm confusion)" "symmetric" \
  "$(HS_SECRET="$jwk1" assertion "$issuer" '' '{"alg":"HS256"}')"
refused_auth "signed by another key under the client's kid" "bad signature" \
  "$(jwtpy assertion "$AZT_TMP/k2.pem" k1 "$pkj" "$issuer")"
refused_auth "a kid the client did not register" "kid" \
  "$(jwtpy assertion "$AZT_TMP/k1.pem" k9 "$pkj" "$issuer")"
refused_auth "an ES256 signature in DER instead of r||s" "wrong length" "$(assertion "$issuer" '' '' der)"
refused_auth "an EdDSA header over an EC key" "does not fit" "$(assertion "$issuer" '' '{"alg":"EdDSA"}')"
a=$(assertion "$issuer")
http POST "$token_ep" --data-urlencode grant_type=client_credentials \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:saml2-bearer \
  --data-urlencode "client_assertion=$a"
statuses+=("$AZT_STATUS")
status_is "a wrong client_assertion_type is 401" 401
check_contains "the wrong type is audited" "client_assertion_type" "$(last_failure)"
http POST "$token_ep" --data-urlencode grant_type=client_credentials --data-urlencode "client_assertion=$a"
statuses+=("$AZT_STATUS")
status_is "a missing client_assertion_type is 401" 401
refused_auth "garbage assertion" "not a JWS" "not-a-jwt"
refused_auth "three garbage parts" "malformed" "a.b.c"
refused_auth "truncated assertion" "" "${a:0:$(( ${#a} - 5 ))}"
big=$(head -c 20000 /dev/zero | tr '\0' 'A')
token "$big.$big.$big"
check_match "an oversized assertion is a 4xx" '^4[0-9][0-9]$' "$AZT_STATUS"

token "$(assertion "$issuer")" -d "client_secret=x" -d "client_id=$pkj"
status_is "an assertion and a client_secret together are 400" 400
check_eq "... invalid_request" invalid_request "$(jget .error)"
token "$(assertion "$issuer")" -u "$agent:$agent_secret"
status_is "an assertion and HTTP Basic together are 400" 400

# a client registered for client_secret_basic cannot switch to assertions
refused_auth "an assertion from a client_secret_basic client" "does not match the registered" \
  "$(jwtpy assertion "$AZT_TMP/k1.pem" k1 "$agent" "$issuer")"
http POST "$token_ep" -d grant_type=client_credentials -d "client_id=$pkj"
statuses+=("$AZT_STATUS")
status_is "a private_key_jwt client without an assertion is 401" 401

# keys from a jwks_uri (http on loopback here), EdDSA
www=$AZT_TMP/www
mkdir -p "$www"
jq -nc --argjson jwk "$jwk_ed" '{keys:[$jwk]}' > "$www/jwks.json"
wport=$(free_port)
python3 -m http.server "$wport" --bind 127.0.0.1 --directory "$www" >"$AZT_TMP/www.log" 2>&1 &
register_pid $!
for _ in $(seq 1 50); do
  curl -fs -o /dev/null "http://127.0.0.1:$wport/jwks.json" && break
  sleep 0.1
done
admin POST /admin/v1/tenants/acme/clients "$(jq -nc --arg u "http://127.0.0.1:$wport/jwks.json" \
  '{client_name:"uri agent", token_endpoint_auth_method:"private_key_jwt", jwks_uri:$u,
    grant_types:["client_credentials"], allowed_scopes:["approvals:decide"]}')"
status_is "a private_key_jwt client with a jwks_uri is created" 201
uri_client=$(jget .client_id)
fetches() { grep -c 'GET /jwks.json' "$AZT_TMP/www.log" || true; }
f0=$(fetches)
token "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$uri_client" "$issuer")"
status_is "an EdDSA assertion verified with keys fetched from jwks_uri gets a token" 200
token "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$uri_client" "$token_ep")"
status_is "a second one is verified from the cached key set" 200
check_eq "the key set was fetched once" "$((f0 + 1))" "$(fetches)"
refused_auth "an ES256 assertion under the EdDSA key's kid" "" \
  "$(jwtpy assertion "$AZT_TMP/k1.pem" e1 "$uri_client" "$issuer")"

# keys from an https jwks_uri: the certificate chain is checked against the
# CA store (SSL_CERT_FILE names a test CA here) and must name the host
tls=$AZT_TMP/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=authz test CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
mkcert() { # mkcert NAME SAN
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$tls/$1.key" -out "$tls/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$2" > "$tls/$1.ext"
  openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/$1.ext" -out "$tls/$1.pem" 2>/dev/null
}
mkcert good "DNS:localhost,IP:127.0.0.1"
mkcert wrong "DNS:wrong.example"
cat > "$tls/serve.py" <<'PY'
import http.server, os, ssl, sys
port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
os.chdir(root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
https_good=$(free_port)
https_wrong=$(free_port)
python3 "$tls/serve.py" "$https_good" "$tls/good.pem" "$tls/good.key" "$www" >"$AZT_TMP/https-good.log" 2>&1 &
register_pid $!
python3 "$tls/serve.py" "$https_wrong" "$tls/wrong.pem" "$tls/wrong.key" "$www" >"$AZT_TMP/https-wrong.log" 2>&1 &
register_pid $!
for _ in $(seq 1 50); do
  curl -fs --cacert "$tls/ca.pem" -o /dev/null "https://localhost:$https_good/jwks.json" && break
  sleep 0.1
done
port_d=$(free_port)
authz_start d "$port_d" AUTHZ_PUBLIC_URL="$base" SSL_CERT_FILE="$tls/ca.pem"
uri_agent() { # uri_agent URL: a private_key_jwt client with that jwks_uri; prints its client_id
  admin POST /admin/v1/tenants/acme/clients "$(jq -nc --arg u "$1" \
    '{client_name:"https agent", token_endpoint_auth_method:"private_key_jwt", jwks_uri:$u,
      grant_types:["client_credentials"], allowed_scopes:["approvals:decide"]}')"
  jget .client_id
}
token_d() {
  http POST "${AZT_URL[d]}/t/acme/oauth2/token" --data-urlencode grant_type=client_credentials \
    --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$1"
  statuses+=("$AZT_STATUS")
}
c_good=$(uri_agent "https://localhost:$https_good/jwks.json")
token_d "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$c_good" "$issuer")"
status_is "keys from an https jwks_uri with a trusted certificate for the host (200)" 200
c_ip=$(uri_agent "https://127.0.0.1:$https_good/jwks.json")
token_d "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$c_ip" "$issuer")"
status_is "keys from an https jwks_uri naming an IP address in the certificate (200)" 200
c_wrong=$(uri_agent "https://localhost:$https_wrong/jwks.json")
token_d "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$c_wrong" "$issuer")"
status_is "a certificate for another host name is refused (401)" 401
check_contains "... and the audit row says so" "certificate is not trusted for this host" "$(last_failure)"
c_untrusted=$(uri_agent "https://localhost:$https_good/jwks.json?untrusted")
token "$(jwtpy assertion "$AZT_TMP/ed.pem" e1 "$c_untrusted" "$issuer")"
status_is "a certificate from a CA outside the store is refused (401, first authzd)" 401
check_contains "... and the audit row says so" "certificate is not trusted" "$(last_failure)"
authz_stop d

# ---------------------------------------------------------------- workload identity

# Token exchange with a foreign person token (subject policy) and a
# Kubernetes-shaped workload token (actor policy), on a second authzd that
# shares the database; then a policy change made through the first one
# reaches the second within a second.
resource=https://mcp.example.test/
admin POST /admin/v1/tenants/acme/resources "{\"uri\":\"$resource\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
status_is "resource created" 201
admin POST /admin/v1/tenants/acme/users '{"username":"alice","password":"correct horse battery","scopes":["tools:read"]}'
status_is "user alice created" 201
admin POST /admin/v1/tenants/acme/clients "$(jq -nc --arg r "$resource" \
  '{client_name:"workload agent", grant_types:["urn:ietf:params:oauth:grant-type:token-exchange"],
    allowed_scopes:["tools:read","tools:call"], allowed_resources:[$r], can_act_for:["alice"]}')"
status_is "workload agent created" 201
wl=$(jget .client_id)
wl_secret=$(jget .client_secret)
jwk2=$(jwtpy jwk "$AZT_TMP/k2.pem" k2)
put_policy wl-idp "$(jq -nc --argjson jwk "$jwk1" --arg aud "$issuer" \
  '{issuer:"https://idp.example", jwks:{keys:[$jwk]}, audience:$aud, use:["subject"], user_claim:"preferred_username"}')"
status_is "subject policy wl-idp created" 201
put_policy wl-k8s "$(jq -nc --argjson jwk "$jwk2" --arg aud "$issuer" --arg c "$wl" \
  '{issuer:"https://k8s.example", jwks:{keys:[$jwk]}, audience:$aud, use:["actor"],
    subject_pattern:"system:serviceaccount:agents:*", max_token_age:3600, maps_to_client:$c}')"
status_is "actor policy wl-k8s created" 201

person_jwt=$(jwtpy token "$AZT_TMP/k1.pem" k1 "$(jq -nc --arg aud "$issuer" \
  '{iss:"https://idp.example", sub:"u-123", aud:$aud, exp:"+300", iat:"+0", preferred_username:"alice"}')")
wl_jwt=$(jwtpy token "$AZT_TMP/k2.pem" k2 "$(jq -nc --arg aud "$issuer" \
  '{iss:"https://k8s.example", sub:"system:serviceaccount:agents:planner", aud:[$aud], exp:"+300", iat:"+0",
    "kubernetes.io":{namespace:"agents"}}')")
port_c=$(free_port)
authz_start c "$port_c" AUTHZ_PUBLIC_URL="$base"
exchange() {
  http POST "${AZT_URL[c]}/t/acme/oauth2/token" -u "$wl:$wl_secret" \
    --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
    --data-urlencode "subject_token=$person_jwt" \
    --data-urlencode subject_token_type=urn:ietf:params:oauth:token-type:jwt \
    --data-urlencode "actor_token=$1" \
    --data-urlencode actor_token_type=urn:ietf:params:oauth:token-type:jwt \
    --data-urlencode "resource=$resource"
  statuses+=("$AZT_STATUS")
}
exchange "$wl_jwt"
status_is "a foreign person token and a workload token exchange for an access token" 200
payload=$(jwtpy payload "$(jget .access_token)")
check_eq "the exchanged token names the workload in act.wid" \
  "$wl|https://k8s.example|system:serviceaccount:agents:planner" \
  "$(jq -r '[.act.sub, .act.wid.iss, .act.wid.sub] | join("|")' <<<"$payload")"
exchange "$wl_jwt"
status_is "the workload token may be presented again while valid" 200
exchange "$(jwtpy token "$AZT_TMP/k2.pem" k2 "$(jq -nc --arg aud "$issuer" \
  '{iss:"https://k8s.example", sub:"system:serviceaccount:default:planner", aud:$aud, exp:"+300", iat:"+0"}')")"
status_is "a workload token outside the policy's subject_pattern is refused (400)" 400
check_eq "... as invalid_request" invalid_request "$(jget .error)"
exchange "$(jwtpy token "$AZT_TMP/k1.pem" k2 "$(jq -nc --arg aud "$issuer" \
  '{iss:"https://k8s.example", sub:"system:serviceaccount:agents:planner", aud:$aud, exp:"+300", iat:"+0"}')")"
status_is "a workload token signed by a key the policy does not hold is refused (400)" 400

admin DELETE /admin/v1/tenants/acme/trust-policies/wl-k8s
status_is "the actor policy is deleted through the first authzd" 204
sleep 1
exchange "$wl_jwt"
status_is "within a second the other authzd refuses the workload token (400)" 400
check_contains "... because no policy names the issuer any more" "no trust policy" "$(jget .error_description)"
authz_stop c

bad=0
for s in "${statuses[@]}"; do [[ $s == 5* || $s == 000 ]] && bad=$((bad + 1)); done
check_eq "no token request was answered 5xx (or not at all)" 0 "$bad"

authz_stop main
done_testing
