#!/usr/bin/env bash
# t_cli.sh: the operator interface (SPEC §10, §13): authzctl --help,
# migrate / root-token / tenant create / keys rotate and the admin.changed
# audit row each change leaves (source "authzctl"), authzd's refusal to run on
# a schema that is behind, configuration errors, environment overrides,
# SIGTERM, and the files in etc/ kept in step with the daemon.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp

# Run a command, keeping its exit code in RC and stdout/stderr in OUT/ERR.
run() {
  local e=$AZT_TMP/run.err
  RC=0
  OUT=$("$@" 2>"$e") || RC=$?
  ERR=$(cat "$e")
}

# The whole schema_migrations table as one string, to compare before/after.
migrations_snapshot() {
  psql_db -c "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
              FROM schema_migrations t"
}

# The admin.changed rows authzctl wrote for ACTION (tenant_id NULL when
# TENANT is empty), as "count source by target" of the newest one.
ctl_rows() {
  local tenant=$1 action=$2
  psql_db -v t="$tenant" -v a="$action" <<'SQL'
SELECT count(*) || ' ' || coalesce(max(a.source), '-') || ' ' || coalesce(max(a.details->>'by'), '-')
       || ' ' || coalesce((array_agg(a.details->>'target' ORDER BY a.id DESC))[1], '-')
  FROM audit a LEFT JOIN tenants t ON t.id = a.tenant_id
 WHERE a.event = 'admin.changed' AND a.outcome = 'success' AND a.details->>'action' = :'a'
   AND a.source = 'authzctl'
   AND (CASE WHEN :'t' = '' THEN a.tenant_id IS NULL ELSE t.slug = :'t' END);
SQL
}

# ---------------------------------------------------------------- usage

no_db="host=127.0.0.1 port=$(free_port) dbname=authz user=authz connect_timeout=2"
for h in --help -h help; do
  run env AUTHZ_DATABASE_URL="$no_db" "$AUTHZ_BUILD_DIR/authzctl" "$h"
  check_eq "authzctl $h exits 0 (without a database)" 0 "$RC"
  check_contains "authzctl $h prints the usage on stdout" "tenant create SLUG" "$OUT"
  check_contains "authzctl $h names keys rotate" "keys rotate SLUG" "$OUT"
done
run env AUTHZ_DATABASE_URL="$no_db" "$AUTHZ_BUILD_DIR/authzctl" no-such-command
check_eq "authzctl with an unknown command exits 2" 2 "$RC"
check_contains "authzctl with an unknown command names it on stderr" "no-such-command" "$ERR"
check_contains "authzctl with an unknown command prints the usage on stderr" "usage: authzctl" "$ERR"
check_eq "authzctl with an unknown command prints nothing on stdout" "" "$OUT"
run env AUTHZ_DATABASE_URL="$no_db" "$AUTHZ_BUILD_DIR/authzctl"
check_eq "authzctl without a command exits 2" 2 "$RC"
check_contains "authzctl without a command prints the usage on stderr" "usage: authzctl" "$ERR"
run env AUTHZ_DATABASE_URL="$no_db" "$AUTHZ_BUILD_DIR/authzctl" --no-such-option
check_eq "authzctl with an unknown option exits 2" 2 "$RC"

# ---------------------------------------------------------------- migrate

run authzctl migrate
check_eq "authzctl migrate on an empty database exits 0" 0 "$RC"
[[ $RC == 0 ]] || printf '#   %s\n' "$OUT" "$ERR"
n_applied=$(psql_db -c "SELECT count(*) FROM schema_migrations" 2>/dev/null || echo 0)
n_files=$(find "$AUTHZ_ROOT/migrations" -maxdepth 1 -name '[0-9]*.sql' | wc -l)
check_eq "authzctl migrate records every migrations/*.sql in schema_migrations" "$n_files" "$n_applied"
check_eq "authzctl migrate creates the tenants table" "t" \
  "$(psql_db -c "SELECT to_regclass('public.tenants') IS NOT NULL")"

before=$(migrations_snapshot)
run authzctl migrate
check_eq "authzctl migrate a second time exits 0" 0 "$RC"
check_eq "authzctl migrate a second time applies nothing" "$before" "$(migrations_snapshot)"

run env AUTHZ_DATABASE_URL="host=127.0.0.1 port=$(free_port) dbname=authz user=authz connect_timeout=5" \
  "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" migrate
check_not "authzctl migrate against an unreachable database fails" test "$RC" = 0
check_match "authzctl migrate against an unreachable database says why" '.+' "$ERR"

# ---------------------------------------------------------------- root-token

run authzctl root-token
check_eq "authzctl root-token exits 0" 0 "$RC"
check_match "authzctl root-token prints one token of >= 32 characters and nothing else" \
  '^[A-Za-z0-9._~+/=-]{32,}$' "$OUT"
tok1=$OUT
run authzctl root-token
check_not "authzctl root-token makes a new token each time" test "$tok1" = "$OUT"
tok2=$OUT
in_clear=$(psql_db -v tok="$tok2" <<'SQL'
SELECT count(*) FROM root_tokens WHERE position(:'tok' in token_hash) > 0;
SQL
)
check_eq "root tokens are not stored in the clear" 0 "$in_clear"
check_eq "each authzctl root-token leaves an admin.changed row (no tenant, source authzctl, by authzctl)" \
  "2 authzctl authzctl -" "$(ctl_rows "" root_token.create)"

# ---------------------------------------------------------------- tenants

run authzctl tenant create acme "Acme Corp"
check_eq "authzctl tenant create acme exits 0" 0 "$RC"
check_eq "authzctl tenant create stores the tenant with its display name" "Acme Corp" \
  "$(psql_db -c "SELECT display_name FROM tenants WHERE slug = 'acme'")"
run authzctl tenant create acme "Acme again"
check_not "authzctl tenant create of an existing slug fails" test "$RC" = 0
check_match "authzctl tenant create of an existing slug says why on stderr" '.+' "$ERR"
check_eq "the duplicate did not change the tenant" "Acme Corp" \
  "$(psql_db -c "SELECT display_name FROM tenants WHERE slug = 'acme'")"
run authzctl tenant create Not_A_Slug
check_not "authzctl tenant create refuses a slug outside [a-z0-9][a-z0-9-]{0,62}" test "$RC" = 0
check_contains "authzctl tenant create says which slugs are valid" "[a-z0-9][a-z0-9-]{0,62}" "$ERR"
check_eq "the refused slug created no tenant" 0 "$(psql_db -c "SELECT count(*) FROM tenants WHERE slug ILIKE 'not_a_slug'")"
check_eq "authzctl tenant create leaves one admin.changed row (source authzctl, by authzctl, target the slug)" \
  "1 authzctl authzctl acme" "$(ctl_rows acme tenant.create)"
check_eq "the row names the OS user who ran authzctl" "$(id -un)" \
  "$(psql_db -c "SELECT a.details->>'os_user' FROM audit a JOIN tenants t ON t.id = a.tenant_id
                 WHERE t.slug = 'acme' AND a.details->>'action' = 'tenant.create'")"

# ---------------------------------------------------------------- keys rotate

keys_of() {
  psql_db -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE k.active)
              FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = '$1'"
}
read -r nkeys_before _ <<<"$(keys_of acme)"
run authzctl keys rotate acme
check_eq "authzctl keys rotate acme exits 0" 0 "$RC"
read -r nkeys_after nactive <<<"$(keys_of acme)"
check_eq "authzctl keys rotate adds a signing key" "$((nkeys_before + 1))" "$nkeys_after"
check_eq "after rotation exactly one key is active" 1 "$nactive"
rotated_kid=$(psql_db -c "SELECT k.kid FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id
                          WHERE t.slug = 'acme' AND k.active")
check_eq "authzctl keys rotate leaves one admin.changed row (source authzctl, by authzctl, target the new kid)" \
  "1 authzctl authzctl $rotated_kid" "$(ctl_rows acme keys.rotate)"
run authzctl keys rotate no-such-tenant
check_not "authzctl keys rotate of an unknown tenant fails" test "$RC" = 0
check_eq "a failed authzctl command leaves no admin.changed row" 0 \
  "$(psql_db -c "SELECT count(*) FROM audit WHERE source = 'authzctl' AND details->>'target' = 'no-such-tenant'")"

# ---------------------------------------------------------------- authzd up

port=$(free_port)
authz_start main "$port"
pass "authzd starts on a migrated schema"
if doc=$(discovery main acme); then
  pass "discovery document for tenant acme"
  jwks_uri=$(jq -r .jwks_uri <<<"$doc")
  http GET "$jwks_uri"
  check_eq "jwks_uri answers 200" 200 "$AZT_STATUS"
  nkeys_pub=$(jq '.keys | length' <<<"$AZT_BODY" 2>/dev/null || echo 0)
  check "the JWKS keeps the rotated-out key published (>= 2 keys)" test "$nkeys_pub" -ge 2
  active_kid=$(psql_db -c "SELECT k.kid FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id
                           WHERE t.slug = 'acme' AND k.active")
  check_contains "the JWKS has the active key" "\"$active_kid\"" "$AZT_BODY"
  # the rows as the admin API shows them (SPEC §7, §8)
  admin GET "/admin/v1/tenants/acme/audit?event=admin.changed"
  check_eq "GET .../audit?event=admin.changed answers 200" 200 "$AZT_STATUS"
  check_eq "the admin API lists authzctl's tenant.create row: source authzctl, by authzctl, target acme" \
    '"authzctl authzctl acme success"' \
    "$(jq -c '[.events[] | select(.details.action == "tenant.create")][0]
              | "\(.source) \(.details.by) \(.details.target) \(.outcome)"' <<<"$AZT_BODY" 2>/dev/null)"
  check_eq "the admin API lists authzctl's keys.rotate row: source authzctl, by authzctl, target the kid" \
    "\"authzctl authzctl $active_kid success\"" \
    "$(jq -c '[.events[] | select(.details.action == "keys.rotate")][0]
              | "\(.source) \(.details.by) \(.details.target) \(.outcome)"' <<<"$AZT_BODY" 2>/dev/null)"
else
  fail "discovery document for tenant acme" "GET ${AZT_URL[main]}/.well-known/oauth-authorization-server/t/acme failed"
fi

# ---- authzctl tools list / show, baseline: what the PDP decides on (SPEC §12)
MCP=https://mcp.example.test/
admin POST /admin/v1/tenants/acme/resources "{\"uri\":\"$MCP\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
admin PUT "/admin/v1/tenants/acme/resources/tools/search?resource=$MCP" '{"scopes":["tools:read"],"risk":"read"}'
admin PUT "/admin/v1/tenants/acme/resources/tools/send_mail?resource=$MCP" '{"scopes":["tools:call"],"risk":"write","approval":"session"}'
authzctl tenant create other >/dev/null
admin POST /admin/v1/tenants/other/resources '{"uri":"https://other.example.test/","scopes":["x"]}'
admin PUT "/admin/v1/tenants/other/resources/tools/secret_tool?resource=https://other.example.test/" '{"scopes":["x"]}'
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools list acme "$MCP"
check_eq "tools list: exit 0" 0 "$RC"
check_eq "... the catalog as the admin API has it" "search read none|send_mail write session" \
  "$(jq -r '[.tools[] | "\(.name) \(.risk) \(.approval)"] | join("|")' <<<"$OUT")"
admin GET "/admin/v1/tenants/acme/resources/tools?resource=$MCP"
check_eq "... the same document as GET .../resources/tools" "$(jq -S . <<<"$AZT_BODY")" "$(jq -S . <<<"$OUT")"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools show acme "$MCP" send_mail
check_eq "tools show: one tool" "send_mail tools:call" "$(jq -r '"\(.name) \(.scopes | join(" "))"' <<<"$OUT")"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools list acme https://other.example.test/
check_eq "another tenant's resource: exit 1" 1 "$RC"
check_contains "... no such resource, nothing of it printed" "no such resource" "$ERR"
check_eq "... (stdout empty)" "" "$OUT"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools show acme "$MCP" secret_tool
check_eq "another tenant's tool by name: exit 1 (no such tool)" "1 authzctl: no such tool" "$RC $ERR"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools list no-such-tenant "$MCP"
check_eq "an unknown tenant: exit 1" 1 "$RC"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools list acme
check_eq "tools list without the resource: exit 2 (usage)" 2 "$RC"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools show acme "$MCP" search extra
check_eq "tools show with an argument too many: exit 2" 2 "$RC"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" tools put acme "$MCP" search
check_eq "no verb that writes (the admin API changes the catalog): exit 2" 2 "$RC"
admin POST /admin/v1/tenants/acme/clients "{\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"tools:read\"],\"allowed_resources\":[\"$MCP\"]}"
agent=$(jq -r .client_id <<<"$AZT_BODY"); agent_secret=$(jq -r .client_secret <<<"$AZT_BODY")
admin POST /admin/v1/tenants/acme/clients "{\"grant_types\":[\"client_credentials\"],\"introspects\":[\"$MCP\"]}"
rs=$(jq -r .client_id <<<"$AZT_BODY"); rs_secret=$(jq -r .client_secret <<<"$AZT_BODY")
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" baseline acme "$agent"
check_eq "baseline of an agent that used nothing: empty, in the tenant's window" "$agent 14 0" \
  "$(jq -r '"\(.client_id) \(.window_days) \(.baseline | length)"' <<<"$OUT")"
http POST "${AZT_URL[main]}/t/acme/oauth2/token" -u "$agent:$agent_secret" -d grant_type=client_credentials \
  -d scope=tools:read --data-urlencode "resource=$MCP"
tok=$(jq -r .access_token <<<"$AZT_BODY")
http POST "${AZT_URL[main]}/t/acme/access/v1/evaluation" -u "$rs:$rs_secret" -H 'Content-Type: application/json' \
  --data-binary "$(jq -nc --arg t "$tok" --arg s "$MCP" \
    '{subject:{type:"agent_token",id:$t},action:{name:"tools/call"},resource:{type:"mcp_tool",id:"search",properties:{server:$s}}}')"
check_eq "the agent calls search: allowed" "200 true" "$AZT_STATUS $(jq -r .decision <<<"$AZT_BODY")"
admin PATCH /admin/v1/tenants/acme '{"drift_window_days":3}'
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" baseline acme "$agent"
check_eq "... a pair it used, in the window as changed" "3 $MCP search" \
  "$(jq -r '"\(.window_days) \(.baseline[0].server) \(.baseline[0].tool)"' <<<"$OUT")"
admin GET "/admin/v1/tenants/acme/clients/$agent/baseline"
check_eq "... the same document as GET .../baseline" "$(jq -S . <<<"$AZT_BODY")" "$(jq -S . <<<"$OUT")"
run "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" baseline other "$agent"
check_eq "the agent under another tenant: no pairs" 0 "$(jq '.baseline | length' <<<"$OUT")"
authz_stop main

# ---------------------------------------------------------------- schema behind

# An empty database: nothing applied.
empty_db=$(pg_new_db)
authzd_oneshot 20 "$AZT_CONF" AUTHZ_DATABASE_URL="$empty_db" AUTHZ_LISTEN="127.0.0.1:$(free_port)"
check_eq "authzd on an empty database exits 1" 1 "$AZT_RC"
check_contains "authzd on an empty database names 'authzctl migrate'" "authzctl migrate" "$AZT_OUT"

# The newest migration missing: keep the row aside, delete it, then put it back.
psql_db >/dev/null <<'SQL'
CREATE TABLE t_cli_saved AS
  SELECT * FROM schema_migrations ORDER BY 1 DESC LIMIT 1;
DELETE FROM schema_migrations WHERE ctid IN
  (SELECT ctid FROM schema_migrations ORDER BY 1 DESC LIMIT 1);
SQL
authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$(free_port)"
check_eq "authzd with the newest migration missing exits 1" 1 "$AZT_RC"
check_contains "authzd with the newest migration missing names 'authzctl migrate'" \
  "authzctl migrate" "$AZT_OUT"
if [[ $AZT_OUT == *Sanitizer* || $AZT_OUT == *"runtime error:"* ]]; then
  fail "authzd refusing to start leaves no sanitizer report" "$AZT_OUT"
fi
psql_db >/dev/null <<'SQL'
INSERT INTO schema_migrations SELECT * FROM t_cli_saved;
DROP TABLE t_cli_saved;
SQL
before=$(migrations_snapshot)
run authzctl migrate
check_eq "authzctl migrate after restoring the row exits 0" 0 "$RC"
check_eq "authzctl migrate after restoring the row applies nothing" "$before" "$(migrations_snapshot)"
port=$(free_port)
authz_start after_migrate "$port"
pass "authzd starts again once the schema is current"
http GET "${AZT_URL[after_migrate]}/readyz"
check_eq "/readyz answers 200 on a current schema" 200 "$AZT_STATUS"
authz_stop after_migrate

# ---------------------------------------------------------------- config

bad_conf=$AZT_TMP/bad.conf
printf '# a typo\nno_such_key = 1\n' > "$bad_conf"
authzd_oneshot 20 "$bad_conf" AUTHZ_LISTEN="127.0.0.1:$(free_port)"
check_not "authzd with an unknown config key exits non-zero" test "$AZT_RC" = 0
check_not "authzd with an unknown config key did not keep running" test "$AZT_RC" = 124
check_contains "authzd with an unknown config key names it" "no_such_key" "$AZT_OUT"

authzd_oneshot 20 "$AZT_CONF" AUTHZ_LISTEN="127.0.0.1:$(free_port)" AUTHZ_NO_SUCH_KEY=1
check_not "authzd with an unknown AUTHZ_ variable exits non-zero" test "$AZT_RC" = 0
check_contains "authzd with an unknown AUTHZ_ variable names it" "NO_SUCH_KEY" "$AZT_OUT"

file_port=$(free_port)
env_port=$(free_port)
listen_conf=$AZT_TMP/listen.conf
printf 'listen = 127.0.0.1:%s\n' "$file_port" > "$listen_conf"
authz_spawn from_file "$listen_conf" "$file_port"
pass "authzd listens where the file's listen key says"
authz_stop from_file
authz_spawn from_env "$listen_conf" "$env_port" AUTHZ_LISTEN="127.0.0.1:$env_port"
pass "AUTHZ_LISTEN overrides the file's listen key"
check_eq "nothing listens on the file's port when AUTHZ_LISTEN is set" "" \
  "$(ss -Htln "( sport = :$file_port )")"
authz_stop from_env

# etc/authzd.conf: usable as it is, and every key it documents is one authzd
# knows (each commented `# key = value` line, uncommented).
port=$(free_port)
authz_spawn etc_conf "$AUTHZ_ROOT/etc/authzd.conf" "$port" AUTHZ_LISTEN="127.0.0.1:$port"
pass "authzd starts with etc/authzd.conf as shipped"
authz_stop etc_conf
documented=$AZT_TMP/documented.conf
sed -nE 's/^#[[:space:]]*([a-z_0-9]+)[[:space:]]*=[[:space:]]*(.*)$/\1 = \2/p' \
  "$AUTHZ_ROOT/etc/authzd.conf" \
  | grep -vE '^(listen|public_url|database_url|master_key_file|tls_cert|tls_key) ' \
  | awk '!seen[$1]++' > "$documented"
port=$(free_port)
authzd_oneshot 5 "$documented" AUTHZ_LISTEN="127.0.0.1:$port"
check_eq "authzd accepts every key documented in etc/authzd.conf (runs until stopped)" 124 "$AZT_RC"
[[ $AZT_RC == 124 ]] || printf '#   %s\n' "${AZT_OUT:0:500}"

# etc/authzd.service: a valid unit (with ExecStart pointed at an existing file,
# since authzd is not installed here).
if command -v systemd-analyze >/dev/null 2>&1; then
  unit=$AZT_TMP/authzd.service
  sed 's#^ExecStart=/usr/local/sbin/authzd#ExecStart=/bin/true#' "$AUTHZ_ROOT/etc/authzd.service" > "$unit"
  check "systemd-analyze verify etc/authzd.service" systemd-analyze verify "$unit"
fi

done_testing
