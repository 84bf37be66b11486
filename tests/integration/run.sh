#!/usr/bin/env bash
# run.sh: run the integration tests, tests/integration/t_*.sh, against a real
# PostgreSQL and the built authzd ($AUTHZ_BUILD_DIR, default the repo root).
#
#   tests/integration/run.sh              every t_*.sh
#   tests/integration/run.sh cli refresh  only t_cli.sh and t_refresh.sh
#
# One private PostgreSQL serves the whole run; each test file gets a fresh
# database in it (AZT_SHARED_PG_URL, see tests/lib.sh) and starts its own
# authzd on free ports. Each test file prints `ok - ...` / `not ok - ...`
# lines; a file that exits non-zero without a `not ok` line counts as one
# failure. The last line is `integration: N passed, M failed`; the exit code
# is non-zero on any failure.
#
# Environment: AUTHZ_BUILD_DIR, AZT_TEST_TIMEOUT (seconds per file, default 900),
# AZT_KEEP_TMP=1 (keep every test's temporary directory).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

for bin in authzd authzctl; do
  if [[ ! -x $AUTHZ_BUILD_DIR/$bin ]]; then
    echo "run.sh: $AUTHZ_BUILD_DIR/$bin not built" >&2
    echo "integration: 0 passed, 1 failed"
    exit 1
  fi
done

files=()
if (( $# > 0 )); then
  for n in "$@"; do
    n=${n#t_}; n=${n%.sh}
    [[ -f $here/t_$n.sh ]] || { echo "run.sh: no such test: $here/t_$n.sh" >&2; exit 2; }
    files+=("$here/t_$n.sh")
  done
else
  for f in "$here"/t_*.sh; do
    [[ -f $f ]] && files+=("$f")
  done
fi

pg_start_private
export AZT_SHARED_PG_URL=$AZT_PG_URL

total_pass=0
total_fail=0
failed_files=()
logdir=$AZT_TMP/logs
mkdir -p "$logdir"
for f in "${files[@]}"; do
  name=$(basename "$f" .sh)
  log=$logdir/$name.log
  echo "# $name"
  start=$SECONDS
  rc=0
  timeout -k 10 "${AZT_TEST_TIMEOUT:-900}" bash "$f" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  p=$(grep -c '^ok - ' "$log" || true)
  n=$(grep -c '^not ok - ' "$log" || true)
  if (( rc != 0 && n == 0 )); then
    if (( rc == 124 )); then
      echo "not ok - $name timed out after ${AZT_TEST_TIMEOUT:-900}s"
    else
      echo "not ok - $name exited with code $rc"
    fi
    n=1
  fi
  echo "# $name: $p passed, $n failed ($((SECONDS - start))s)"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + n))
  (( n == 0 )) || failed_files+=("$name")
done

if (( ${#files[@]} == 0 )); then
  echo "run.sh: no tests found in $here" >&2
  total_fail=$((total_fail + 1))
fi
if (( ${#failed_files[@]} > 0 )); then
  echo "# failed: ${failed_files[*]} (each one's logs are in the /tmp/authz-test.* directory it named)"
fi
AZT_QUIET_CLEANUP=1   # the summary below stays the last line
echo "integration: $total_pass passed, $total_fail failed"
(( total_fail == 0 ))
