# shellcheck shell=bash disable=SC2034
# tests/lib.sh: a small library for the integration tests, the conformance
# run and the benchmarks. Source it from a bash script that has
# `set -euo pipefail`; everything it starts listens on 127.0.0.1 only, and the
# EXIT trap it installs ends only the processes it started itself.
#
# Variables (set on sourcing):
#   AUTHZ_ROOT        the repository root
#   AUTHZ_BUILD_DIR   where authzd/authzctl are (default: $AUTHZ_ROOT; the
#                     sanitizer run passes build-san)
#   AZT_TMP           a private temporary directory (removed at exit unless
#                     AZT_KEEP_TMP=1 or a check failed)
#   AZT_CONF          an empty config file; authzd/authzctl run with -c AZT_CONF,
#                     so only AUTHZ_* environment variables configure them
#   AUTHZ_MASTER_KEY_FILE  exported: 32 random bytes in AZT_TMP (mode 600)
#   AZT_LOG_DIR       where authzd's logs go (default AZT_TMP); a benchmark
#                     puts them on tmpfs, as a log collector would take them
#                     off the database's disk. Removed with AZT_TMP.
#
# Functions:
#   free_port                      print a free TCP port in 20000-60000
#   pg_start_tmp                   a database for this test: a fresh database in
#                                  the shared server when AZT_SHARED_PG_URL is set
#                                  (tests/integration/run.sh does that), else a
#                                  private PostgreSQL in a mktemp dir; exports
#                                  AUTHZ_DATABASE_URL
#   pg_new_db                      print the conninfo of another fresh, empty database
#                                  (after pg_start_tmp)
#   psql_db [psql args...]         psql on AUTHZ_DATABASE_URL (-X -A -t -q, stop on error)
#   authzctl [args...]             the built authzctl with -c AZT_CONF
#   authz_start NAME PORT [K=V...] start authzd on 127.0.0.1:PORT (public URL
#                                  http://127.0.0.1:PORT) with extra env K=V,
#                                  stdout+stderr to $AZT_TMP/NAME.log; waits for
#                                  /healthz; PID in AZT_PID[NAME], URL in AZT_URL[NAME]
#   authz_spawn NAME CONF PORT [K=V...]  lower level: authzd -c CONF with only
#                                  the extra env (no AUTHZ_LISTEN added); waits for
#                                  /healthz on PORT
#   authzd_oneshot SECS CONF [K=V...]  run authzd -c CONF expecting it to exit by
#                                  itself within SECS; sets AZT_RC (124 when it had
#                                  to be stopped) and AZT_OUT (stdout+stderr)
#   authz_stop NAME                SIGTERM, wait, check exit code 0 and no
#                                  sanitizer report in the log (as a check)
#   authz_log NAME                 path of NAME's log
#   root_token                     print the operator root token (created once)
#   http METHOD URL [curl args...] sets AZT_STATUS (HTTP status, 000 when no
#                                  answer) and AZT_BODY; prints nothing, so call
#                                  it directly, not inside $(...)
#   admin METHOD PATH [JSON]       http on the admin API of the first started
#                                  authzd (or AZT_ADMIN_URL) with the root token
#   discovery NAME TENANT          print the tenant's metadata document
#   register_pid PID               have the EXIT trap kill PID too
#   rx_start DIR                   a webhook receiver (tests/rx.py) on a free
#                                  loopback port, each POST kept in DIR as
#                                  N.json; sets RX to its URL
#   on_exit 'COMMAND'              run COMMAND (eval) at exit, before the kills
#
# Checks (print `ok - NAME` or `not ok - NAME` with details indented by '#'):
#   check NAME COMMAND [ARGS...]   passes when COMMAND exits 0
#   check_not NAME COMMAND [ARGS]  passes when COMMAND exits non-zero
#   check_eq NAME EXPECTED ACTUAL
#   check_match NAME REGEX STRING  bash =~ match (ERE)
#   check_contains NAME NEEDLE HAYSTACK
#   pass NAME / fail NAME [DETAIL...]
#   done_testing                   print the tally; exit 1 on any failure
#
# tests/integration/run.sh counts the `ok -` / `not ok -` lines.

AUTHZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AUTHZ_BUILD_DIR=${AUTHZ_BUILD_DIR:-$AUTHZ_ROOT}
case $AUTHZ_BUILD_DIR in
  /*) ;;
  *) AUTHZ_BUILD_DIR=$AUTHZ_ROOT/$AUTHZ_BUILD_DIR ;;
esac
export AUTHZ_BUILD_DIR
AZT_PG_BIN=${AZT_PG_BIN:-/usr/lib/postgresql/15/bin}

AZT_PASSED=0
AZT_FAILED=0
declare -A AZT_PID=()
declare -A AZT_URL=()
AZT_EXTRA_PIDS=()
AZT_EXIT_CMDS=()
AZT_PG_DIRS=()
AZT_ADMIN_URL=${AZT_ADMIN_URL:-}
AZT_STATUS=""
AZT_BODY=""
AZT_RC=""

AZT_TMP=$(mktemp -d /tmp/authz-test.XXXXXX)
AZT_CONF=$AZT_TMP/authzd.conf
AZT_LOG_DIR=${AZT_LOG_DIR:-$AZT_TMP}
: > "$AZT_CONF"
(umask 077; head -c 32 /dev/urandom > "$AZT_TMP/master.key")
export AUTHZ_MASTER_KEY_FILE=$AZT_TMP/master.key

# ---------------------------------------------------------------- checks

_azt_details() {
  local line
  while IFS= read -r line; do
    printf '#   %s\n' "$line"
  done
}

pass() {
  AZT_PASSED=$((AZT_PASSED + 1))
  printf 'ok - %s\n' "$1"
}

fail() {
  local name=$1; shift
  AZT_FAILED=$((AZT_FAILED + 1))
  printf 'not ok - %s\n' "$name"
  if (( $# > 0 )); then
    printf '%s\n' "$@" | _azt_details
  fi
  return 0
}

check() {
  local name=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if (( rc == 0 )); then
    pass "$name"
  else
    fail "$name" "command: $*" "exit code: $rc" "${out:0:2000}"
  fi
}

check_not() {
  local name=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if (( rc != 0 )); then
    pass "$name"
  else
    fail "$name" "command unexpectedly succeeded: $*" "${out:0:2000}"
  fi
}

check_eq() {
  if [[ $2 == "$3" ]]; then
    pass "$1"
  else
    fail "$1" "expected: ${2:0:1000}" "got:      ${3:0:1000}"
  fi
}

check_match() {
  if [[ $3 =~ $2 ]]; then
    pass "$1"
  else
    fail "$1" "expected to match: $2" "got: ${3:0:2000}"
  fi
}

check_contains() {
  if [[ $3 == *"$2"* ]]; then
    pass "$1"
  else
    fail "$1" "expected to contain: $2" "got: ${3:0:2000}"
  fi
}

done_testing() {
  printf '# %s: %d passed, %d failed\n' "$(basename "$0")" "$AZT_PASSED" "$AZT_FAILED"
  (( AZT_FAILED == 0 ))
}

# ---------------------------------------------------------------- cleanup

register_pid() { AZT_EXTRA_PIDS+=("$1"); }

rx_start() {
  local dir=$1 port i
  mkdir -p "$dir"
  port=$(free_port)
  python3 "$AUTHZ_ROOT/tests/rx.py" "$port" "$dir" >"$AZT_TMP/rx-$port.log" 2>&1 &
  register_pid $!
  for (( i = 0; i < 50; i++ )); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$port/ready" && break
    sleep 0.1
  done
  rm -f "$dir"/*.json
  RX=http://127.0.0.1:$port
}
on_exit() { AZT_EXIT_CMDS+=("$1"); }

_azt_cleanup() {
  local rc=$? c name pid d
  set +e
  for c in "${AZT_EXIT_CMDS[@]}"; do
    eval "$c"
  done
  for name in "${!AZT_PID[@]}"; do
    pid=${AZT_PID[$name]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      _azt_wait_exit "$pid" 10 || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    fi
  done
  for pid in "${AZT_EXTRA_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      _azt_wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null
    fi
  done
  for d in "${AZT_PG_DIRS[@]}"; do
    "$AUTHZ_ROOT/scripts/pg.sh" stop "$d/pg" >/dev/null 2>&1
    rm -rf "$d"
  done
  if [[ ${AZT_KEEP_TMP:-0} == 1 ]] || (( AZT_FAILED > 0 || rc != 0 )); then
    [[ ${AZT_QUIET_CLEANUP:-0} == 1 ]] || echo "# logs kept in $AZT_LOG_DIR" >&2
  else
    [[ $AZT_LOG_DIR == "$AZT_TMP" ]] || rm -rf "$AZT_LOG_DIR"
    rm -rf "$AZT_TMP"
  fi
  return "$rc"
}
trap _azt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait up to SECS for PID (a child of this shell) to exit; its exit code goes
# to AZT_RC. Returns 1 on time-out. Not to be called inside $(...): only the
# shell that started PID can collect its exit code.
_azt_wait_exit() {
  local pid=$1 secs=$2 i state
  for (( i = 0; i < secs * 10; i++ )); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
    if [[ $state == Z || $state == gone ]]; then
      AZT_RC=0
      wait "$pid" 2>/dev/null || AZT_RC=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- ports, db

# Ports handed out are remembered in a file (free_port runs inside $(...)), so
# two calls before anything binds do not return the same port.
free_port() {
  local p i given=$AZT_TMP/ports
  touch "$given"
  for (( i = 0; i < 200; i++ )); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40001 ))
    grep -qx "$p" "$given" && continue
    if [[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) ]]; then
      echo "$p" >> "$given"
      echo "$p"
      return 0
    fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

# A private PostgreSQL in a mktemp dir (owned by postgres so that the server,
# which cannot run as root, can use it). Sets AZT_PG_URL (the authz role's
# conninfo to its own database) and AZT_PG_DIR.
pg_start_private() {
  local d port
  d=$(mktemp -d /tmp/authz-pg.XXXXXX)
  AZT_PG_DIRS+=("$d")
  if (( EUID == 0 )); then chown postgres: "$d"; fi
  chmod 755 "$d"
  port=$(free_port)
  PG_FAST=${AZT_PG_FAST:-1} "$AUTHZ_ROOT/scripts/pg.sh" start "$d/pg" "$port" >/dev/null
  AZT_PG_DIR=$d/pg
  AZT_PG_URL=$(cat "$d/pg/database_url")
}

pg_start_tmp() {
  if [[ -n ${AZT_SHARED_PG_URL:-} ]]; then
    AZT_PG_BASE_URL=$AZT_SHARED_PG_URL
  else
    pg_start_private
    AZT_PG_BASE_URL=$AZT_PG_URL
  fi
  AUTHZ_DATABASE_URL=$(pg_new_db)
  export AUTHZ_DATABASE_URL
}

pg_new_db() {
  local db
  db="t_$(basename "$0" .sh | tr -c 'a-z0-9_\n' '_')_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  "$AZT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$AZT_PG_BASE_URL" -c "CREATE DATABASE $db" >/dev/null
  echo "${AZT_PG_BASE_URL/dbname=authz/dbname=$db}"
}

psql_db() {
  "$AZT_PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 "$AUTHZ_DATABASE_URL" "$@"
}

authzctl() {
  "$AUTHZ_BUILD_DIR/authzctl" -c "$AZT_CONF" "$@"
}

# ---------------------------------------------------------------- authzd

authz_log() { echo "$AZT_LOG_DIR/$1.log"; }

# Wait until http://127.0.0.1:PORT/healthz answers 200 while PID lives.
_azt_wait_healthy() {
  local pid=$1 port=$2 secs=${3:-30} i
  for (( i = 0; i < secs * 20; i++ )); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 1
    sleep 0.05
  done
  return 1
}

authz_start() {
  local name=$1 port=$2; shift 2
  authz_spawn "$name" "$AZT_CONF" "$port" \
    AUTHZ_LISTEN="127.0.0.1:$port" AUTHZ_PUBLIC_URL="http://127.0.0.1:$port" "$@"
}

authz_spawn() {
  local name=$1 conf=$2 port=$3; shift 3
  local log=$AZT_LOG_DIR/$name.log pid
  [[ -z ${AZT_PID[$name]:-} ]] || { echo "authz_start: $name already started" >&2; return 1; }
  env -u AUTHZ_BUILD_DIR -u AUTHZ_LISTEN -u AUTHZ_PUBLIC_URL "$@" \
    "$AUTHZ_BUILD_DIR/authzd" -c "$conf" >"$log" 2>&1 </dev/null &
  pid=$!
  AZT_PID[$name]=$pid
  AZT_URL[$name]=http://127.0.0.1:$port
  [[ -n $AZT_ADMIN_URL ]] || AZT_ADMIN_URL=http://127.0.0.1:$port
  if ! _azt_wait_healthy "$pid" "$port" "${AZT_START_TIMEOUT:-30}"; then
    echo "authz_start: authzd '$name' did not become healthy on 127.0.0.1:$port; log $log:" >&2
    tail -n 30 "$log" | _azt_details >&2
    return 1
  fi
}

authz_stop() {
  local name=$1 pid rc log
  pid=${AZT_PID[$name]:-}
  log=$AZT_LOG_DIR/$name.log
  if [[ -z $pid ]]; then
    fail "authzd $name stops on SIGTERM" "authz_stop: $name was not started"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if _azt_wait_exit "$pid" "${AZT_STOP_TIMEOUT:-20}"; then
    rc=$AZT_RC
    unset "AZT_PID[$name]"
    if [[ $rc == 0 ]]; then
      pass "authzd $name exits 0 on SIGTERM"
    else
      fail "authzd $name exits 0 on SIGTERM" "exit code $rc; log $log:" "$(tail -n 20 "$log")"
    fi
  else
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "AZT_PID[$name]"
    fail "authzd $name exits 0 on SIGTERM" "still running ${AZT_STOP_TIMEOUT:-20}s after SIGTERM; killed"
  fi
  if grep -qE 'ERROR: (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|runtime error:' "$log"; then
    fail "authzd $name log has no sanitizer report" "$(grep -m1 -A 30 -E 'Sanitizer|runtime error:' "$log")"
  fi
}

authzd_oneshot() {
  local secs=$1 conf=$2; shift 2
  AZT_RC=0
  AZT_OUT=$(timeout -k 5 "$secs" env -u AUTHZ_BUILD_DIR -u AUTHZ_LISTEN -u AUTHZ_PUBLIC_URL "$@" \
    "$AUTHZ_BUILD_DIR/authzd" -c "$conf" 2>&1 </dev/null) || AZT_RC=$?
}

root_token() {
  local f=$AZT_TMP/root-token
  if [[ ! -s $f ]]; then
    (umask 077; authzctl root-token > "$f")
  fi
  head -n 1 "$f"
}

# http METHOD URL [curl args...]: sets AZT_STATUS and AZT_BODY.
http() {
  local method=$1 url=$2; shift 2
  local out
  AZT_STATUS=000
  AZT_BODY=""
  out=$(curl -s --max-time 30 -X "$method" -w '\n%{http_code}' "$@" "$url") || return 0
  AZT_STATUS=${out##*$'\n'}
  AZT_BODY=${out%$'\n'*}
}

# admin METHOD PATH [JSON]
admin() {
  local method=$1 path=$2 body=${3:-} tok
  tok=$(root_token)
  local args=(-H "Authorization: Bearer $tok" -H 'Accept: application/json')
  if [[ -n $body ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  http "$method" "${AZT_ADMIN_URL}$path" "${args[@]}"
}

discovery() {
  local name=$1 tenant=$2
  curl -fsS --max-time 10 "${AZT_URL[$name]}/.well-known/oauth-authorization-server/t/$tenant"
}
