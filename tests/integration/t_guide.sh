#!/usr/bin/env bash
# t_guide.sh: doc/OPERATIONS.md, run. Every ```sh block of the guide runs, in
# order, in this one bash process (so the variables a block sets are there
# for the next), as root, against a scratch installation:
#
#   - the block marked <!-- t_guide: settings --> is replaced by this test's
#     values (a prefix, unit directory and backup places under $AZT_TMP, the
#     private PostgreSQL of tests/lib.sh, https://127.0.0.1:PORT); it must set
#     exactly the variables the test sets;
#   - blocks marked <!-- t_guide: run ID --> run verbatim, from a scratch copy
#     of the sources (the guide's "source directory"), with the scratch
#     installation's sbin/ on the PATH, after before_ID and before the checks
#     of after_ID below (before_configure picks the port late);
#   - blocks marked <!-- t_guide: not run (why) --> are listed, not run;
#     a ```sh block without a marker fails the test.
#
# Fixtures the guide takes as given: the TLS files "as your CA issued them"
# (fullchain.pem, privkey.pem, and the renewed new-fullchain.pem,
# new-privkey.pem, from a test CA that curl trusts through CURL_CA_BUNDLE),
# the databases (DATABASE_URL, and an empty NEW_DATABASE_URL for the restore),
# and `systemctl`: there is no running systemd here, so $G/bin/systemctl
# stands in for it, doing what the installed unit says: ExecStart= as User=
# and Group= (setpriv, empty environment, output to its "journal"),
# ExecReload= with $MAINPID, KillSignal= and TimeoutStopSec= on stop (and
# reports authzd's exit code), `systemd-analyze verify` on daemon-reload.
# The sandboxing directives are not applied; t_install.sh checks them.
#
# The user `authz` is created by the guide's useradd when missing, and
# removed at the end when this test created it.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/tls.sh
source "$AUTHZ_ROOT/tests/tls.sh"

GUIDE_MD=$AUTHZ_ROOT/doc/OPERATIONS.md
if (( EUID != 0 )); then
  fail "t_guide.sh runs as root (the guide creates a user and sets owners)"
  done_testing
  exit 1
fi

pg_start_tmp
G=$AZT_TMP/guide
mkdir -p "$G"/{bin,blocks,state,units,tls,src}
# the authz user must reach the installation under $AZT_TMP
chmod 711 "$AZT_TMP"
chmod 755 "$G"

# ---------------------------------------------------------------- the guide's blocks

check "doc/OPERATIONS.md exists" test -f "$GUIDE_MD"
check_not "the guide's shell blocks are all \`\`\`sh (no bash/shell/console fences)" \
  grep -qE '^```(bash|shell|console|sh-session)[[:space:]]*$' "$GUIDE_MD"
index=$G/blocks/index
awk -v dir="$G/blocks" '
  /^```sh[[:space:]]*$/ && !inblk { inblk = 1; n++; file = sprintf("%s/%02d.sh", dir, n); printf "" > file; mk = prev; next }
  inblk && /^```[[:space:]]*$/ { inblk = 0; close(file); printf "%02d\t%s\n", n, mk; next }
  inblk { print > file; next }
  NF { prev = $0 }
' "$GUIDE_MD" >"$index"
n_blocks=$(wc -l <"$index")
check "the guide has shell blocks" test "$n_blocks" -gt 5

declare -a B_NUM=() B_KIND=() B_ID=()
n_settings=0
while IFS=$'\t' read -r num marker; do
  if [[ $marker =~ ^\<\!--\ t_guide:\ settings\ --\>$ ]]; then
    kind=settings; id=settings; n_settings=$((n_settings + 1))
  elif [[ $marker =~ ^\<\!--\ t_guide:\ run\ ([a-z0-9_]+)\ --\>$ ]]; then
    kind=run; id=${BASH_REMATCH[1]}
  elif [[ $marker =~ ^\<\!--\ t_guide:\ not\ run\ (\(.+\))\ --\>$ ]]; then
    kind=skip; id=${BASH_REMATCH[1]}
  else
    fail "guide block $num has a t_guide marker on the line before it" "found: $marker" \
      "$(head -n 3 "$G/blocks/$num.sh")"
    continue
  fi
  B_NUM+=("$num"); B_KIND+=("$kind"); B_ID+=("$id")
done <"$index"
check_eq "the guide has exactly one settings block" 1 "$n_settings"

# ---------------------------------------------------------------- fixtures

# the sources, as the working tree has them
(cd "$AUTHZ_ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -f $f ]] && printf '%s\0' "$f"; done |
  tar -cf - --null -T -) | tar -xf - -C "$G/src"

tls_make_ca "$G/tls"
tls_make_cert "$G/tls" one localhost 0a01 ec
tls_make_cert "$G/tls" two localhost 0a02 rsa
cp "$G/tls/one.pem" "$G/src/fullchain.pem"
cp "$G/tls/one.key" "$G/src/privkey.pem"
cp "$G/tls/two.pem" "$G/src/new-fullchain.pem"
cp "$G/tls/two.key" "$G/src/new-privkey.pem"
export CURL_CA_BUNDLE=$G/tls/ca.pem

G_PORT=$(free_port)
G_DB=$AUTHZ_DATABASE_URL
G_NEW_DB=$(pg_new_db)
test_settings() {
  PREFIX=$G/prefix
  CONF=$PREFIX/etc/authz/authzd.conf
  LISTEN=127.0.0.1:$G_PORT
  PUBLIC_URL=https://127.0.0.1:$G_PORT
  DATABASE_URL=$G_DB
  TENANT=acme
  UNITDIR=$G/units
  BACKUP_DIR=$G/backups
  KEY_BACKUP=$G/offline/master.key
  NEW_DATABASE_URL=$G_NEW_DB
}
G_SETTINGS="BACKUP_DIR CONF DATABASE_URL KEY_BACKUP LISTEN NEW_DATABASE_URL PREFIX PUBLIC_URL TENANT UNITDIR"

# The guide's commands see neither this harness's AUTHZ_* variables (they
# would override the guide's configuration) nor its authzctl function.
unset AUTHZ_DATABASE_URL AUTHZ_MASTER_KEY_FILE AUTHZ_BUILD_DIR
unset -f authzctl
export PATH=$G/bin:$G/prefix/sbin:$PATH

# ---------------------------------------------------------------- systemctl stand-in

cat >"$G/bin/systemctl" <<EOF
#!/usr/bin/env bash
# systemctl stand-in for t_guide.sh (see its header).
set -euo pipefail
UNITDIR_='$G/units'
STATE='$G/state'
EOF
cat >>"$G/bin/systemctl" <<'EOF'
verb=${1:-}; shift || true
now=0
if [[ ${1:-} == --now ]]; then now=1; shift; fi
name=${1:-}; name=${name%.service}
unit=$UNITDIR_/$name.service
pidf=$STATE/$name.pid exitf=$STATE/$name.exit log=$STATE/$name.log
key() { sed -nE "s/^$1=(.*)$/\1/p" "$unit" | tail -n 1; }
running() { [[ -s $pidf && ! -s $exitf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
as_user() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid="$(key User)" --regid="$(key Group)" --init-groups -- "$@"; }
start() {
  [[ -f $unit ]] || { echo "systemctl: Unit $name.service not found." >&2; exit 5; }
  running && return 0
  local -a argv
  read -ra argv <<<"$(key ExecStart)"
  rm -f "$pidf" "$exitf"
  (
    # exec all the way down: $! is authzd's own PID ($MAINPID)
    ( exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid="$(key User)" --regid="$(key Group)" \
        --init-groups -- "${argv[@]}" ) </dev/null &
    echo $! >"$pidf"
    rc=0; wait $! || rc=$?
    echo "$rc" >"$exitf"
  ) >>"$log" 2>&1 </dev/null &
  for (( i = 0; i < 100; i++ )); do [[ -s $pidf ]] && break; sleep 0.02; done
  echo "--- started $(date -u +%FT%TZ) pid $(cat "$pidf")" >>"$STATE/events"
}
stop() {
  running || { rm -f "$pidf"; return 0; }
  local pid sig t rc
  pid=$(cat "$pidf"); sig=$(key KillSignal); sig=${sig:-SIGTERM}
  t=$(key TimeoutStopSec); t=${t%s}; t=${t:-90}
  kill -s "${sig#SIG}" "$pid"
  for (( i = 0; i < t * 10; i++ )); do [[ -s $exitf ]] && break; sleep 0.1; done
  if [[ ! -s $exitf ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "systemctl: $name did not stop within ${t}s; killed" >&2
    return 1
  fi
  rc=$(cat "$exitf")
  rm -f "$pidf"
  echo "--- stopped pid $pid, exit $rc" >>"$STATE/events"
  [[ $rc == 0 ]] || { echo "systemctl: $name exited with status $rc" >&2; return 1; }
}
case $verb in
  daemon-reload)
    for u in "$UNITDIR_"/*.service; do
      [[ -f $u ]] || continue
      if command -v systemd-analyze >/dev/null 2>&1; then systemd-analyze verify "$u"; fi
    done ;;
  enable) [[ -f $unit ]] || { echo "systemctl: Unit $name.service not found." >&2; exit 5; }
          (( now )) && start ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  reload)
    running || { echo "systemctl: $name is not active, cannot reload." >&2; exit 1; }
    read -ra argv <<<"$(key ExecReload | sed "s/\\\$MAINPID/$(cat "$pidf")/g")"
    as_user "${argv[@]}"
    echo "--- reloaded pid $(cat "$pidf")" >>"$STATE/events" ;;
  is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
  *) echo "systemctl stand-in: unsupported: $verb $*" >&2; exit 1 ;;
esac
EOF
chmod 755 "$G/bin/systemctl"

user_existed=0
id -u authz >/dev/null 2>&1 && user_existed=1
guide_cleanup() {
  if [[ -s $G/state/authzd.pid && ! -s $G/state/authzd.exit ]]; then
    local pid
    pid=$(cat "$G/state/authzd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if (( ! user_existed )) && id -u authz >/dev/null 2>&1; then
    userdel authz 2>/dev/null || true
  fi
}
on_exit guide_cleanup

# ---------------------------------------------------------------- helpers for the checks

G_JWT=$G/verify-jwt.cjs
cat >"$G_JWT" <<'EOF'
// node verify-jwt.cjs TOKEN JWKS_JSON: exit 0 when TOKEN's signature verifies
// with the JWKS key its kid names (ES256, RS256 or EdDSA).
const crypto = require('node:crypto');
const [tok, jwksText] = process.argv.slice(2);
const [h, p, s] = (tok || '').split('.');
const header = JSON.parse(Buffer.from(h, 'base64url'));
const jwk = JSON.parse(jwksText).keys.find((k) => k.kid === header.kid);
if (!jwk) { console.error(`kid ${header.kid} is not in the JWKS`); process.exit(2); }
const { kid, alg, use, key_ops, ...pub } = jwk;
const key = crypto.createPublicKey({ key: pub, format: 'jwk' });
const data = Buffer.from(`${h}.${p}`);
const sig = Buffer.from(s, 'base64url');
let ok = false;
if (header.alg === 'ES256') ok = crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
else if (header.alg === 'RS256') ok = crypto.verify('sha256', data, key, sig);
else if (header.alg === 'EdDSA') ok = crypto.verify(null, data, key, sig);
else { console.error(`unexpected alg ${header.alg}`); process.exit(3); }
if (!ok) { console.error('signature does not verify'); process.exit(1); }
EOF
jwks_now() { curl -fsS --max-time 10 "$JWKS_URI"; }
verifies() { node "$G_JWT" "$1" "$(jwks_now)"; }
served_serial() {
  timeout 15 openssl s_client -connect "127.0.0.1:$G_PORT" -CAfile "$CURL_CA_BUNDLE" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null || true
}
mainpid() { cat "$G/state/authzd.pid" 2>/dev/null || true; }
journal() { cat "$G/state/authzd.log" 2>/dev/null || true; }
base_psql() { "$AZT_PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }
dbname_of() { sed -nE 's/.*dbname=([^ ]+).*/\1/p' <<<"$1"; }
mode_owner() { stat -c '%a %U %G' "$1" 2>/dev/null || echo missing; }

# ---------------------------------------------------------------- hooks around the blocks

# The port is picked just before the configuration is written, not before
# the build: a port found free a minute earlier may be taken by then.
before_configure() {
  G_PORT=$(free_port)
  LISTEN=127.0.0.1:$G_PORT
  PUBLIC_URL=https://127.0.0.1:$G_PORT
}

after_install() {
  check "install: authzd and authzctl are in \$PREFIX/sbin" test -x "$PREFIX/sbin/authzd" -a -x "$PREFIX/sbin/authzctl"
  check_eq "install: authzctl on the PATH is the installed one" "$PREFIX/sbin/authzctl" "$(command -v authzctl)"
  check "install: \$CONF is the shipped authzd.conf" cmp "$G/src/etc/authzd.conf" "$CONF"
}

after_configure() {
  check_eq "configure: the user authz exists" 0 "$(id -u authz >/dev/null 2>&1; echo $?)"
  check_eq "configure: \$CONF is 640 root:authz" "640 root authz" "$(mode_owner "$CONF")"
  check_eq "configure: the master key is 400 authz:authz" "400 authz authz" "$(mode_owner "$PREFIX/etc/authz/master.key")"
  check_eq "configure: the master key is 32 bytes" 32 "$(stat -c %s "$PREFIX/etc/authz/master.key")"
  check_eq "configure: the TLS key is 640 root:authz" "640 root authz" "$(mode_owner "$PREFIX/etc/authz/tls/privkey.pem")"
  check "configure: the user authz can read \$CONF, the key and the TLS files" \
    setpriv --reuid=authz --regid=authz --init-groups -- sh -c 'cat "$@" >/dev/null' sh "$CONF" "$PREFIX/etc/authz/master.key" \
    "$PREFIX/etc/authz/tls/fullchain.pem" "$PREFIX/etc/authz/tls/privkey.pem"
  check_not "configure: other users cannot read \$CONF" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- cat "$CONF"
}

after_migrate() {
  local n
  n=$(ls "$PREFIX"/share/authz/migrations/*.sql | wc -l)
  check_eq "migrate: every installed migration is applied" "$n" \
    "$(base_psql "$G_DB" -c 'SELECT count(*) FROM schema_migrations' 2>/dev/null || echo none)"
}

after_start() {
  local pid
  pid=$(mainpid)
  check_eq "start: authzd runs as the user authz" authz "$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')"
  check_eq "start: it is the installed authzd" "$PREFIX/sbin/authzd" "$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  check_eq "start: the configured certificate is served" "serial=0A01" "$(served_serial)"
  http GET "$PUBLIC_URL/readyz"
  check_eq "start: /readyz 200 over https, verified against the CA" 200 "$AZT_STATUS"
  check_eq "start: systemctl is-active" active "$(systemctl is-active authzd || true)"
}

after_tenant() {
  check_match "tenant: the root token" '^[A-Za-z0-9._~+/=-]{32,}$' "${ROOT_TOKEN:-}"
  check_match "tenant: a client id" '.+' "${CLIENT_ID:-}"
  check_match "tenant: an access token" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "${ACCESS_TOKEN:-}"
  check "tenant: the token verifies against the tenant's JWKS" verifies "$ACCESS_TOKEN"
  G_TOKEN1=$ACCESS_TOKEN
}

jwt_claims() { jq -R 'split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | @base64d | fromjson' <<<"$1"; }

after_delegate() {
  local alice session exchanged rows
  alice=$(curl -fsS -H "Authorization: Bearer $ROOT_TOKEN" "$PUBLIC_URL/admin/v1/tenants/$TENANT/users/alice" | jq -r .id)
  check_match "delegate: alice exists" '.+' "$alice"
  check "delegate: the session token verifies against the tenant's JWKS" verifies "${SESSION_TOKEN:-}"
  session=$(jwt_claims "$SESSION_TOKEN")
  check_eq "delegate: the session token is alice's, for the assistant, with a sid" \
    "$alice $ASSISTANT_ID true" "$(jq -r '"\(.sub) \(.client_id) \(.sid != null)"' <<<"$session")"
  check "delegate: the exchanged token verifies against the tenant's JWKS" verifies "${EXCHANGED_TOKEN:-}"
  exchanged=$(jwt_claims "$EXCHANGED_TOKEN")
  check_eq "delegate: the exchanged token: sub alice, client_id and act.sub the report writer, read-only, for the MCP server" \
    "$alice $WRITER_ID $WRITER_ID tools:read https://mcp.example.com/" \
    "$(jq -r '"\(.sub) \(.client_id) \(.act.sub) \(.scope) \(.aud)"' <<<"$exchanged")"
  check "delegate: the exchanged token ends no later than the subject token" \
    test "$(jq -r .exp <<<"$exchanged")" -le "$(jq -r .exp <<<"$session")"
  rows=$(curl -fsS -H "Authorization: Bearer $ROOT_TOKEN" \
    "$PUBLIC_URL/admin/v1/tenants/$TENANT/audit?event=token.exchanged&client=$WRITER_ID")
  check_eq "delegate: a token.exchanged audit row names the report writer as the actor" \
    "success $WRITER_ID" "$(jq -r '.events[0] | "\(.outcome) \(.actor_chain[0])"' <<<"$rows")"
  rows=$(curl -fsS -H "Authorization: Bearer $ROOT_TOKEN" \
    "$PUBLIC_URL/admin/v1/tenants/$TENANT/audit?event=session.approved")
  check_eq "delegate: a session.approved audit row names the approver" alice \
    "$(jq -r '.events[0].details.approver' <<<"$rows")"
}

after_renew() {
  local i
  for (( i = 0; i < 100; i++ )); do
    grep -q 'certificate and key reloaded' "$G/state/authzd.log" && break
    sleep 0.05
  done
  check_contains "renew: authzd logs the reload" "certificate and key reloaded" "$(journal)"
  check_eq "renew: the renewed certificate is served" "serial=0A02" "$(served_serial)"
  check_eq "renew: reloaded, not restarted (one start so far)" 1 "$(grep -c '^--- started' "$G/state/events")"
}

after_rotate() {
  local jwks
  jwks=$(jwks_now)
  check_eq "rotate: the JWKS has the first key and the two rotated in" 3 "$(jq '.keys | length' <<<"$jwks")"
  check "rotate: the token issued before the rotations still verifies" verifies "$G_TOKEN1"
  G_KIDS=$(jq -r '[.keys[].kid] | sort | join(" ")' <<<"$jwks")
}

after_backup() {
  check "backup: the dump is there" test -s "$BACKUP_DIR/authz.dump"
  check "backup: the master key's copy is the master key" cmp "$PREFIX/etc/authz/master.key" "$KEY_BACKUP"
  check_not "backup: the master key's copy is not with the dumps" test -e "$BACKUP_DIR/$(basename "$KEY_BACKUP")"
}

after_restore() {
  check_contains "restore: \$CONF now names the restored database" "database_url = $G_NEW_DB" "$(cat "$CONF")"
  check_eq "restore: the JWKS has the same keys" "$G_KIDS" "$(jwks_now | jq -r '[.keys[].kid] | sort | join(" ")')"
  check "restore: the token issued before the backup verifies against the JWKS" verifies "$G_TOKEN1"
  # the old database goes away: what answers now comes from the restored one
  base_psql "$AZT_PG_BASE_URL" -c "DROP DATABASE $(dbname_of "$G_DB") WITH (FORCE)" >/dev/null
  http POST "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    -d scope=tools:read --data-urlencode resource=https://mcp.example.com/
  check_eq "restore: with the old database dropped, the client gets a token with its secret" 200 "$AZT_STATUS"
  local tok
  tok=$(jq -r .access_token <<<"$AZT_BODY" 2>/dev/null || true)
  check "restore: the new token verifies too" verifies "$tok"
  http GET "$PUBLIC_URL/readyz"
  check_eq "restore: /readyz 200 on the restored database" 200 "$AZT_STATUS"
}

after_upgrade() {
  http GET "$PUBLIC_URL/readyz"
  check_eq "upgrade: /readyz 200 after stop, install, migrate, start" 200 "$AZT_STATUS"
  check_contains "upgrade: make install kept the configuration" "database_url = $G_NEW_DB" "$(cat "$CONF")"
  # what the guide says about a schema that is behind
  local empty
  empty=$(pg_new_db)
  AUTHZ_BUILD_DIR=$PREFIX/sbin authzd_oneshot 20 "$CONF" AUTHZ_DATABASE_URL="$empty" \
    AUTHZ_LISTEN="127.0.0.1:$(free_port)"
  check_eq "upgrade: authzd refuses a schema that is behind" 1 "$AZT_RC"
  check_contains "upgrade: and names authzctl migrate" "run \`authzctl migrate\`" "$AZT_OUT"
}

# metrics count per process, from its start (the upgrade restarted it): a token
before_metrics() {
  http POST "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    -d scope=tools:read --data-urlencode resource=https://mcp.example.com/
}

after_metrics() {
  local m names missing="" n
  m=$(curl -fsS "$PUBLIC_URL/metrics")
  names=$(grep -oE 'authz_[a-z_]+' "$GUIDE_MD" | sort -u)
  for n in $names; do
    grep -qE "^# TYPE $n (counter|gauge|histogram)$" <<<"$m" || missing+=" $n"
  done
  check_eq "metrics: every metric the guide names is in GET /metrics" "" "$missing"
  check_contains "metrics: requests are labelled route=\"token\"" 'authz_http_requests_total{route="token",status="200"}' "$m"
}

after_stop() {
  check_eq "stop: authzd exited 0 (drained)" 0 "$(cat "$G/state/authzd.exit" 2>/dev/null || echo none)"
  check_contains "stop: authzd logged the drain" "authzd: stopped" "$(journal)"
}

# ---------------------------------------------------------------- run

guide_failed() {
  trap - ERR
  fail "guide block $G_BLOCK ($G_BLOCK_ID): a command failed" "command: $BASH_COMMAND" \
    "block:" "$(cat "$G/blocks/$G_BLOCK.sh")" "output (last lines):" "$(tail -n 25 "$G/blocks/$G_BLOCK.out")" \
    "journal (last lines):" "$(journal | tail -n 15)"
  exit 1
}

cd "$G/src"
for G_I in "${!B_NUM[@]}"; do
  G_BLOCK=${B_NUM[$G_I]}
  G_BLOCK_ID=${B_ID[$G_I]}
  case ${B_KIND[$G_I]} in
    skip)
      echo "# guide block $G_BLOCK not run: $G_BLOCK_ID"
      sed 's/^/#   /' "$G/blocks/$G_BLOCK.sh" ;;
    settings)
      guide_vars=$(grep -oE '^[A-Z_]+=' "$G/blocks/$G_BLOCK.sh" | tr -d = | sort | tr '\n' ' ')
      check_eq "the guide's settings are the variables this test sets" "$G_SETTINGS " "$guide_vars"
      test_settings ;;
    run)
      if declare -F "before_$G_BLOCK_ID" >/dev/null; then
        "before_$G_BLOCK_ID"
      fi
      G_T0=$SECONDS
      trap guide_failed ERR
      # shellcheck disable=SC1090
      source "$G/blocks/$G_BLOCK.sh" >"$G/blocks/$G_BLOCK.out" 2>&1
      trap - ERR
      pass "guide block $G_BLOCK ($G_BLOCK_ID) runs ($((SECONDS - G_T0))s)"
      if declare -F "after_$G_BLOCK_ID" >/dev/null; then
        "after_$G_BLOCK_ID"
      fi ;;
  esac
done
cd "$AZT_TMP"

for id in install configure migrate start tenant delegate renew rotate backup restore upgrade metrics stop; do
  found=0
  for b in "${B_ID[@]}"; do [[ $b == "$id" ]] && found=1; done
  (( found )) || fail "the guide has a block for '$id'"
done

done_testing
