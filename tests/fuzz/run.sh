#!/usr/bin/env bash
# tests/fuzz/run.sh: builds the libFuzzer targets (build.sh) and runs each one
# for a while under ASan + UBSan; fails when any target crashes, trips a
# sanitizer, breaks one of its invariants, times out or runs out of memory.
#
#   tests/fuzz/run.sh                       every target, FUZZ_SECONDS (15) each
#   FUZZ_SECONDS=600 tests/fuzz/run.sh      the long run (README.md)
#   tests/fuzz/run.sh fuzz_jwt fuzz_form    only these targets
#
# Each target first replays its regression inputs (tests/fuzz/regressions/
# TARGET/: inputs that once crashed it; each must now pass), then fuzzes from
# its seed corpus (tests/fuzz/corpus/TARGET/, read-only) plus what earlier runs
# found (var/fuzz/corpus/TARGET/, kept between runs, git-ignored). A crashing
# input is saved in var/fuzz/artifacts/TARGET/; its log is var/fuzz/TARGET.log.
#
# Prints one line per target, `ok - TARGET: N executions, 0 crashes (...)` or
# `not ok - ...`, then `fuzz: P passed, F failed`; exits 1 on any failure.
#
# Environment: FUZZ_SECONDS (per target, default 15), FUZZ_JOBS (parallel
# compiles), FUZZ_FRESH=1 (start from the seed corpus only), FUZZ_WORK (default
# var/fuzz).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
FZ=$ROOT/tests/fuzz
BIN=$FZ/build
WORK=${FUZZ_WORK:-$ROOT/var/fuzz}
SECS=${FUZZ_SECONDS:-15}
ALL=(fuzz_form fuzz_json_body fuzz_jwt fuzz_redirect fuzz_http fuzz_http_head)
targets=("$@")
(( ${#targets[@]} )) || targets=("${ALL[@]}")

# per-target options: input size limits, and no per-input leak check for the
# in-process server (requests still in flight on its threads between inputs
# make it slow and meaningless; the sanitizer integration run checks the
# server for leaks with detect_leaks=1)
declare -A OPTS=(
  [fuzz_form]="-max_len=2048 -dict=$FZ/dict/fuzz_form.dict"
  [fuzz_json_body]="-max_len=8192 -dict=$FZ/dict/fuzz_json_body.dict"
  [fuzz_jwt]="-max_len=4096"
  [fuzz_redirect]="-max_len=2100"
  [fuzz_http]="-max_len=3072 -detect_leaks=0 -dict=$FZ/dict/fuzz_http.dict"
  [fuzz_http_head]="-max_len=4096 -dict=$FZ/dict/fuzz_http.dict"
)

mkdir -p "$WORK"
if ! "$FZ/build.sh" "${targets[@]}" >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log"
  echo "not ok - fuzz build (log: $WORK/build.log)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS_FUZZ:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0
failed=0
for t in "${targets[@]}"; do
  corpus=$WORK/corpus/$t
  art=$WORK/artifacts/$t
  log=$WORK/$t.log
  [[ ${FUZZ_FRESH:-0} == 1 ]] && rm -rf "$corpus"
  mkdir -p "$corpus" "$art"

  # 1. regressions: every input that once crashed the target must pass
  reg=$FZ/regressions/$t
  if [[ -d $reg ]] && compgen -G "$reg/*" >/dev/null; then
    # shellcheck disable=SC2086
    if ! "$BIN/$t" ${OPTS[$t]} -runs=0 "$reg" >"$WORK/$t.regressions.log" 2>&1; then
      failed=$((failed + 1))
      echo "not ok - $t: a regression input fails again (log: $WORK/$t.regressions.log)"
      grep -m1 -E 'ERROR|invariant|runtime error' "$WORK/$t.regressions.log" | sed 's/^/#   /' || true
      continue
    fi
  fi

  # 2. fuzz for SECS seconds from the seeds and the kept corpus
  rc=0
  # shellcheck disable=SC2086
  "$BIN/$t" ${OPTS[$t]} -max_total_time="$SECS" -timeout=25 -rss_limit_mb=3072 \
    -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$FZ/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1 || true)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/^#[0-9]+[[:space:]]+DONE.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, features \2, corpus \3/p' "$log" |
    tail -n 1 || true)
  if (( rc == 0 )); then
    passed=$((passed + 1))
    echo "ok - $t: ${execs:-?} executions in ${SECS}s (${rate:-?}/s), 0 crashes (${cov:-?})"
  else
    failed=$((failed + 1))
    crash=$(ls -t "$art" 2>/dev/null | head -n 1)
    echo "not ok - $t: crashed after ${execs:-?} executions (exit $rc); input: $art/$crash; log: $log"
    grep -m1 -A3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant' "$log" |
      sed 's/^/#   /' || true
  fi
done
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 ))
