#!/usr/bin/env bash
# t_sealed.sh: secrets authz must use again are sealed at rest under the
# tenant's key (AES-256-GCM, as the signing keys are): a tenant's approval
# webhook secret and a CIBA client's client_notification_token. The database
# never holds them in the clear, deliveries still carry them (the webhook
# signature verifies with the secret, the ping carries the bearer token), and
# a webhook secret stored in the clear by an older authzd is sealed at start
# and keeps working.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start main "$port" AUTHZ_THREADS=2
B=${AZT_URL[main]}
RES=https://api.example.test/

admin POST /admin/v1/tenants '{"slug":"seal","display_name":"Sealed"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/seal/resources "{\"uri\":\"$RES\",\"scopes\":[\"read\"]}"
admin POST /admin/v1/tenants/seal/users '{"username":"alice","password":"a long password","scopes":["read"]}'
check_eq "person created" 201 "$AZT_STATUS"

# a receiver for webhooks and pings: each POST is kept as N.json
rx=$AZT_TMP/rx
rx_start "$rx"

# wait_rx PATH TEXT -> the first kept POST to PATH whose body holds TEXT
wait_rx() {
  local f
  for _ in $(seq 1 100); do
    for f in "$rx"/*.json; do
      [[ -e $f ]] || continue
      if [[ $(jq -r .path "$f") == "$1" && $(jq -r .body "$f") == *"$2"* ]]; then cat "$f"; return 0; fi
    done
    sleep 0.1
  done
  return 1
}
# any POST kept so far holds TEXT
wait_rx_now() { grep -qlF "$1" "$rx"/*.json 2>/dev/null; }
# the Authz-Signature of a kept POST verifies under SECRET
signature_ok() { # JSON SECRET
  local h t v1 mac
  h=$(jq -r '.headers["authz-signature"]' <<<"$1")
  t=${h#t=}; t=${t%%,*}
  v1=${h##*v1=}
  mac=$(printf '%s.%s' "$t" "$(jq -r .body <<<"$1")" | openssl dgst -sha256 -hmac "$2" -r | cut -d' ' -f1)
  [[ -n $v1 && $mac == "$v1" ]]
}

admin POST /admin/v1/tenants/seal/clients "{\"client_name\":\"agent\",\"grant_types\":[\"client_credentials\",\"urn:openid:params:grant-type:ciba\"],\"allowed_scopes\":[\"read\"],\"allowed_resources\":[\"$RES\"],\"backchannel_token_delivery_mode\":\"ping\",\"backchannel_client_notification_endpoint\":\"$RX/ping\"}"
check_eq "a ping-mode CIBA client is created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
admin POST /admin/v1/tenants/seal/clients '{"client_name":"approver","grant_types":["client_credentials"],"allowed_scopes":["approvals:decide"]}'
acid=$(jq -r .client_id <<<"$AZT_BODY"); asec=$(jq -r .client_secret <<<"$AZT_BODY")
decider=$(curl -s -u "$acid:$asec" "$B/t/seal/oauth2/token" -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)

# ---------------------------------------------------------------- the webhook secret
secret=webhook-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin PATCH /admin/v1/tenants/seal "{\"approval_webhook_url\":\"$RX/hook\",\"approval_webhook_secret\":\"$secret\"}"
check_eq "the webhook and its secret are set" 200 "$AZT_STATUS"
stored=$(psql_db -c "SELECT approval_webhook_secret FROM tenants WHERE slug = 'seal'")
check_match "the stored webhook secret is sealed" '^sealed:v1:[A-Za-z0-9_-]+$' "$stored"
check_not "... and does not hold the secret" grep -qF "$secret" <<<"$stored"

cnt=cnt-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
http POST "$B/t/seal/oauth2/bc-authorize" -u "$cid:$sec" -d login_hint=alice -d scope=read \
  --data-urlencode "resource=$RES" -d "binding_message=sealed one" -d "client_notification_token=$cnt"
check_eq "a ping-mode request is accepted" 200 "$AZT_STATUS"
areq=$(jq -r .auth_req_id <<<"$AZT_BODY")
stored_cnt=$(psql_db -c "SELECT notification_token FROM ciba_requests WHERE auth_req_id = '$areq'")
check_match "the stored client_notification_token is sealed" '^sealed:v1:[A-Za-z0-9_-]+$' "$stored_cnt"
check_not "... and does not hold the token" grep -qF "$cnt" <<<"$stored_cnt"

hook=$(wait_rx /hook "$areq" || true)
check "the approval webhook is delivered" test -n "$hook"
check "its signature verifies with the secret set through the admin API" signature_ok "$hook" "$secret"
check_not "... and not with another" signature_ok "$hook" "not-$secret"

curl -s -o /dev/null -XPOST "$B/t/seal/approvals/$areq/decision" -H "Authorization: Bearer $decider" \
  -d '{"decision":"approve","approver":"alice"}'
ping=$(wait_rx /ping "$areq" || true)
check "the ping is delivered" test -n "$ping"
check_eq "it carries the client_notification_token, opened again" "Bearer $cnt" \
  "$(jq -r .headers.authorization <<<"$ping")"
check_eq "the outbox row held it sealed" 0 \
  "$(psql_db -c "SELECT count(*) FROM outbox WHERE bearer LIKE '%$cnt%'")"

# ---------------------------------------------------------------- a secret stored in the clear
legacy=legacy-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
psql_db -c "UPDATE tenants SET approval_webhook_secret = '$legacy' WHERE slug = 'seal'" >/dev/null
authz_stop main
authz_start main "$port" AUTHZ_THREADS=2
sealed_again=false
for _ in $(seq 1 50); do
  [[ $(psql_db -c "SELECT approval_webhook_secret LIKE 'sealed:v1:%' FROM tenants WHERE slug = 'seal'") == t ]] && { sealed_again=true; break; }
  sleep 0.1
done
check_eq "a webhook secret left in the clear is sealed when authzd starts" true "$sealed_again"
http POST "$B/t/seal/oauth2/bc-authorize" -u "$cid:$sec" -d login_hint=alice -d scope=read \
  --data-urlencode "resource=$RES" -d "binding_message=sealed two" -d "client_notification_token=$cnt"
areq2=$(jq -r .auth_req_id <<<"$AZT_BODY")
hook2=$(wait_rx /hook "$areq2" || true)
check "... and the webhook is still signed with it" signature_ok "$hook2" "$legacy"

# ---------------------------------------------------------------- tampering
psql_db -c "UPDATE tenants SET approval_webhook_secret = 'sealed:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE slug = 'seal'" >/dev/null
http POST "$B/t/seal/oauth2/bc-authorize" -u "$cid:$sec" -d login_hint=alice -d scope=read \
  --data-urlencode "resource=$RES" -d "binding_message=sealed three" -d "client_notification_token=$cnt"
areq3=$(jq -r .auth_req_id <<<"$AZT_BODY")
failed=false
for _ in $(seq 1 50); do
  err=$(psql_db -c "SELECT coalesce(last_error, '') FROM outbox WHERE auth_req_id = '$areq3' AND kind = 'webhook'")
  [[ $err == *sealed* ]] && { failed=true; break; }
  sleep 0.1
done
check_eq "a sealed secret that does not open is never sent unsigned: the delivery fails" true "$failed"
check_not "... and nothing reached the receiver" wait_rx_now "$areq3"

authz_stop main
done_testing
