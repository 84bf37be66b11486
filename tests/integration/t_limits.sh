#!/usr/bin/env bash
# t_limits.sh: the explicit limits of the HTTP layer and the token endpoint
# (issue 6 item 6): per-client token rate limit (429 + Retry-After), request
# head and body size, slow clients, and the connection limit; each set in
# the configuration, each answered in the endpoint's error format.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start main "$port" AUTHZ_TOKEN_RATE_LIMIT=5 AUTHZ_MAX_BODY_BYTES=4096 \
  AUTHZ_MAX_HEADER_BYTES=2048 AUTHZ_READ_TIMEOUT=2 AUTHZ_MAX_CONNECTIONS=20
B=${AZT_URL[main]}

admin POST /admin/v1/tenants '{"slug":"lim","display_name":"Limits"}'
admin POST /admin/v1/tenants/lim/clients '{"grant_types":["client_credentials"],"allowed_scopes":["read"]}'
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
admin POST /admin/v1/tenants/lim/clients '{"grant_types":["client_credentials"],"allowed_scopes":["read"]}'
cid2=$(jq -r .client_id <<<"$AZT_BODY"); sec2=$(jq -r .client_secret <<<"$AZT_BODY")
T=$B/t/lim/oauth2/token

# ---- rate limit: 5 per second with bursts of 5
codes=$(for _ in $(seq 1 15); do
  curl -s -o /dev/null -w '%{http_code}\n' -u "$cid:$sec" "$T" -d grant_type=client_credentials
done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
check_match "a burst of 15 token requests: some 200, the rest 429 ($codes)" '200;.*429' "$codes"
for _ in $(seq 1 20); do
  code=$(curl -s -D "$AZT_TMP/h" -o "$AZT_TMP/b" -w '%{http_code}' -u "$cid:$sec" "$T" -d grant_type=client_credentials)
  [[ $code == 429 ]] && break
done
check_match "429 carries Retry-After" '^[Rr]etry-[Aa]fter: [0-9]+' "$(grep -i '^retry-after' "$AZT_TMP/h" | tr -d '\r')"
check_eq "429 body is an OAuth error" temporarily_unavailable "$(jq -r .error "$AZT_TMP/b")"
http POST "$T" -u "$cid2:$sec2" -d grant_type=client_credentials
check_eq "another client is not limited by the first one's burst" 200 "$AZT_STATUS"
sleep 1.2
http POST "$T" -u "$cid:$sec" -d grant_type=client_credentials
check_eq "after a second the client may ask again" 200 "$AZT_STATUS"

# ---- body limit
head -c 10000 /dev/zero | tr '\0' a > "$AZT_TMP/big"
http POST "$T" -u "$cid2:$sec2" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$AZT_TMP/big"
check_eq "a body over max_body_bytes: 413" 413 "$AZT_STATUS"
check_eq "... with an OAuth error body" invalid_request "$(jq -r .error <<<"$AZT_BODY")"

# ---- head limit
long=$(head -c 3000 /dev/zero | tr '\0' b)
http GET "$B/healthz" -H "X-Long: $long"
check_eq "a request head over max_header_bytes: 431" 431 "$AZT_STATUS"

# ---- slow client: half a request, then silence past read_timeout
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /t/lim/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngrant' >&3
t0=$SECONDS
answer=$(timeout 10 cat <&3 || true)
exec 3<&-
check_match "a client that stops sending is answered 408" '^HTTP/1.1 408' "$answer"
check "... after read_timeout, not before ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 1
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3
t0=$SECONDS
timeout 10 cat <&3 >/dev/null || true
exec 3<&-
check "a client that never finishes its head is disconnected ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 5

# ---- a head whose last line ends in a bare LF, then CRLF (RFC 9112 §2.2)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.1\r\nHost: x\nConnection: close\n\r\n' >&3
t0=$SECONDS
answer=$(timeout 10 cat <&3 || true)
exec 3<&-
check_match "a head ending LF CRLF is answered" '^HTTP/1.1 200' "$answer"
check "... at once, not after read_timeout ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 2

# ---- connection limit: 20 held open, the 21st is refused, service resumes
for i in $(seq 1 20); do
  eval "exec $((10 + i))<>/dev/tcp/127.0.0.1/$port"
done
sleep 0.3
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$B/healthz" || true)
check_eq "beyond max_connections a new connection is refused" 000 "$got"
for i in $(seq 1 20); do eval "exec $((10 + i))<&-"; done
sleep 0.3
http GET "$B/healthz"
check_eq "once connections close, service resumes" 200 "$AZT_STATUS"

authz_stop main
done_testing
