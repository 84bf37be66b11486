#!/usr/bin/env bash
# t_ops.sh: operations traps a new user hit (issue 11, SPEC §9): the access
# log carries each error answer's code (never its description or a token);
# a second authzd on a busy address refuses to start instead of sharing it;
# a master key that cannot open the tenants' keys, a master key file that is
# missing or short, and a malformed database_url are refused at start with a
# message saying what is wrong (and never suggesting to overwrite the key);
# /readyz says which of database, schema or keys is not ready; pooled
# database connections that died in a PostgreSQL restart fail no request;
# the JWKS and discovery documents of a tenant seen before are served from
# memory while the database is down; /metrics labels grants by their wire
# grant_type and carries authz_build_info.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# this test stops and restarts its database: it needs its own
unset AZT_SHARED_PG_URL
pg_start_private
export AUTHZ_DATABASE_URL=$AZT_PG_URL
pg_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$AZT_PG_DIR/database_url")
authzctl migrate >/dev/null

port=$(free_port)
authz_start main "$port" AUTHZ_THREADS=2 AUTHZ_DB_POOL_SIZE=4
B=${AZT_URL[main]}
LOG=$(authz_log main)

admin POST /admin/v1/tenants '{"slug":"ops","display_name":"Operations"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/ops/clients '{"client_name":"svc","grant_types":["client_credentials","refresh_token"],"allowed_scopes":["read"]}'
check_eq "client created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
T=$B/t/ops/oauth2/token

# The access log line of the last request made with `http ... -D $AZT_TMP/h`.
log_line() {
  local id
  id=$(grep -i '^x-request-id:' "$AZT_TMP/h" | tr -d '\r' | awk '{print $2}')
  for _ in $(seq 1 20); do
    grep -F "\"request_id\":\"$id\"" "$LOG" && return 0
    sleep 0.05
  done
  return 0
}

# ---------------------------------------------------------------- error codes in the access log
bogus_rt=azrt_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
http POST "$T" -u "$cid:$sec" -d grant_type=refresh_token -d "refresh_token=$bogus_rt" -D "$AZT_TMP/h"
check_eq "an unknown refresh token: 400 invalid_grant" "400 invalid_grant" "$AZT_STATUS $(jq -r .error <<<"$AZT_BODY")"
line=$(log_line)
check_contains "its log line carries the error code" '"status":400' "$line"
check_contains "... \"error\":\"invalid_grant\"" '"error":"invalid_grant"' "$line"
check_not "... and neither the token nor the description" grep -qE "$bogus_rt|error_description|$(jq -r .error_description <<<"$AZT_BODY")" <<<"$line"
http POST "$T" -u "$cid:wrong-secret-$RANDOM" -d grant_type=client_credentials -D "$AZT_TMP/h"
line=$(log_line)
check_eq "a wrong client secret: 401" 401 "$AZT_STATUS"
check_contains "its log line says invalid_client" '"error":"invalid_client"' "$line"
check_not "... and carries no secret" grep -q 'wrong-secret' <<<"$line"
http GET "$B/admin/v1/tenants/nosuch" -H "Authorization: Bearer $(root_token)" -D "$AZT_TMP/h"
check_eq "an unknown tenant in the admin API: 404" 404 "$AZT_STATUS"
check_contains "its log line names the error (problem details: the status's name)" '"error":"not_found"' "$(log_line)"
check_not "... and not the root token" grep -qF "$(root_token)" "$LOG"
http POST "$T" -u "$cid:$sec" -d grant_type=client_credentials -D "$AZT_TMP/h"
check_eq "a good token request: 200" 200 "$AZT_STATUS"
check_not "a 200's log line carries no error" grep -q '"error"' <<<"$(log_line)"

# ---------------------------------------------------------------- a busy address
# A second authzd on the address the first serves refuses to start (it used
# to join it through SO_REUSEPORT and take a share of the connections).
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$port" AUTHZ_PUBLIC_URL="$B"
check "a second authzd on a served address exits non-zero (code $AZT_RC)" test "$AZT_RC" -ne 0 -a "$AZT_RC" -ne 124
check_contains "... saying the address is in use" "127.0.0.1:$port: the address is in use" "$AZT_OUT"
before=$(grep -c '"path":"/healthz"' "$LOG" || true)
for _ in $(seq 1 10); do curl -s -o /dev/null "$B/healthz"; done
sleep 0.2
check_eq "all ten requests went to the first authzd" $((before + 10)) "$(grep -c '"path":"/healthz"' "$LOG")"
# another program (not an authzd) listening with SO_REUSEPORT, as authzd's
# own listeners do: authzd does not share its port either
other=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True); time.sleep(60)
' "$other" > "$AZT_TMP/other.out" &
register_pid $!
for _ in $(seq 1 50); do grep -q listening "$AZT_TMP/other.out" 2>/dev/null && break; sleep 0.1; done
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$other" AUTHZ_PUBLIC_URL="http://127.0.0.1:$other"
check "authzd on a port another program listens on exits non-zero (code $AZT_RC)" test "$AZT_RC" -ne 0 -a "$AZT_RC" -ne 124
check_contains "... saying the address is already in use by another process" \
  "127.0.0.1:$other: the address is already in use by another process" "$AZT_OUT"

# ---------------------------------------------------------------- master key and /readyz
http GET "$B/readyz"
check_eq "/readyz: 200 with each check named" '200 ready ok ok ok' \
  "$AZT_STATUS $(jq -r '"\(.status) \(.checks.database) \(.checks.schema) \(.checks.keys)"' <<<"$AZT_BODY")"
(umask 077; head -c 32 /dev/urandom > "$AZT_TMP/other.key"; head -c 32 /dev/urandom > "$AZT_TMP/third.key")
wrong=$(free_port)
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$wrong" AUTHZ_PUBLIC_URL="http://127.0.0.1:$wrong" \
  AUTHZ_MASTER_KEY_FILE="$AZT_TMP/other.key"
check "a master key that cannot open the tenants' keys: authzd exits non-zero (code $AZT_RC)" \
  test "$AZT_RC" -ne 0 -a "$AZT_RC" -ne 124
check_contains "... saying so, naming the tenant" \
  "master key in $AZT_TMP/other.key cannot open the signing keys of 1 of 1 tenants (ops)" "$AZT_OUT"
check_not "... and it never listened" grep -q listening <<<"$AZT_OUT"

# a new installation (no tenants) starts with any master key; /readyz then
# notices keys it cannot open (here: a tenant created with another key)
AZT_PG_BASE_URL=$AZT_PG_URL
fresh_db=$(pg_new_db)
AUTHZ_DATABASE_URL=$fresh_db authzctl migrate >/dev/null
fresh=$(free_port)
authz_start fresh "$fresh" AUTHZ_DATABASE_URL="$fresh_db" AUTHZ_MASTER_KEY_FILE="$AZT_TMP/other.key"
check "an installation without tenants starts with any master key" kill -0 "${AZT_PID[fresh]}"
AUTHZ_DATABASE_URL=$fresh_db AUTHZ_MASTER_KEY_FILE=$AZT_TMP/third.key authzctl tenant create elsewhere >/dev/null
http GET "http://127.0.0.1:$fresh/readyz"
check_eq "/readyz: 503 when the master key cannot open a tenant's key, saying keys" \
  '503 ok ok unreadable' "$AZT_STATUS $(jq -r '"\(.checks.database) \(.checks.schema) \(.checks.keys)"' <<<"$AZT_BODY")"
check_contains "... naming the tenant, as problem details" "signing keys of 1 tenants (elsewhere)" "$(jq -r .detail <<<"$AZT_BODY")"
"$AZT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$fresh_db" -c "ALTER TABLE audit DISABLE TRIGGER audit_no_update; DELETE FROM signing_keys; DELETE FROM tenants; ALTER TABLE audit ENABLE TRIGGER audit_no_update"  # authzctl audited the tenant: its rows keep their place, without it
last=$("$AZT_PG_BIN/psql" -X -A -t -q "$fresh_db" -c "SELECT max(version) FROM schema_migrations")
"$AZT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$fresh_db" -c "DELETE FROM schema_migrations WHERE version = $last"
http GET "http://127.0.0.1:$fresh/readyz"
check_eq "/readyz: 503 on a schema that is behind, saying schema" '503 ok behind unknown' \
  "$AZT_STATUS $(jq -r '"\(.checks.database) \(.checks.schema) \(.checks.keys)"' <<<"$AZT_BODY")"
check_contains "... and which command fixes it" 'authzctl migrate' "$(jq -r .detail <<<"$AZT_BODY")"
authz_stop fresh

# ---------------------------------------------------------------- master key file errors
# A short or missing master key file is refused with what is wrong, and the
# message never suggests writing a new key over the file it names.
head -c 16 /dev/urandom > "$AZT_TMP/short.key"
chmod 600 "$AZT_TMP/short.key"
cp "$AZT_TMP/short.key" "$AZT_TMP/short.key.orig"
spare=$(free_port)
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$spare" AUTHZ_MASTER_KEY_FILE="$AZT_TMP/short.key"
check_eq "a short master key file: authzd exits 1" 1 "$AZT_RC"
check_contains "... saying what is wrong" "master key file $AZT_TMP/short.key holds 16 bytes, not a master key" "$AZT_OUT"
check_not "... never suggesting to write over that file" grep -qF "> $AZT_TMP/short.key" <<<"$AZT_OUT"
check_contains "... but to restore it, or for a new installation only a new file" "Only for a new installation, create a key in a new file" "$AZT_OUT"
check "... and the file is as it was" cmp "$AZT_TMP/short.key" "$AZT_TMP/short.key.orig"
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$spare" AUTHZ_MASTER_KEY_FILE="$AZT_TMP/missing.key"
check_eq "a missing master key file: authzd exits 1" 1 "$AZT_RC"
check_contains "... saying it does not exist and to restore it" "missing.key does not exist. An existing installation needs its own master key: restore" "$AZT_OUT"
check_contains "... or, for a new installation, to create it where nothing is overwritten" "set -o noclobber" "$AZT_OUT"
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$spare" AUTHZ_MASTER_KEY_FILE=
check_eq "no master_key_file at all: authzd exits 1" 1 "$AZT_RC"
check_contains "... saying to set it to the installation's key" "master_key_file is not set: set it to this installation's master key file" "$AZT_OUT"

# ---------------------------------------------------------------- a malformed database_url
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$spare" \
  AUTHZ_DATABASE_URL="host=127.0.0.1 port=$pg_port user=authz password=hunter2 s3cret-part"
check_eq "a malformed database_url: authzd exits 1" 1 "$AZT_RC"
check_contains "... saying the connection string is malformed" "database_url is not a valid libpq connection string" "$AZT_OUT"
check_not "... not a socket error" grep -qi socket <<<"$AZT_OUT"
check_not "... and without echoing the password" grep -qE 'hunter2|s3cret' <<<"$AZT_OUT"
out=$(AUTHZ_DATABASE_URL=authz authzctl migrate 2>&1 || true)
check_contains "authzctl says the same" "database_url is not a valid libpq connection string" "$out"

# ---------------------------------------------------------------- metrics
# grant labels are the wire grant_type values, one per grant
RES=https://api.example.test/
admin POST /admin/v1/tenants/ops/resources "{\"uri\":\"$RES\",\"scopes\":[\"read\"]}"
admin POST /admin/v1/tenants/ops/users '{"username":"pat","password":"pat password","scopes":["read"]}'
check_eq "person created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/ops/clients "{\"client_name\":\"agent\",\"grant_types\":[\"urn:openid:params:grant-type:ciba\",\"urn:ietf:params:oauth:grant-type:token-exchange\",\"client_credentials\",\"refresh_token\"],\"allowed_scopes\":[\"read\",\"approvals:decide\"],\"allowed_resources\":[\"$RES\"],\"introspects\":[\"$RES\"]}"
check_eq "agent client created" 201 "$AZT_STATUS"
xid=$(jq -r .client_id <<<"$AZT_BODY"); xsec=$(jq -r .client_secret <<<"$AZT_BODY")
xtok() { curl -s -u "$xid:$xsec" "$T" "$@"; }
decider=$(xtok -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)
session() { # -> the token answer of an approved CIBA session for pat
  local id
  id=$(curl -s -u "$xid:$xsec" "$B/t/ops/oauth2/bc-authorize" -d login_hint=pat -d scope=read \
       --data-urlencode "resource=$RES" -d binding_message=ops -d session_ttl=3600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$B/t/ops/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d '{"decision":"approve","approver":"pat"}'
  xtok -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id"
}
ses=$(session)
pt=$(jq -r .access_token <<<"$ses"); prt=$(jq -r .refresh_token <<<"$ses")
check_match "a CIBA session gives an access and a refresh token" '^ey.* azrt_' "$pt $prt"
http POST "$T" -u "$xid:$xsec" -d grant_type=refresh_token --data-urlencode "refresh_token=$prt"
check_eq "the session's refresh token refreshes" 200 "$AZT_STATUS"
prt=$(jq -r .refresh_token <<<"$AZT_BODY")
actor=$(xtok -d grant_type=client_credentials --data-urlencode "resource=$RES" | jq -r .access_token)
http POST "$T" -u "$xid:$xsec" -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
  --data-urlencode "subject_token=$pt" -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \
  --data-urlencode "actor_token=$actor" -d actor_token_type=urn:ietf:params:oauth:token-type:access_token \
  --data-urlencode "resource=$RES"
check_eq "the agent exchanges pat's token" 200 "$AZT_STATUS"
metrics=$(curl -s "$B/metrics")
labels=$(grep '^authz_tokens_issued_total{' <<<"$metrics" | sed -E 's/.*grant="([^"]*)".*/\1/' | sort | paste -sd' ')
check_eq "tokens issued are labelled by wire grant_type, one label per grant" \
  "client_credentials refresh_token urn:ietf:params:oauth:grant-type:token-exchange urn:openid:params:grant-type:ciba" "$labels"
check_match "authz_build_info names the version, OpenSSL and libevent" \
  '^authz_build_info\{version="0\.[0-9.]+",openssl="3\.[0-9.]+",libevent="2\.1\.[^"]+"\} 1$' \
  "$(grep '^authz_build_info' <<<"$metrics")"
check_contains "... declared a gauge" '# TYPE authz_build_info gauge' "$metrics"

# ---------------------------------------------------------------- a PostgreSQL restart
# Every pooled connection (4 workers, the committer, the rotation thread) is
# in use before the restart; after it none of them may fail a request.
# (`wait` names its jobs: a bare one would wait for authzd itself)
for _ in $(seq 1 3); do
  jobs_=()
  for _ in $(seq 1 12); do
    curl -s -o /dev/null -H "Authorization: Bearer $(root_token)" "$B/admin/v1/tenants/ops/clients" &
    jobs_+=($!)
  done
  wait "${jobs_[@]}"
done
"$AUTHZ_ROOT/scripts/pg.sh" stop "$AZT_PG_DIR" >/dev/null
"$AUTHZ_ROOT/scripts/pg.sh" start "$AZT_PG_DIR" "$pg_port" >/dev/null
codes=$AZT_TMP/after-restart
: > "$codes"
after_restart_round() {
  local i pids=()
  for i in $(seq 1 8); do
    curl -s -o /dev/null -w 'admin %{http_code}\n' -H "Authorization: Bearer $(root_token)" \
      "$B/admin/v1/tenants/ops/clients" >> "$codes" &
    pids+=($!)
  done
  wait "${pids[@]}"
  curl -s -o /dev/null -w 'token %{http_code}\n' -u "$cid:$sec" "$T" -d grant_type=client_credentials >> "$codes"
  http POST "$T" -u "$xid:$xsec" -d grant_type=refresh_token --data-urlencode "refresh_token=$prt"
  echo "refresh $AZT_STATUS" >> "$codes"
  [[ $AZT_STATUS == 200 ]] && prt=$(jq -r .refresh_token <<<"$AZT_BODY")
  curl -s -o /dev/null -w 'jwks %{http_code}\n' "$B/t/ops/oauth2/jwks" >> "$codes"
}
after_restart_round
sleep 2   # connections idle for a while after the restart, then used again
after_restart_round
after_restart_round
summary=$(sort "$codes" | uniq -c | awk '{print $2"="$3"x"$1}' | paste -sd' ')
check_not "after a PostgreSQL restart no request fails with 503 ($summary)" grep -q ' 503$' "$codes"
check_eq "... every one of them is answered 200" "$(wc -l < "$codes")" "$(grep -c ' 200$' "$codes")"

# ---------------------------------------------------------------- a connection that dies unseen
# A connection can be gone without a word on its socket until it is used (a
# failover behind a proxy, a NAT that dropped it). Here a proxy between a
# second authzd and PostgreSQL, once told to (SIGUSR1), cuts each connection
# open at that moment when it next sends something, without forwarding it.
# The request whose first statement finds its connection so gone, having
# changed nothing, runs again on a new connection instead of failing.
cat > "$AZT_TMP/proxy.py" <<'PY'
import signal, socket, sys, threading
listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
conns, lock = [], threading.Lock()
def arm(*_):
    with lock:
        for c in conns:
            c["doomed"] = True
signal.signal(signal.SIGUSR1, arm)
def pump(c, src, dst, from_client):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if from_client and c["doomed"]:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
print("ready", flush=True)
while True:
    cl, _ = srv.accept()
    up = socket.create_connection(("127.0.0.1", upstream_port))
    c = {"doomed": False}
    with lock:
        conns.append(c)
    threading.Thread(target=pump, args=(c, cl, up, True), daemon=True).start()
    threading.Thread(target=pump, args=(c, up, cl, False), daemon=True).start()
PY
proxy_port=$(free_port)
python3 "$AZT_TMP/proxy.py" "$proxy_port" "$pg_port" > "$AZT_TMP/proxy.out" 2>&1 &
proxy_pid=$!
register_pid "$proxy_pid"
for _ in $(seq 1 50); do grep -q ready "$AZT_TMP/proxy.out" 2>/dev/null && break; sleep 0.1; done
px=$(free_port)
authz_start proxied "$px" AUTHZ_THREADS=1 AUTHZ_DB_POOL_SIZE=2 \
  AUTHZ_DATABASE_URL="${AUTHZ_DATABASE_URL/port=$pg_port/port=$proxy_port}"
P=${AZT_URL[proxied]}
for _ in 1 2 3; do
  pids=()
  for _ in 1 2 3 4; do
    curl -s -o /dev/null -H "Authorization: Bearer $(root_token)" "$P/admin/v1/tenants/ops/clients" &
    pids+=($!)
  done
  wait "${pids[@]}"
done
for _ in 1 2; do  # the first loads the client on a worker, the second is group-committed
  curl -s -o /dev/null -u "$cid:$sec" "$P/t/ops/oauth2/token" -d grant_type=client_credentials
done
kill -USR1 "$proxy_pid"
sleep 0.2
unseen=$AZT_TMP/unseen
: > "$unseen"
for _ in 1 2 3 4; do
  curl -s -o /dev/null -w 'admin %{http_code}\n' -H "Authorization: Bearer $(root_token)" \
    "$P/admin/v1/tenants/ops/clients" >> "$unseen"
done
curl -s -o /dev/null -w 'token %{http_code}\n' -u "$cid:$sec" "$P/t/ops/oauth2/token" \
  -d grant_type=client_credentials >> "$unseen"
summary=$(sort "$unseen" | uniq -c | awk '{print $2"="$3"x"$1}' | paste -sd' ')
check_eq "connections that died unseen fail no request ($summary)" "$(wc -l < "$unseen")" "$(grep -c ' 200$' "$unseen")"
check "... the requests that found them dead ran again on new ones" \
  grep -q 'running the request again on a new connection' "$(authz_log proxied)"
authz_stop proxied

# ---------------------------------------------------------------- a database outage
jwks_before=$(curl -s "$B/t/ops/oauth2/jwks")
meta_before=$(curl -s "$B/.well-known/oauth-authorization-server/t/ops")
"$AUTHZ_ROOT/scripts/pg.sh" stop "$AZT_PG_DIR" >/dev/null
sleep 0.5  # the cache listener notices and drops every cached tenant
http GET "$B/t/ops/oauth2/jwks"
check_eq "database down: the JWKS of a tenant seen before is still served" 200 "$AZT_STATUS"
check_eq "... the same key set" "$(jq -c . <<<"$jwks_before")" "$(jq -c . <<<"$AZT_BODY")"
http GET "$B/.well-known/oauth-authorization-server/t/ops"
check_eq "database down: its discovery document too" "200 $(jq -r .issuer <<<"$meta_before")" "$AZT_STATUS $(jq -r .issuer <<<"$AZT_BODY")"
http GET "$B/t/unseen/oauth2/jwks" -D "$AZT_TMP/h"
check_eq "database down: a tenant never seen gets 503 (not 404: it may exist)" 503 "$AZT_STATUS"
check_match "... with Retry-After" '^[Rr]etry-[Aa]fter: [0-9]+' "$(grep -i '^retry-after' "$AZT_TMP/h" | tr -d '\r')"
http POST "$T" -u "$cid:$sec" -d grant_type=client_credentials
check_eq "database down: the token endpoint still answers 503" 503 "$AZT_STATUS"
http GET "$B/readyz" -D "$AZT_TMP/h"
check_eq "database down: /readyz 503 saying database" '503 unavailable unknown unknown' \
  "$AZT_STATUS $(jq -r '"\(.checks.database) \(.checks.schema) \(.checks.keys)"' <<<"$AZT_BODY")"
check_not "... and not 'no schema'" grep -qi 'schema yet' <<<"$AZT_BODY"
check_match "... with Retry-After" '^[Rr]etry-[Aa]fter: [0-9]+' "$(grep -i '^retry-after' "$AZT_TMP/h" | tr -d '\r')"
check_contains "... its log line says database_unavailable" '"error":"database_unavailable"' "$(log_line)"
"$AUTHZ_ROOT/scripts/pg.sh" start "$AZT_PG_DIR" "$pg_port" >/dev/null
back=000
for _ in $(seq 1 100); do
  back=$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")
  [[ $back == 200 ]] && break
  sleep 0.05
done
check_eq "database back: /readyz 200 by itself" 200 "$back"
http POST "$T" -u "$cid:$sec" -d grant_type=client_credentials
check_eq "database back: tokens again" 200 "$AZT_STATUS"

authz_stop main
done_testing
