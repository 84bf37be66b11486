#!/usr/bin/env bash
# t_audit.sh: the audit trail (SPEC §8, issue 6 item 1): append-only in the
# database itself, the query API's filters, newest-first keyset paging,
# limits, and tenant isolation.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start main "$port"
B=${AZT_URL[main]}

for s in aud1 aud2; do
  admin POST /admin/v1/tenants "{\"slug\":\"$s\",\"display_name\":\"$s\"}"
  admin POST /admin/v1/tenants/$s/clients '{"grant_types":["client_credentials"],"allowed_scopes":["admin","read"]}'
  eval "cid_$s=\$(jq -r .client_id <<<\"\$AZT_BODY\"); sec_$s=\$(jq -r .client_secret <<<\"\$AZT_BODY\")"
done
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null -u "$cid_aud1:$sec_aud1" "$B/t/aud1/oauth2/token" -d grant_type=client_credentials -d scope=read
done
curl -s -o /dev/null -u "$cid_aud1:wrong" "$B/t/aud1/oauth2/token" -d grant_type=client_credentials

# ---- append-only in the database itself
for stmt in "UPDATE audit SET event = 'x'" "DELETE FROM audit" "TRUNCATE audit"; do
  if psql_db -c "$stmt" >/dev/null 2>&1; then
    fail "the application's role cannot run: $stmt" "it succeeded"
  else
    pass "the application's role cannot run: $stmt"
  fi
done

# ---- filters
admin GET "/admin/v1/tenants/aud1/audit?event=token.issued"
check_eq "event filter: 5 token.issued rows" 5 "$(jq '.events | length' <<<"$AZT_BODY")"
check_eq "... all of that event" token.issued "$(jq -r '[.events[].event] | unique | join(",")' <<<"$AZT_BODY")"
check_eq "rows carry the documented members" \
  "actor_chain,at,client_id,details,event,id,outcome,reason,request_id,resources,scope,session_id,source,subject" \
  "$(jq -r '.events[0] | keys | join(",")' <<<"$AZT_BODY")"
check_match "at is RFC 3339" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(jq -r '.events[0].at' <<<"$AZT_BODY")"
admin GET "/admin/v1/tenants/aud1/audit?client=$cid_aud1&event=client_auth.failed"
check_eq "client + event filter: the failed authentication" 1 "$(jq '.events | length' <<<"$AZT_BODY")"
check_eq "... its outcome is failure" failure "$(jq -r '.events[0].outcome' <<<"$AZT_BODY")"
future=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
admin GET "/admin/v1/tenants/aud1/audit?since=$future"
check_eq "since in the future: nothing" 0 "$(jq '.events | length' <<<"$AZT_BODY")"
admin GET "/admin/v1/tenants/aud1/audit?until=2000-01-01T00:00:00Z"
check_eq "until in the past: nothing" 0 "$(jq '.events | length' <<<"$AZT_BODY")"

# ---- newest first, keyset paging
admin GET "/admin/v1/tenants/aud1/audit?limit=1000"
all=$(jq -r '[.events[].id] | join(",")' <<<"$AZT_BODY")
sorted=$(jq -r '[.events[].at] | . == (sort | reverse)' <<<"$AZT_BODY")
check_eq "newest first" true "$sorted"
ids=""; cursor=""
for _ in $(seq 1 50); do
  admin GET "/admin/v1/tenants/aud1/audit?limit=2${cursor:+&cursor=$cursor}"
  ids+=$(jq -r '[.events[].id] | join(",")' <<<"$AZT_BODY"),
  cursor=$(jq -r '.next_cursor // empty' <<<"$AZT_BODY")
  [[ -n $cursor ]] || break
done
check_eq "paging with limit=2 walks every row once, in order" "$all" "${ids%,}"
admin GET "/admin/v1/tenants/aud1/audit?limit=0"
check_eq "limit=0 is 400" 400 "$AZT_STATUS"
admin GET "/admin/v1/tenants/aud1/audit?limit=1001"
check_eq "limit=1001 is 400" 400 "$AZT_STATUS"
admin GET "/admin/v1/tenants/aud1/audit?cursor=!!!"
check_eq "a malformed cursor is 400" 400 "$AZT_STATUS"
admin GET "/admin/v1/tenants/aud1/audit?since=yesterday"
check_eq "a malformed since is 400" 400 "$AZT_STATUS"

# ---- tenant isolation
tok=$(curl -s -u "$cid_aud2:$sec_aud2" "$B/t/aud2/oauth2/token" -d grant_type=client_credentials -d scope=admin | jq -r .access_token)
http GET "$B/admin/v1/tenants/aud1/audit" -H "Authorization: Bearer $tok"
check_eq "tenant aud2's admin token gets 404 for aud1's audit" 404 "$AZT_STATUS"
http GET "$B/admin/v1/tenants/aud2/audit" -H "Authorization: Bearer $tok"
check_eq "... and 200 for its own" 200 "$AZT_STATUS"
check_eq "... which holds none of aud1's rows" 0 \
  "$(jq --arg c "$cid_aud1" '[.events[] | select(.client_id == $c)] | length' <<<"$AZT_BODY")"

# ---- HEAD on admin reads: the GET's headers and length, no content
get_len=$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $tok" "$B/admin/v1/tenants/aud2/audit")
curl -s -I -H "Authorization: Bearer $tok" "$B/admin/v1/tenants/aud2/audit" > "$AZT_TMP/head.txt"
check_match "HEAD on an admin read: 200" '^HTTP/1.1 200' "$(head -n1 "$AZT_TMP/head.txt")"
check_eq "... with the GET's Content-Length" "$get_len" \
  "$(awk 'tolower($1) == "content-length:" {print $2}' "$AZT_TMP/head.txt" | tr -d '\r')"
http PUT "$B/admin/v1/tenants/aud2/audit" -H "Authorization: Bearer $tok" -D "$AZT_TMP/h405"
check_eq "a method the audit list does not take: 405" 405 "$AZT_STATUS"
check_match "... whose Allow names GET and HEAD" '[Aa]llow: GET, HEAD' "$(cat "$AZT_TMP/h405")"

# ---- rows written by the group commit's COPY keep what they were given,
# byte for byte: a backslash, a tab and a newline too
odd=$'odd\\client\tid\nx'
before=$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'client_auth.failed'")
http POST "$B/t/aud1/oauth2/token" --data-urlencode "client_id=$odd" -d client_secret=nope \
  -d grant_type=client_credentials
check_eq "a client_id holding a backslash, a tab and a newline: 401" 401 "$AZT_STATUS"
check_eq "... its client_auth.failed row is written" "$((before + 1))" \
  "$(psql_db -c "SELECT count(*) FROM audit WHERE event = 'client_auth.failed'")"
check_eq "... and holds that client_id as sent" "$(printf '%s' "$odd" | od -An -tx1 | tr -d ' \n')" \
  "$(psql_db -c "SELECT encode(convert_to(client_id, 'UTF8'), 'hex') FROM audit WHERE event = 'client_auth.failed' ORDER BY id DESC LIMIT 1")"
curl -s -o /dev/null -u "$cid_aud1:$sec_aud1" "$B/t/aud1/oauth2/token" -d grant_type=client_credentials -d scope=read
admin GET "/admin/v1/tenants/aud1/audit?event=token.issued"
check_eq "... and the rows after it are written too" 6 "$(jq '.events | length' <<<"$AZT_BODY")"

authz_stop main
done_testing
