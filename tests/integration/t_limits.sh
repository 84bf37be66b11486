#!/usr/bin/env bash
# t_limits.sh: the explicit limits of the HTTP layer and the token endpoint
# (issue 6 item 6): per-client token rate limit (429 + Retry-After), request
# head and body size, slow clients (read_timeout as a deadline for the whole
# request, issue 11), and the connection limit; each set in the
# configuration, each answered in the endpoint's error format.
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

# ---- slow clients (SPEC §9): read_timeout (2 s here) is a deadline for the
# whole head and the whole body from the request's first byte, not a gap
# between bytes: a client trickling a byte every 0.4 s is cut at ~2 s with
# 408 in the endpoint's error format and the connection is closed; a slow but
# whole request within the deadline is served; keep-alive idling between
# requests is idle_timeout's business, not read_timeout's.
cat > "$AZT_TMP/slow.py" <<'PY'
import json, select, socket, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()

def answered(wait):
    r, _, _ = select.select([s], [], [], wait)
    return bool(r)

def trickle(first, byte, gap, limit=12):
    s.sendall(first)
    while time.monotonic() - t0 < limit:
        if answered(gap):
            return
        try:
            s.sendall(byte)
        except OSError:
            return

def read_all(limit=6):
    data, closed, end = b"", False, time.monotonic() + limit
    while time.monotonic() < end:
        if not answered(end - time.monotonic()):
            break
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    return data, closed

def report(data, closed, **extra):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    ctype = next((l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("content-type:")), "")
    out = {"status": status, "elapsed": round(time.monotonic() - t0, 2), "closed": closed,
           "content_type": ctype, "body": body.decode("utf-8", "replace")}
    out.update(extra)
    print(json.dumps(out))

if mode == "head":      # a head that never ends: a header value one byte at a time
    trickle(b"GET " + sys.argv[3].encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a", 0.4)
    report(*read_all())
elif mode == "line":    # not even a request line: one byte at a time
    trickle(b"G", b"E", 0.4)
    report(*read_all())
elif mode == "body":    # a complete head, then its body one byte at a time
    trickle(b"POST " + sys.argv[3].encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
            b"a", 0.4)
    report(*read_all())
elif mode == "slow-ok":  # a slow but whole request, well within the deadline
    for part in (b"GET /hea", b"lthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
        s.sendall(part)
        time.sleep(0.3)
    report(*read_all())
elif mode == "idle":    # keep-alive: one request, idle past read_timeout, another
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(req)
    first = s.recv(65536)
    time.sleep(float(sys.argv[3]))
    s.sendall(req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    data, closed = read_all()
    report(data, closed, first_status=int(first.split()[1]) if first else 0)
PY
slow() { python3 "$AZT_TMP/slow.py" "$port" "$@"; }
took() { jq -r .elapsed <<<"$1"; }
in_window() { awk -v t="$1" 'BEGIN { exit !(t >= 1.5 && t <= 4) }'; }

out=$(slow head /t/lim/oauth2/token)
check_eq "a head trickled a byte at a time is answered 408" 408 "$(jq -r .status <<<"$out")"
check "... at read_timeout from its first byte ($(took "$out") s)" in_window "$(took "$out")"
check_eq "... in the token endpoint's format (RFC 6749 JSON)" invalid_request "$(jq -r .body <<<"$out" | jq -r .error)"
check_eq "... and the connection is closed" true "$(jq -r .closed <<<"$out")"
out=$(slow head /admin/v1/tenants)
check_eq "a trickled head for the admin API: 408 as problem+json" "408 application/problem+json" \
  "$(jq -r '"\(.status) \(.content_type)"' <<<"$out")"
out=$(slow line)
check_eq "a request line trickled a byte at a time: 408 (RFC 9457 body), closed" \
  "408 application/problem+json true" "$(jq -r '"\(.status) \(.content_type) \(.closed)"' <<<"$out")"
check "... at read_timeout ($(took "$out") s)" in_window "$(took "$out")"
out=$(slow body /t/lim/oauth2/token)
check_eq "a body trickled a byte at a time is answered 408" 408 "$(jq -r .status <<<"$out")"
check "... at read_timeout from the request's first byte ($(took "$out") s)" in_window "$(took "$out")"
check_eq "... as an OAuth error, and the connection is closed" "invalid_request true" \
  "$(jq -r .body <<<"$out" | jq -r .error) $(jq -r .closed <<<"$out")"
check_match "the access log names the 408 and its endpoint" '"path":"/t/lim/oauth2/token","status":408' \
  "$(grep '"status":408' "$(authz_log main)" | tail -n 1)"
out=$(slow slow-ok)
check_eq "a slow but whole request within read_timeout is served" 200 "$(jq -r .status <<<"$out")"
out=$(slow idle 3)
check_eq "a keep-alive connection idle past read_timeout still serves its next request" "200 200" \
  "$(jq -r '"\(.first_status) \(.status)"' <<<"$out")"
exec 3<>"/dev/tcp/127.0.0.1/$port"
t0=$SECONDS
answer=$(timeout 10 cat <&3 || true)
exec 3<&-
check "a connection that sends nothing is closed after read_timeout ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 4
check_eq "... without an answer (there was no request)" "" "$answer"

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
