#!/usr/bin/env bash
# t_scripts.sh: the two commands' helpers. scripts/deps.sh: what it installs
# for running and for testing, waiting for another package manager's locks
# (with a real fcntl lock, as apt takes them), and its word on a Node.js too
# old to use.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DEPS=$AUTHZ_ROOT/scripts/deps.sh

# ---------------------------------------------------------------- deps.sh: the two sets

run_list=$("$DEPS" --list | tr '\n' ' ')
test_list=$("$DEPS" --test --list | tr '\n' ' ')
for p in postgresql-15 libevent-dev libcmocka-dev curl jq; do
  check_contains "deps.sh (for scripts/run) checks $p" " $p " " $run_list"
done
for p in chromium clang libclang-rt-14-dev wrk nodejs npm; do
  check_not "deps.sh (for scripts/run) does not install the test tool $p" grep -qw -- "$p" <<<"$run_list"
  check_contains "deps.sh --test checks $p" " $p " " $test_list"
done
check_contains "deps.sh --test checks what scripts/run needs too" "postgresql-15" "$test_list"
check "scripts/run asks deps.sh for the run set only" grep -qxE 'scripts/deps.sh' "$AUTHZ_ROOT/scripts/run"
check "scripts/test asks deps.sh for both sets" grep -qE '^if ! scripts/deps.sh --test; then' "$AUTHZ_ROOT/scripts/test"

# ---------------------------------------------------------------- deps.sh: the locks

# hold_lock FILE SECONDS: a process holding an fcntl (POSIX) write lock on
# FILE for SECONDS, as apt and dpkg lock theirs; returns once it is held
hold_lock() {
  rm -f "$AZT_TMP/held"
  python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(float(sys.argv[3]))' "$1" "$AZT_TMP/held" "$2" &
  LOCK_PID=$!
  register_pid "$LOCK_PID"
  for (( i = 0; i < 100; i++ )); do [[ -e $AZT_TMP/held ]] && return 0; sleep 0.05; done
  fail "the test's lock holder took the lock"
}
lockf=$AZT_TMP/lock-frontend
: > "$lockf"
hold_lock "$lockf" 3
t0=$SECONDS
out=$( (source "$DEPS"; DEPS_LOCK_FILES="$AZT_TMP/absent $lockf"; wait_for_locks $(( $(date +%s) + 30 ))) 2>&1) && rc=0 || rc=$?
check_eq "deps.sh waits for a held lock, then goes on" 0 "$rc"
check "deps.sh waited until the lock was released (>= 2 s)" test $((SECONDS - t0)) -ge 2
check_contains "deps.sh says it is waiting, naming the holder's pid" "waiting for another package manager to finish: process $LOCK_PID" "$out"
check_contains "deps.sh names the lock file" "$lockf" "$out"
wait "$LOCK_PID" 2>/dev/null || true

hold_lock "$lockf" 6
out=$( (source "$DEPS"; DEPS_LOCK_FILES=$lockf; wait_for_locks $(( $(date +%s) + 1 ))) 2>&1) && rc=0 || rc=$?
check_eq "deps.sh gives up when the lock is held past its deadline" 1 "$rc"
check_contains "deps.sh says why it gave up" "gave up waiting: process $LOCK_PID" "$out"

# apt-get itself runs only once the lock is free, and with DPkg::Lock::Timeout
mkdir -p "$AZT_TMP/fakebin"
cat > "$AZT_TMP/fakebin/apt-get" <<FAKE
#!/bin/sh
echo "\$(date +%s) \$*" >> "$AZT_TMP/apt-get.calls"
FAKE
chmod +x "$AZT_TMP/fakebin/apt-get"
wait "$LOCK_PID" 2>/dev/null || true
hold_lock "$lockf" 2
released=$(( $(date +%s) + 2 ))
( source "$DEPS"; PATH=$AZT_TMP/fakebin:$PATH; DEPS_LOCK_FILES=$lockf; log=$AZT_TMP/apt.log
  apt_get $(( $(date +%s) + 30 )) install -y something ) 2>/dev/null
call=$(cat "$AZT_TMP/apt-get.calls" 2>/dev/null || true)
check_contains "apt-get runs with DPkg::Lock::Timeout" "-o DPkg::Lock::Timeout=" "$call"
check "apt-get ran after the lock was released" test "${call%% *}" -ge "$((released - 1))"

# ---------------------------------------------------------------- deps.sh: Node.js

cat > "$AZT_TMP/fakebin/node" <<'FAKE'
#!/bin/sh
case "$1" in
  --version) echo v16.20.2 ;;
  -p) echo 16 ;;
esac
FAKE
chmod +x "$AZT_TMP/fakebin/node"
out=$(PATH=$AZT_TMP/fakebin:$PATH "$DEPS" --test 2>&1) && rc=0 || rc=$?
check_eq "deps.sh --test refuses a Node.js older than 18" 1 "$rc"
check_contains "deps.sh --test says the node is too old" "is Node.js v16.20.2: too old" "$out"
check_contains "deps.sh --test says what to install" "Node.js 18 or" "$out"
check_contains "deps.sh --test names Node 20 as the one that runs everything" "Node.js 20 or later" "$out"
out=$(PATH=$AZT_TMP/fakebin:$PATH "$DEPS" 2>&1) && rc=0 || rc=$?
check_eq "deps.sh (for scripts/run) does not care about Node.js" 0 "$rc"

done_testing
