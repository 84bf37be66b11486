#!/usr/bin/env bash
# t_refresh.sh: refresh token rotation through the rotation committer
# (storage/rotate.c; SPEC §4.2, RFC 9700 §4.14.2): many concurrent refreshes
# share batches and each answer has its durable rotation and audit row; the
# same token presented at once rotates at most once and revokes its family;
# a batch that fails changes nothing and is answered 503 (the token still
# works afterwards); a rotation connection that died while idle is replaced
# without failing anyone; losing the database gives 503 and service comes
# back by itself; refresh tokens long expired are purged.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# this test stops its database: it needs its own, not the shared one
unset AZT_SHARED_PG_URL
pg_start_private
export AUTHZ_DATABASE_URL=$AZT_PG_URL
authzctl migrate >/dev/null

port=$(free_port)
authz_start rt "$port" AUTHZ_THREADS=2
B=${AZT_URL[rt]}
RES=https://mcp.example.test/

admin POST /admin/v1/tenants '{"slug":"rot","display_name":"Rotation"}'
check_eq "tenant created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/rot/resources "{\"uri\":\"$RES\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
admin POST /admin/v1/tenants/rot/users '{"username":"alice","password":"a long password","scopes":["tools:read","tools:call"]}'
check_eq "person created" 201 "$AZT_STATUS"
admin POST /admin/v1/tenants/rot/clients "{\"client_name\":\"agent\",\"grant_types\":[\"client_credentials\",\"refresh_token\",\"urn:openid:params:grant-type:ciba\"],\"allowed_scopes\":[\"tools:read\",\"tools:call\",\"approvals:decide\"],\"allowed_resources\":[\"$RES\"],\"introspects\":[\"$RES\"]}"
check_eq "agent client created" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY"); sec=$(jq -r .client_secret <<<"$AZT_BODY")
T=$B/t/rot/oauth2

tok() { curl -s -u "$cid:$sec" "$T/token" "$@"; }
decider=$(tok -d grant_type=client_credentials -d scope=approvals:decide | jq -r .access_token)

# A refresh token of a fresh family: an approved CIBA session for alice.
family() {
  local id out
  id=$(curl -s -u "$cid:$sec" "$T/bc-authorize" -d login_hint=alice -d "scope=tools:read tools:call" \
       --data-urlencode "resource=$RES" -d "binding_message=t_refresh" -d session_ttl=3600 | jq -r .auth_req_id)
  curl -s -o /dev/null -XPOST "$B/t/rot/approvals/$id/decision" -H "Authorization: Bearer $decider" \
       -d '{"decision":"approve","approver":"alice"}'
  out=$(tok -d grant_type=urn:openid:params:grant-type:ciba -d "auth_req_id=$id")
  jq -r .refresh_token <<<"$out"
}
refresh() { # TOKEN -> sets AZT_STATUS / AZT_BODY
  http POST "$T/token" -u "$cid:$sec" -d grant_type=refresh_token --data-urlencode "refresh_token=$1" \
    -D "$AZT_TMP/headers"
}
metric() { curl -s "$B/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rows() { psql_db -c "$1"; }
jti_of() { # ACCESS_TOKEN -> its jti ("<grant id>.<random>")
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p" | jq -r .jti
}

# ---------------------------------------------------------------- one refresh
rt=$(family)
check_match "a CIBA session gave a refresh token" '^azrt_' "$rt"
before_rot=$(metric authz_refresh_rotations_total)
refresh "$rt"
check_eq "refresh answers 200" 200 "$AZT_STATUS"
rt2=$(jq -r .refresh_token <<<"$AZT_BODY")
jti=$(jti_of "$(jq -r .access_token <<<"$AZT_BODY")")
check_match "the answer carries a new refresh token" '^azrt_' "$rt2"
check_eq "its token.refreshed audit row is committed with it" 1 \
  "$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed' AND details->>'jti' = '$jti'")"
check_eq "the rotation counter moved by one" "$((before_rot + 1))" "$(metric authz_refresh_rotations_total)"
check_eq "one rotated and one current token in the family" "1 1" \
  "$(rows "SELECT count(*) FILTER (WHERE rotated_at IS NOT NULL) || ' ' || count(*) FILTER (WHERE rotated_at IS NULL) FROM refresh_tokens WHERE grant_id = '${jti%%.*}'")"
refresh "$rt2"
check_eq "the successor refreshes too" 200 "$AZT_STATUS"
rt3=$(jq -r .refresh_token <<<"$AZT_BODY")

# ---------------------------------------------------------------- many families at once
n=24
fams=()
for _ in $(seq 1 "$n"); do fams+=("$(family)"); done
before_rot=$(metric authz_refresh_rotations_total)
before_batches=$(metric authz_refresh_rotation_batches_total)
before_audit=$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed'")
pids=()
for i in $(seq 0 $((n - 1))); do
  curl -s -o "$AZT_TMP/par.$i" -w '%{http_code}\n' -u "$cid:$sec" "$T/token" -d grant_type=refresh_token \
    --data-urlencode "refresh_token=${fams[$i]}" > "$AZT_TMP/par.$i.status" &
  pids+=($!)
done
wait "${pids[@]}" # (a bare `wait` would wait for authzd too)
ok=0
for i in $(seq 0 $((n - 1))); do
  [[ $(cat "$AZT_TMP/par.$i.status") == 200 ]] && ok=$((ok + 1))
done
check_eq "$n concurrent refreshes of $n families all succeed" "$n" "$ok"
check_eq "each has its rotation committed" "$((before_rot + n))" "$(metric authz_refresh_rotations_total)"
check_eq "each has its token.refreshed row" "$((before_audit + n))" \
  "$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed'")"
batches=$(( $(metric authz_refresh_rotation_batches_total) - before_batches ))
check "they took between 1 and $n commits ($batches)" test "$batches" -ge 1 -a "$batches" -le "$n"
good=0
for i in $(seq 0 $((n - 1))); do
  next=$(jq -r .refresh_token "$AZT_TMP/par.$i")
  refresh "$next"
  [[ $AZT_STATUS == 200 ]] && good=$((good + 1))
done
check_eq "every rotated token works once more" "$n" "$good"

# ---------------------------------------------------------------- one token, many times at once
victim=$(family)
refresh "$victim"
first=$(jq -r .refresh_token <<<"$AZT_BODY")
gid=$(jti_of "$(jq -r .access_token <<<"$AZT_BODY")")
gid=${gid%%.*}
pids=()
for i in $(seq 1 10); do
  curl -s -o "$AZT_TMP/same.$i" -w '%{http_code}\n' -u "$cid:$sec" "$T/token" -d grant_type=refresh_token \
    --data-urlencode "refresh_token=$first" > "$AZT_TMP/same.$i.status" &
  pids+=($!)
done
wait "${pids[@]}"
wins=0; losses=0
for i in $(seq 1 10); do
  s=$(cat "$AZT_TMP/same.$i.status")
  if [[ $s == 200 ]]; then wins=$((wins + 1));
  elif [[ $s == 400 && $(jq -r .error "$AZT_TMP/same.$i") == invalid_grant ]]; then losses=$((losses + 1)); fi
done
check "one token sent 10 times at once rotates at most once ($wins)" test "$wins" -le 1
check_eq "every other copy is invalid_grant" 10 "$((wins + losses))"
check_eq "the family is revoked" "t" "$(rows "SELECT revoked_at IS NOT NULL FROM grants WHERE id = '$gid'")"
check_eq "no refresh token of the family is left usable" 0 \
  "$(rows "SELECT count(*) FROM refresh_tokens WHERE grant_id = '$gid' AND rotated_at IS NULL AND revoked_at IS NULL")"
check_eq "a refresh.reuse_detected row names the session" 1 \
  "$(rows "SELECT (count(*) > 0)::int FROM audit WHERE event = 'refresh.reuse_detected' AND session_id = '$gid'")"

# ---------------------------------------------------------------- a failing batch changes nothing
psql_db -q <<'SQL'
CREATE FUNCTION t_refresh_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 't_refresh: refusing new refresh tokens'; END $$;
CREATE TRIGGER t_refresh_fail BEFORE INSERT ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION t_refresh_fail();
SQL
audit_before=$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed'")
refresh "$rt3"
check_eq "a rotation the database refuses: 503" 503 "$AZT_STATUS"
check_match "with Retry-After" $'[Rr]etry-[Aa]fter: [0-9]+' "$(cat "$AZT_TMP/headers")"
check_eq "and the OAuth error temporarily_unavailable" temporarily_unavailable "$(jq -r .error <<<"$AZT_BODY")"
check_eq "no token.refreshed row was written" "$audit_before" \
  "$(rows "SELECT count(*) FROM audit WHERE event = 'token.refreshed'")"
psql_db -q -c "DROP TRIGGER t_refresh_fail ON refresh_tokens; DROP FUNCTION t_refresh_fail()"
refresh "$rt3"
check_eq "the same token refreshes once the database accepts it again (nothing was rotated)" 200 "$AZT_STATUS"
rt4=$(jq -r .refresh_token <<<"$AZT_BODY")

# ---------------------------------------------------------------- a dead rotation connection
killed=$(rows "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'authzd-rotation'")
check_eq "the rotation connection is terminated from the database side" 1 "$killed"
sleep 0.2
refresh "$rt4"
check_eq "the next refresh succeeds on a new rotation connection" 200 "$AZT_STATUS"
rt5=$(jq -r .refresh_token <<<"$AZT_BODY")

# ---------------------------------------------------------------- losing the database
pg_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$AZT_PG_DIR/database_url")
"$AUTHZ_ROOT/scripts/pg.sh" stop "$AZT_PG_DIR" >/dev/null
refresh "$rt5"
check_eq "database down: refresh answers 503" 503 "$AZT_STATUS"
check_match "with Retry-After" $'[Rr]etry-[Aa]fter: [0-9]+' "$(cat "$AZT_TMP/headers")"
"$AUTHZ_ROOT/scripts/pg.sh" start "$AZT_PG_DIR" "$pg_port" >/dev/null
back=false
for _ in $(seq 1 50); do
  refresh "$rt5"
  if [[ $AZT_STATUS == 200 ]]; then back=true; break; fi
  sleep 0.1
done
check_eq "database back: the same refresh token works within 5 s" true "$back"

# ---------------------------------------------------------------- expired rows are purged
live=$(rows "SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL")
aged=$(rows "WITH a AS (UPDATE refresh_tokens SET expires_at = now() - interval '2 hours' WHERE rotated_at IS NOT NULL RETURNING 1) SELECT count(*) FROM a")
check "some rotated refresh tokens are made to look expired ($aged)" test "$aged" -gt 0
authz_stop rt
authz_start rt "$port" AUTHZ_THREADS=2
gone=false
for _ in $(seq 1 50); do
  if [[ $(rows "SELECT count(*) FROM refresh_tokens WHERE expires_at < now() - interval '1 hour'") == 0 ]]; then gone=true; break; fi
  sleep 0.1
done
check_eq "authzd purges refresh tokens an hour past their expiry (at start, then hourly)" true "$gone"
check_eq "and keeps the live ones" "$live" \
  "$(rows "SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL")"

done_testing
