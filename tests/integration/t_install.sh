#!/usr/bin/env bash
# t_install.sh: the installation (SPEC §10, issue 7). In a scratch copy of
# the sources (so the in-tree build is not reconfigured): autoreconf,
# ./configure --prefix=$AZT_TMP/prefix, make, make install; then
#   - the layout: authzd and authzctl in sbin/, authzd.conf in etc/authz/,
#     every migration in share/authz/migrations/, every page template in
#     share/authz/templates/, and nothing else;
#   - `make install` again keeps an edited configuration; `make uninstall`
#     removes everything but it;
#   - the installed programs read the installed configuration, migrations and
#     templates even while the source tree they were built from exists;
#   - `make dist` carries every tracked file the build, `make check` and the
#     test suites need; `make distcheck` passes (only with AZT_DISTCHECK=1:
#     it builds everything twice more; scripts/test sets it);
#   - with the source tree deleted, the installed authzctl migrates a new
#     database and creates a tenant, and the installed authzd (-c the
#     installed config, AUTHZ_* overrides) serves discovery, the JWKS, tokens
#     and the sign-in page;
#   - etc/authzd.service starts what `make install` puts under /usr/local,
#     passes systemd-analyze verify against the installed binary, and keeps
#     its hardening.
# Environment: AZT_DISTCHECK=1, AUTHZ_MAKE_JOBS (default 2).
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

pg_start_tmp
JOBS=${AUTHZ_MAKE_JOBS:-2}
SRC=$AZT_TMP/src
PREFIX=$AZT_TMP/prefix
LOG=$AZT_TMP/build.log

# step NAME COMMAND...: run in $SRC with output to $LOG; a check.
step() {
  local name=$1; shift
  local rc=0
  echo "### $*" >>"$LOG"
  (cd "$SRC" && "$@") >>"$LOG" 2>&1 || rc=$?
  if (( rc == 0 )); then
    pass "$name"
  else
    fail "$name" "exit code $rc: $*" "$(tail -n 40 "$LOG")"
  fi
  return "$rc"
}

# ---------------------------------------------------------------- build

# The sources as the working tree has them: tracked and untracked files, not
# ignored ones (as scripts/test copies them for the sanitizer build).
mkdir -p "$SRC"
(cd "$AUTHZ_ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -f $f ]] && printf '%s\0' "$f"; done |
  tar -cf - --null -T -) | tar -xf - -C "$SRC"
check "the scratch copy of the sources has configure.ac" test -f "$SRC/configure.ac"

t0=$SECONDS
step "autoreconf -fi in the scratch copy" autoreconf -fi || { done_testing; exit 1; }
step "./configure --prefix=\$AZT_TMP/prefix" ./configure --prefix="$PREFIX" || { done_testing; exit 1; }
step "make -j$JOBS" make -j"$JOBS" || { done_testing; exit 1; }
step "make install" make install || { done_testing; exit 1; }
echo "# build and install: $((SECONDS - t0))s"

# ---------------------------------------------------------------- layout

check "authzd is installed in sbindir, executable" test -x "$PREFIX/sbin/authzd"
check "authzctl is installed in sbindir, executable" test -x "$PREFIX/sbin/authzctl"
check "etc/authzd.conf is installed as sysconfdir/authz/authzd.conf" \
  cmp "$SRC/etc/authzd.conf" "$PREFIX/etc/authz/authzd.conf"

expected=$AZT_TMP/expected.lst
{
  echo sbin/authzd
  echo sbin/authzctl
  echo etc/authz/authzd.conf
  (cd "$SRC" && ls migrations/*.sql) | sed 's#^#share/authz/#'
  (cd "$SRC/authz/web" && ls templates/*.html) | sed 's#^#share/authz/#'
} | sort >"$expected"
installed=$(cd "$PREFIX" && find . -type f | sed 's#^\./##' | sort)
check_eq "make install installs exactly the programs, the config, every migration and every template" \
  "$(cat "$expected")" "$installed"
diffs=""
for f in "$SRC"/migrations/*.sql; do
  cmp -s "$f" "$PREFIX/share/authz/migrations/$(basename "$f")" || diffs+=" $(basename "$f")"
done
for f in "$SRC"/authz/web/templates/*.html; do
  cmp -s "$f" "$PREFIX/share/authz/templates/$(basename "$f")" || diffs+=" $(basename "$f")"
done
check_eq "the installed migrations and templates are the sources' own" "" "$diffs"

# ---------------------------------------------------------------- config kept

# The operator's configuration: this database, the master key, a port.
conf=$PREFIX/etc/authz/authzd.conf
port1=$(free_port)
cat >>"$conf" <<EOF

# ---- this installation (t_install.sh)
database_url = $AUTHZ_DATABASE_URL
master_key_file = $AUTHZ_MASTER_KEY_FILE
listen = 127.0.0.1:$port1
EOF
cp "$conf" "$AZT_TMP/conf.edited"
out=$(cd "$SRC" && make install 2>&1) || fail "make install a second time" "$out"
check "make install over an installation keeps the edited authzd.conf" cmp "$AZT_TMP/conf.edited" "$conf"
check_contains "make install says it kept authzd.conf" "keeping $conf" "$out"
out=$(cd "$SRC" && make uninstall 2>&1) || fail "make uninstall" "$out"
left=$(cd "$PREFIX" && find . -type f | sed 's#^\./##' | sort)
check_eq "make uninstall removes everything but the edited configuration" "etc/authz/authzd.conf" "$left"
step "make install again" make install || { done_testing; exit 1; }
check "the edited configuration survived uninstall and install" cmp "$AZT_TMP/conf.edited" "$conf"

# ---------------------------------------------------------------- the installed programs, sources present

# No -c and no AUTHZ_ variables: the installed programs must read the
# installed authzd.conf (the source tree's has no master_key_file, so
# reading it would fail), and the installed templates (marked here).
printf '\n<!-- installed copy (t_install.sh) -->\n' >>"$PREFIX/share/authz/templates/login.html"
bare() { env -u AUTHZ_DATABASE_URL -u AUTHZ_MASTER_KEY_FILE -u AUTHZ_BUILD_DIR "$@"; }
RC=0; out=$(bare "$PREFIX/sbin/authzctl" migrate 2>&1) || RC=$?
check_eq "installed authzctl without -c reads sysconfdir/authz/authzd.conf (migrate exits 0)" 0 "$RC"
[[ $RC == 0 ]] || printf '#   %s\n' "$out"
n_mig=$(ls "$PREFIX"/share/authz/migrations/*.sql | wc -l)
check_eq "installed authzctl migrate applies every installed migration" "$n_mig" \
  "$(psql_db -c 'SELECT count(*) FROM schema_migrations' 2>/dev/null || echo none)"
RC=0; out=$(bare "$PREFIX/sbin/authzctl" tenant create acme "Acme" 2>&1) || RC=$?
check_eq "installed authzctl tenant create acme" 0 "$RC"

env -u AUTHZ_DATABASE_URL -u AUTHZ_MASTER_KEY_FILE -u AUTHZ_BUILD_DIR \
  "$PREFIX/sbin/authzd" >"$AZT_TMP/installed1.log" 2>&1 </dev/null &
AZT_PID[installed1]=$!
if _azt_wait_healthy "${AZT_PID[installed1]}" "$port1" 30; then
  pass "installed authzd without -c listens where the installed authzd.conf says"
  http GET "http://127.0.0.1:$port1/t/acme/login"
  check_eq "installed authzd: sign-in page 200" 200 "$AZT_STATUS"
  check_contains "installed authzd uses the installed templates although the sources exist" \
    "installed copy (t_install.sh)" "$AZT_BODY"
else
  fail "installed authzd without -c listens where the installed authzd.conf says" \
    "$(tail -n 20 "$AZT_TMP/installed1.log")"
fi
authz_stop installed1

# ---------------------------------------------------------------- make dist / distcheck

step "make dist" make dist || true
tarball=$(ls "$SRC"/authz-*.tar.gz 2>/dev/null | head -n 1 || true)
if [[ -n $tarball ]]; then
  top=$(basename "$tarball" .tar.gz)
  tar -tzf "$tarball" | sed "s#^$top/##" | grep -v '/$' | sort >"$AZT_TMP/dist.lst"
  # every tracked file but the CI hook and git's own, as it is in the working tree
  (cd "$AUTHZ_ROOT" && git ls-files) | grep -vE '^(\.ci/|\.gitignore$|configure~$)' |
    while IFS= read -r f; do [[ -f $AUTHZ_ROOT/$f ]] && echo "$f"; done | sort >"$AZT_TMP/tracked.lst"
  missing=$(comm -23 "$AZT_TMP/tracked.lst" "$AZT_TMP/dist.lst")
  check_eq "make dist carries every tracked file (sources, headers, templates, migrations, tests, conformance, docs)" \
    "" "$missing"
  for f in doc/OPERATIONS.md tests/tls.sh tests/integration/t_install.sh conformance/lib/fixture.mjs \
           etc/authzd.service etc/authzd.conf; do
    grep -qx "$f" "$AZT_TMP/dist.lst" || fail "make dist carries $f"
  done
fi

if [[ ${AZT_DISTCHECK:-0} == 1 ]]; then
  t0=$SECONDS
  if step "make distcheck" make -j"$JOBS" distcheck; then
    check_contains "make distcheck: archives ready for distribution" "archives ready for distribution" \
      "$(tail -n 5 "$LOG")"
  fi
  echo "# make distcheck: $((SECONDS - t0))s"
else
  echo "# make distcheck skipped (AZT_DISTCHECK=1 runs it; scripts/test does)"
fi

# ---------------------------------------------------------------- the installed programs, sources gone

rm -rf "$SRC"
check_not "the scratch sources are gone" test -e "$SRC"

db2=$(pg_new_db)
ctl() { env AUTHZ_DATABASE_URL="$db2" "$PREFIX/sbin/authzctl" -c "$conf" "$@"; }
RC=0; out=$(ctl migrate 2>&1) || RC=$?
check_eq "installed authzctl -c migrate (sources gone) exits 0" 0 "$RC"
[[ $RC == 0 ]] || printf '#   %s\n' "$out"
check_eq "it applied every migration from share/authz/migrations" "$n_mig" \
  "$("$AZT_PG_BIN/psql" -X -A -t -q "$db2" -c 'SELECT count(*) FROM schema_migrations' 2>/dev/null || echo none)"
RC=0; ctl tenant create acme "Acme" >/dev/null 2>&1 || RC=$?
check_eq "installed authzctl tenant create acme (sources gone)" 0 "$RC"
tok=$(ctl root-token 2>/dev/null || true)
check_match "installed authzctl root-token (sources gone)" '^[A-Za-z0-9._~+/=-]{32,}$' "$tok"

port2=$(free_port)
AUTHZ_BUILD_DIR=$PREFIX/sbin authz_spawn installed2 "$conf" "$port2" AUTHZ_DATABASE_URL="$db2" AUTHZ_LISTEN="127.0.0.1:$port2" \
  AUTHZ_PUBLIC_URL="http://127.0.0.1:$port2" AUTHZ_MASTER_KEY_FILE="$AUTHZ_MASTER_KEY_FILE"
pass "installed authzd -c the installed config starts (sources gone)"
# (authz_spawn starts $AUTHZ_BUILD_DIR/authzd, set to sbin/ above)
check_eq "the process is the installed authzd" "$PREFIX/sbin/authzd" \
  "$(readlink "/proc/${AZT_PID[installed2]}/exe" 2>/dev/null || true)"
B=http://127.0.0.1:$port2
http GET "$B/readyz"
check_eq "installed authzd: /readyz 200 (schema checked against the installed migrations)" 200 "$AZT_STATUS"
http GET "$B/.well-known/oauth-authorization-server/t/acme"
check_eq "installed authzd: discovery 200" 200 "$AZT_STATUS"
check_eq "installed authzd: issuer" "$B/t/acme" "$(jq -r .issuer <<<"$AZT_BODY" 2>/dev/null)"
jwks_uri=$(jq -r .jwks_uri <<<"$AZT_BODY" 2>/dev/null || true)
http GET "$jwks_uri"
check "installed authzd: the JWKS has a key" test "$(jq '.keys | length' <<<"$AZT_BODY" 2>/dev/null || echo 0)" -ge 1
http GET "$B/t/acme/login"
check_eq "installed authzd: sign-in page 200 (templates from share/authz/templates)" 200 "$AZT_STATUS"
check_contains "installed authzd: the sign-in page is the installed template" "installed copy (t_install.sh)" "$AZT_BODY"
check_contains "installed authzd: the sign-in form" 'name="password"' "$AZT_BODY"
check_not "installed authzd: no template error in its log" grep -q 'cannot read the page template' "$(authz_log installed2)"
AZT_ADMIN_URL=$B
http POST "$B/admin/v1/tenants/acme/resources" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary '{"uri":"https://mcp.example.test/","scopes":["tools:read"]}'
check_eq "installed authzd: admin API creates a resource" 201 "$AZT_STATUS"
http POST "$B/admin/v1/tenants/acme/clients" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary '{"client_name":"agent","grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","allowed_scopes":["tools:read"],"allowed_resources":["https://mcp.example.test/"]}'
check_eq "installed authzd: admin API creates a client" 201 "$AZT_STATUS"
cid=$(jq -r .client_id <<<"$AZT_BODY" 2>/dev/null || true)
csec=$(jq -r .client_secret <<<"$AZT_BODY" 2>/dev/null || true)
http POST "$B/t/acme/oauth2/token" -u "$cid:$csec" -d grant_type=client_credentials -d scope=tools:read \
  --data-urlencode resource=https://mcp.example.test/
check_eq "installed authzd: a client credentials token" 200 "$AZT_STATUS"
authz_stop installed2

# ---------------------------------------------------------------- systemd unit

unit=$AUTHZ_ROOT/etc/authzd.service
# what make install puts under the default prefix, /usr/local
check_eq "etc/authzd.service starts the authzd make install puts in /usr/local/sbin, with the installed config" \
  "ExecStart=/usr/local/sbin/authzd -c /usr/local/etc/authz/authzd.conf" "$(grep '^ExecStart=' "$unit")"
for d in 'User=authz' 'Group=authz' 'Type=exec' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
         'CapabilityBoundingSet=' 'AmbientCapabilities=' 'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM'; do
  check "etc/authzd.service has $d" grep -qxF "$d" "$unit"
done
check_not "etc/authzd.service makes nothing writable (no ReadWritePaths=)" grep -q '^ReadWritePaths=' "$unit"
check_not "etc/authzd.service does not claim sd_notify readiness" grep -q '^Type=notify' "$unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  sed -e "s#/usr/local/sbin/#$PREFIX/sbin/#" -e "s#/usr/local/etc/#$PREFIX/etc/#" "$unit" >"$AZT_TMP/authzd.service"
  check "systemd-analyze verify etc/authzd.service with the installed authzd" \
    systemd-analyze verify "$AZT_TMP/authzd.service"
  sec=$(systemd-analyze security --offline=true "$AZT_TMP/authzd.service" 2>&1 | tail -n 1 || true)
  level=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$sec")
  echo "# systemd-analyze security: $sec"
  check "systemd-analyze security rates the unit's exposure 2.0 or less ($level)" \
    awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
else
  fail "systemd-analyze is installed (scripts/deps.sh installs systemd)"
fi

done_testing
