#!/usr/bin/env bash
# tests/fuzz/build.sh: builds the libFuzzer targets of tests/fuzz/ with clang
# under AddressSanitizer + UndefinedBehaviorSanitizer, into tests/fuzz/build/
# (git-ignored; the autotools build in the source tree is not touched: no
# object of it is read or written).
#
#   tests/fuzz/build.sh              build every target (incremental)
#   tests/fuzz/build.sh fuzz_form    build only the named targets
#
# The authz sources are those of libauthz_a_SOURCES in Makefile.am (read from
# it, so a new source file is picked up without editing this script). They
# are compiled once with -fsanitize=fuzzer-no-link (coverage for libFuzzer)
# into build/libauthz-fuzz.a; each target links its fuzz_*.c against that
# archive, so only the objects it needs are pulled in.
#
# Needs clang and libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)
# and the -dev packages of the normal build. Environment: CC (default clang),
# FUZZ_JOBS (parallel compiles, default nproc).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
FZ=$ROOT/tests/fuzz
OUT=$FZ/build
OBJ=$OUT/obj
CC=${CC:-clang}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

ALL_TARGETS=(fuzz_form fuzz_json_body fuzz_jwt fuzz_redirect fuzz_http fuzz_http_head)
# Sources that a target compiles itself (it #includes them to reach their
# static functions), so their archive members must not be linked as well.
declare -A TARGET_INCLUDES=(
  [fuzz_json_body]="authz/admin/admin.c authz/admin/trust.c"
)

command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install clang)" >&2; exit 2; }

PKGS="libevent libevent_pthreads libevent_openssl openssl jansson libpq libargon2"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS_COMMON="-std=c17 -g -O1 $SAN -D_GNU_SOURCE -DAUTHZ_FUZZ=1 -DAUTHZ_CHECKED=1 -I$ROOT/authz -I$ROOT \
  -DAUTHZ_SRCDIR=\"$ROOT\" -DAUTHZ_SYSCONFDIR=\"/nonexistent\" -DAUTHZ_DATADIR=\"$ROOT\" \
  -Wall -Wextra -Wno-unused-parameter $PKG_CFLAGS"
LIB_CFLAGS="$CFLAGS_COMMON -fsanitize=fuzzer-no-link"

# libFuzzer must be there (it comes with libclang-rt-14-dev on Debian 12)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d;(void)n;return 0;}\n' >"$probe/p.c"
if ! "$CC" -fsanitize=fuzzer,address "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
  echo "build.sh: $CC cannot link libFuzzer (apt-get install libclang-rt-14-dev):" >&2
  cat "$probe/err" >&2
  exit 2
fi

# ---- the library sources, from Makefile.am
mapfile -t SOURCES < <(awk '/^libauthz_a_SOURCES *=/{f=1} f{print; if ($0 !~ /\\$/) exit}' Makefile.am |
  tr ' \t\\' '\n\n\n' | grep -E '\.c$' | sed 's/^libauthz_a_SOURCES=//')
if (( ${#SOURCES[@]} == 0 )); then
  echo "build.sh: no sources found in Makefile.am's libauthz_a_SOURCES" >&2
  exit 1
fi

mkdir -p "$OBJ"

# Is OBJECT older than its source or any header it depends on (its .d file)?
stale() {
  local src=$1 o=$2 d=${2%.o}.d dep
  [[ -f $o && -f $d && $o -nt $src ]] || return 0
  # the .d file lists "obj: dep dep \ ..."; any dep newer than the object?
  while read -r dep; do
    [[ -z $dep || $dep == *: ]] && continue
    [[ -e $dep && $dep -nt $o ]] && return 0
  done < <(tr ' \\' '\n\n' <"$d")
  # compile flags changed?
  [[ $(cat "$o.flags" 2>/dev/null) == "$LIB_CFLAGS" ]] || return 0
  return 1
}

compile_one() { # SRC OBJ
  local src=$1 o=$2
  mkdir -p "$(dirname "$o")"
  # shellcheck disable=SC2086
  "$CC" $LIB_CFLAGS -MMD -MF "${o%.o}.d" -c "$ROOT/$src" -o "$o"
  echo "$LIB_CFLAGS" >"$o.flags"
}

objs=()
pids=()
failed=0
for src in "${SOURCES[@]}"; do
  o=$OBJ/${src%.c}.o
  objs+=("$o")
  if stale "$ROOT/$src" "$o"; then
    echo "  CC    $src"
    compile_one "$src" "$o" &
    pids+=($!)
    if (( ${#pids[@]} >= JOBS )); then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if (( failed )); then
  echo "build.sh: compiling the authz sources failed" >&2
  exit 1
fi

# One archive per set of excluded sources. Built with "ar qc" (append, never
# replace): several sources share a base name (authz/admin/trust.c,
# authz/policy/trust.c, storage/trust.c) and "ar r" would keep only one.
make_archive() { # ARCHIVE [EXCLUDED_SRC...]
  local a=$1 o src skip x newer=0
  shift
  local keep=()
  for src in "${SOURCES[@]}"; do
    skip=0
    for x in "$@"; do [[ $src == "$x" ]] && skip=1; done
    (( skip )) || keep+=("$OBJ/${src%.c}.o")
  done
  for o in "${keep[@]}"; do [[ $o -nt $a ]] && newer=1; done
  if [[ ! -f $a ]] || (( newer )) || [[ $(cat "$a.list" 2>/dev/null) != "${keep[*]}" ]]; then
    echo "  AR    $(basename "$a")"
    rm -f "$a"
    ar qc "$a" "${keep[@]}"
    ranlib "$a"
    echo "${keep[*]}" >"$a.list"
  fi
}

# ---- the targets
targets=("$@")
(( ${#targets[@]} )) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  src=$FZ/$t.c
  [[ -f $src ]] || { echo "build.sh: no such target: $t" >&2; exit 2; }
  bin=$OUT/$t
  # a source this target #includes must not come from the archive as well
  lib=$OUT/libauthz-fuzz.a
  [[ -n ${TARGET_INCLUDES[$t]:-} ]] && lib=$OUT/libauthz-fuzz-$t.a
  # shellcheck disable=SC2086
  make_archive "$lib" ${TARGET_INCLUDES[$t]:-}
  # always relinked (seconds): the target's own headers and included
  # sources are not tracked
  echo "  LINK  $t"
  # shellcheck disable=SC2086
  "$CC" $CFLAGS_COMMON -Werror -fsanitize=fuzzer "$src" "$lib" $PKG_LIBS -lpthread -lm -o "$bin"
done
echo "fuzz targets in $OUT"
