#!/usr/bin/env bash
# t_tls.sh: native TLS in authzd (SPEC §1, issue 7) against a CA and server
# certificates this test makes with `openssl`: TLS 1.2 and 1.3 only (1.0 and
# 1.1 refused by the server, old CBC suites refused), the configured
# certificate served and verifiable for IP:127.0.0.1 and DNS:localhost,
# Strict-Transport-Security and Secure cookies under TLS (and not on plain
# loopback HTTP), a client credentials token over https, close_notify at the
# end of a connection, SIGHUP reloading certificate and key for new
# connections while a keep-alive connection opened before the reload keeps
# working, a broken reload keeping the previous certificate, and the start-up
# refusals (http public_url off loopback, half a TLS configuration, an
# unreadable certificate).
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/tls.sh
source "$AUTHZ_ROOT/tests/tls.sh"

pg_start_tmp
authzctl migrate >/dev/null

T=$AZT_TMP/tls
tls_make_ca "$T"
tls_make_cert "$T" one localhost 1001 ec
tls_make_cert "$T" two authz-reloaded 2002 rsa
# authzd reads cur.pem / cur.key; the reload check replaces them
cp "$T/one.pem" "$T/cur.pem"
cp "$T/one.key" "$T/cur.key"
export CURL_CA_BUNDLE=$T/ca.pem   # every curl below verifies against the test CA

port=$(free_port)
authz_start_tls main "$port" "$T/cur.pem" "$T/cur.key" "$T/ca.pem"
BASE=${AZT_URL[main]}
pass "authzd starts with tls_cert/tls_key and an https public_url"

# sclient [s_client args...]: one TLS connection to authzd, closed at once;
# sets SC_RC and SC_OUT (stdout+stderr).
sclient() {
  SC_RC=0
  SC_OUT=$(timeout 15 openssl s_client -connect "127.0.0.1:$port" -CAfile "$T/ca.pem" "$@" \
    </dev/null 2>&1) || SC_RC=$?
}
# the serial / subject of the certificate in SC_OUT (or in the file $1)
cert_field() { # FIELD [FILE]
  local f=${2:-/dev/stdin}
  if [[ -z ${2:-} ]]; then
    openssl x509 -noout "-$1" <<<"$SC_OUT" 2>/dev/null || true
  else
    openssl x509 -noout "-$1" <"$f" 2>/dev/null || true
  fi
}
b64url_decode() {
  local s=${1//-/+}
  s=${s//_//}
  while (( ${#s} % 4 )); do s+='='; done
  base64 -d <<<"$s" 2>/dev/null || true
}
# the protocol of the session s_client set up ("New, TLSv1.3, Cipher is ..."),
# empty when none was ("New, (NONE), Cipher is (NONE)")
negotiated() { sed -nE 's/^New, (TLSv[0-9.]+), Cipher is .*$/\1/p' <<<"$SC_OUT" | head -n 1; }

# ---------------------------------------------------------------- protocols

for v in 1.2 1.3; do
  sclient "-tls${v/./_}" -verify_return_error -verify_ip 127.0.0.1
  check_eq "TLS $v is accepted" "TLSv$v" "$(negotiated)"
  check_contains "TLS $v: the certificate verifies against the test CA for IP 127.0.0.1" \
    "Verify return code: 0 (ok)" "$SC_OUT"
done
sclient -tls1_3 -verify_return_error -servername localhost -verify_hostname localhost
check_contains "the certificate verifies for DNS:localhost" "Verify return code: 0 (ok)" "$SC_OUT"
check_eq "the configured certificate is served (serial)" "serial=1001" "$(cert_field serial)"
check_contains "the configured certificate is served (subject)" "CN = localhost" "$(cert_field subject)"

# The client offers only the old protocol (SECLEVEL=0 so that the local
# OpenSSL is willing to send it); the server must answer with a
# protocol_version alert rather than negotiate.
for v in 1 1_1; do
  sclient "-tls$v" -cipher 'DEFAULT@SECLEVEL=0'
  name="TLS 1.${v#1_}"; [[ $v == 1 ]] && name="TLS 1.0"
  check_not "$name: the client did offer it (no local refusal)" \
    grep -qE 'no protocols available|unsupported protocol' <<<"$SC_OUT"
  check_contains "$name is refused by the server (protocol_version alert)" \
    "alert protocol version" "$SC_OUT"
  check_eq "$name: no session is set up" "" "$(negotiated)"
done

# TLS 1.2 with only a SHA-1 CBC suite (no AEAD): not in the modern list.
sclient -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
check_eq "TLS 1.2 with only CBC/SHA-1 suites is refused" "" "$(negotiated)"
check_contains "TLS 1.2 with only CBC/SHA-1 suites: handshake failure alert" "alert handshake failure" "$SC_OUT"
sclient -tls1_2
check_match "TLS 1.2 negotiates an ECDHE AEAD suite" 'Cipher is ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)' "$SC_OUT"

# A connection the server ends (Connection: close) ends with close_notify:
# s_client exits 0 instead of reporting an unexpected EOF.
SC_RC=0
SC_OUT=$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
  timeout 15 openssl s_client -connect "127.0.0.1:$port" -CAfile "$T/ca.pem" -quiet 2>&1) || SC_RC=$?
check_contains "a request over s_client gets 200" "HTTP/1.1 200" "$SC_OUT"
check_not "the server closes with close_notify (no unexpected EOF)" grep -q 'unexpected eof' <<<"$SC_OUT"
check_eq "s_client ends cleanly after Connection: close" 0 "$SC_RC"

# Plain HTTP on the TLS port gets nothing, and authzd carries on.
http GET "http://127.0.0.1:$port/healthz"
check_not "plain HTTP on the TLS port gets no HTTP answer" test "$AZT_STATUS" = 200
http GET "$BASE/healthz"
check_eq "authzd still answers over TLS after a plain-HTTP request" 200 "$AZT_STATUS"

# ---------------------------------------------------------------- HTTP over TLS

hdrs=$AZT_TMP/h
ST=$(curl -s -D "$hdrs" -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$BASE/healthz") || ST=000
check_eq "curl --cacert https://127.0.0.1:PORT/healthz: 200" 200 "$ST"
check_match "/healthz over TLS carries Strict-Transport-Security" \
  '(^|'$'\n'')[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=[0-9]{7,}' "$(tr -d '\r' <"$hdrs")"

admin POST /admin/v1/tenants '{"slug":"acme","display_name":"Acme"}'
check_eq "admin API over https: tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/resources '{"uri":"https://mcp.example.test/","scopes":["tools:read"]}'
check_eq "admin API over https: resource created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/acme/clients '{"client_name":"agent","grant_types":["client_credentials"],
  "token_endpoint_auth_method":"client_secret_basic","allowed_scopes":["tools:read"],
  "allowed_resources":["https://mcp.example.test/"]}'
check_eq "admin API over https: client created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY")
csec=$(jq -r .client_secret <<<"$AZT_BODY")

doc=$(discovery main acme)
check_eq "discovery over https: issuer is https://127.0.0.1:PORT/t/acme" "$BASE/t/acme" "$(jq -r .issuer <<<"$doc")"
token_ep=$(jq -r .token_endpoint <<<"$doc")
check_match "discovery over https: token_endpoint is https" "^https://127\\.0\\.0\\.1:$port/" "$token_ep"

ST=$(curl -s -D "$hdrs" -o "$AZT_TMP/tok.json" -w '%{http_code}' -u "$cid:$csec" \
  -d grant_type=client_credentials -d scope=tools:read --data-urlencode resource=https://mcp.example.test/ \
  "$token_ep") || ST=000
check_eq "client_credentials token over https: 200" 200 "$ST"
check_match "the token answer carries Strict-Transport-Security" \
  '[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=' "$(cat "$hdrs")"
at=$(jq -r .access_token "$AZT_TMP/tok.json" 2>/dev/null || true)
payload=$(b64url_decode "$(cut -d. -f2 <<<"$at")")
check_eq "the token's iss is the https issuer" "$BASE/t/acme" "$(jq -r .iss <<<"$payload" 2>/dev/null)"

# An answer that closes the connection before reading the body (413): sent
# whole, with HSTS, then close_notify and the TCP half-close.
head -c 70000 /dev/zero | tr '\0' a >"$AZT_TMP/big.form"
ST=$(curl -s -D "$hdrs" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary @"$AZT_TMP/big.form" "$token_ep") || ST=000
check_eq "an oversized body over TLS: 413 arrives whole" 413 "$ST"
check_match "the 413 carries Strict-Transport-Security" '[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=' "$(cat "$hdrs")"
http GET "$BASE/healthz"
check_eq "authzd answers after the 413" 200 "$AZT_STATUS"

ST=$(curl -s -D "$hdrs" -o /dev/null -w '%{http_code}' "$BASE/t/acme/login") || ST=000
check_eq "the sign-in page over https: 200" 200 "$ST"
check_match "under TLS the sign-in page's authz_csrf cookie is Secure" \
  '[Ss]et-[Cc]ookie: authz_csrf=[^;]+;.*; Secure' "$(tr -d '\r' <"$hdrs")"

# The same over plain loopback HTTP: neither HSTS nor Secure (a browser
# would drop a Secure cookie on http://127.0.0.1).
pport=$(free_port)
authz_start plain "$pport"
ST=$(curl -s -D "$hdrs" -o /dev/null -w '%{http_code}' "${AZT_URL[plain]}/t/acme/login") || ST=000
check_eq "plain loopback HTTP: sign-in page 200" 200 "$ST"
check_not "plain loopback HTTP: no Strict-Transport-Security" grep -qi '^strict-transport-security:' "$hdrs"
check_not "plain loopback HTTP: the authz_csrf cookie is not Secure" grep -qi '^set-cookie: authz_csrf=.*; Secure' "$hdrs"
authz_stop plain

# ---------------------------------------------------------------- reload

# Connection A: opened now (certificate one), first request answered, then
# kept open across the reload; its second request goes after the reload is
# done and a new connection has seen the new certificate.
fifo=$AZT_TMP/a.in
aout=$AZT_TMP/a.out
mkfifo "$fifo"
timeout 60 openssl s_client -connect "127.0.0.1:$port" -CAfile "$T/ca.pem" -servername localhost \
  <"$fifo" >"$aout" 2>&1 &
apid=$!
register_pid "$apid"
exec 3>"$fifo"
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&3
count_200() { grep -o 'HTTP/1.1 200 OK' "$aout" | wc -l; }
for (( i = 0; i < 100; i++ )); do [[ $(count_200) -ge 1 ]] && break; sleep 0.05; done
check_eq "keep-alive connection A: first request answered before the reload" 1 "$(count_200)"
check_eq "connection A was set up with the first certificate" "serial=1001" "$(cert_field serial "$aout")"

# replace the files the way an operator (or certbot) does, then SIGHUP
cp "$T/two.pem" "$T/cur.pem.new" && mv "$T/cur.pem.new" "$T/cur.pem"
cp "$T/two.key" "$T/cur.key.new" && mv "$T/cur.key.new" "$T/cur.key"
reloads_before=$(grep -c 'certificate and key reloaded' "$(authz_log main)" || true)
kill -HUP "${AZT_PID[main]}"
for (( i = 0; i < 100; i++ )); do
  (( $(grep -c 'certificate and key reloaded' "$(authz_log main)" || true) > reloads_before )) && break
  sleep 0.05
done
check_contains "SIGHUP: authzd logs the reload" "certificate and key reloaded" "$(cat "$(authz_log main)")"
sclient -verify_return_error -verify_ip 127.0.0.1
check_eq "after SIGHUP a new connection gets the new certificate (serial)" "serial=2002" "$(cert_field serial)"
check_contains "after SIGHUP a new connection gets the new certificate (subject)" "CN = authz-reloaded" "$(cert_field subject)"
check_contains "the new certificate verifies" "Verify return code: 0 (ok)" "$SC_OUT"
ST=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz") || ST=000
check_eq "curl over a new connection after the reload: 200" 200 "$ST"

printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
for (( i = 0; i < 100; i++ )); do [[ $(count_200) -ge 2 ]] && break; sleep 0.05; done
exec 3>&-
arc=0
_azt_wait_exit "$apid" 15 && arc=$AZT_RC || arc=timeout
check_eq "keep-alive connection A: second request, after the reload, answered on the same connection" \
  2 "$(count_200)"
check_eq "connection A: one TLS session, never renegotiated (one certificate seen)" 1 \
  "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$aout" || true)"
check_eq "connection A ends cleanly (close_notify)" 0 "$arc"

# A broken pair (certificate two, key one): the reload fails, the previous
# certificate stays in use.
cp "$T/one.key" "$T/cur.key"
kill -HUP "${AZT_PID[main]}"
for (( i = 0; i < 100; i++ )); do
  grep -q 'TLS reload failed' "$(authz_log main)" && break
  sleep 0.05
done
check_contains "a reload with a key that does not match fails and says so" \
  "TLS reload failed; keeping the previous certificate" "$(cat "$(authz_log main)")"
sclient -verify_return_error
check_eq "after the failed reload the previous certificate is still served" "serial=2002" "$(cert_field serial)"
http GET "$BASE/healthz"
check_eq "after the failed reload authzd still answers" 200 "$AZT_STATUS"
cp "$T/two.key" "$T/cur.key"

authz_stop main

# ---------------------------------------------------------------- refusals

# A listener off loopback with an http public_url: refused at start, before
# listening (0.0.0.0 only here, and nothing is bound).
rport=$(free_port)
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="0.0.0.0:$rport" AUTHZ_PUBLIC_URL="http://auth.example.test"
check_eq "listen 0.0.0.0 with an http public_url: authzd exits 1" 1 "$AZT_RC"
check_contains "listen 0.0.0.0 with an http public_url: says public_url must be https" \
  "public_url must be https unless the listener is on loopback" "$AZT_OUT"
check_eq "listen 0.0.0.0 with an http public_url: nothing was bound" "" "$(ss -Htln "( sport = :$rport )")"
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="0.0.0.0:$rport"
check_eq "listen 0.0.0.0 with the default (http) public_url: refused too" 1 "$AZT_RC"

authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$rport" AUTHZ_TLS_CERT="$T/one.pem"
check_eq "tls_cert without tls_key: authzd exits 1" 1 "$AZT_RC"
check_contains "tls_cert without tls_key: says both or neither" "tls_cert and tls_key go together" "$AZT_OUT"

authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$rport" AUTHZ_PUBLIC_URL="https://127.0.0.1:$rport" \
  AUTHZ_TLS_CERT="$T/missing.pem" AUTHZ_TLS_KEY="$T/one.key"
check_eq "a missing certificate file: authzd exits 1" 1 "$AZT_RC"
check_contains "a missing certificate file: names the file" "$T/missing.pem" "$AZT_OUT"

done_testing
