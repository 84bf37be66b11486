#!/usr/bin/env bash
# bench/reqloop.sh: instructions per request through authzd's HTTP server
# (framing, head parsing, routing, the answer), counted by callgrind, for a
# machine too busy for wall-clock numbers (bench/cc.sh). See reqloop.c.
#
#   bench/reqloop.sh                 one request at a time, then pipelined
#
# Builds bench/reqloop against the libauthz.a of the tree (build it first:
# `make`), runs it under `valgrind --tool=callgrind` for N1 and N2 requests
# and prints, for each mode, the instructions per request:
#   total:     (Ir(N2) - Ir(N1)) / (N2 - N1) over the whole process (the
#              client's share included; start-up cancels out)
#   transport: the same, counted inside the server's read and write
#              callbacks only (conn_read_cb, conn_write_cb and all they call)
# Instruction counts do not depend on the machine's load; they do depend on
# the compiler and flags, so compare two trees built the same way.
#
# Environment: AUTHZ_BUILD_DIR (default: the tree), REQLOOP_N1 (1000),
# REQLOOP_N2 (6000).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
B=${AUTHZ_BUILD_DIR:-$ROOT}
N1=${REQLOOP_N1:-1000}
N2=${REQLOOP_N2:-6000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

command -v valgrind >/dev/null || { echo "reqloop.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
[[ -f $B/libauthz.a ]] || { echo "reqloop.sh: $B/libauthz.a missing: run make first" >&2; exit 2; }
PKGS="libevent libevent_pthreads libevent_openssl openssl jansson libpq libargon2"
# shellcheck disable=SC2046
gcc -std=c17 -O2 -g -D_GNU_SOURCE -I"$ROOT/authz" -I"$ROOT" $(pkg-config --cflags $PKGS) \
  "$ROOT/bench/reqloop.c" "$B/libauthz.a" $(pkg-config --libs $PKGS) -lpthread -lm -o "$OUT/reqloop"

ir() { # MODE N -> "TOTAL TRANSPORT" in $OUT/ir.MODE.N
  local f=$OUT/cg.$1.$2
  valgrind --tool=callgrind --callgrind-out-file="$f" "$OUT/reqloop" "$2" "$1" >/dev/null 2>"$f.log" ||
    { tail -n 5 "$f.log" >&2; return 1; }
  local total transport
  total=$(sed -nE 's/^totals: ([0-9]+).*/\1/p' "$f")
  transport=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null |
    awk '/conn_(read|write)_cb / { gsub(",", "", $1); s += $1 } END { print s + 0 }')
  echo "$total $transport" >"$OUT/ir.$1.$2"
}

for mode in single pipelined; do
  ir "$mode" "$N1"
  ir "$mode" "$N2"
  read -r t1 c1 <"$OUT/ir.$mode.$N1"
  read -r t2 c2 <"$OUT/ir.$mode.$N2"
  echo "reqloop $mode: $(( (t2 - t1) / (N2 - N1) )) instructions/request in all," \
    "$(( (c2 - c1) / (N2 - N1) )) in the server's read and write callbacks" \
    "($(git -C "$ROOT" rev-parse --short HEAD))"
done
