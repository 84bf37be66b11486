#!/usr/bin/env bash
# deps.sh: install, with apt-get, whatever authz needs to build, run and test
# on Debian 12 and is not there yet. A machine that already has everything does
# no network work: each package is checked with dpkg-query first, and
# `apt-get update` runs only when something is missing.
#
# Node.js: a `node` of version 20 or later already on the PATH (e.g. from
# NodeSource) is kept; Debian's nodejs/npm are installed only when there is no
# `node` at all.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential autoconf automake libtool pkg-config
  libevent-dev libssl-dev libjwt-dev libjansson-dev libpq-dev libargon2-dev libcmocka-dev
  postgresql-15 postgresql-client-15
  curl jq wrk chromium
  clang libclang-rt-14-dev
  # used by the scripts themselves: ss, runuser, git, TLS roots for npm;
  # python3 serves JWKS and receives webhooks in the integration tests
  iproute2 util-linux git ca-certificates python3
)

# One dpkg-query for all of them; unknown packages print nothing.
declare -A have=()
while read -r name status; do
  [[ $status == installed ]] && have[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  [[ -n ${have[$p]:-} ]] || missing+=("$p")
done

# systemd-analyze (to check etc/authzd.service) comes with the systemd package.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  missing+=(systemd)
fi

# Node.js: keep an existing node (NodeSource's ships npm inside its nodejs).
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
else
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if (( node_major < 20 )); then
    echo "deps.sh: warning: node $(node --version 2>/dev/null) is older than 20; keeping it" >&2
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "deps.sh: node is installed but npm is not; install npm for that node by hand" >&2
    exit 1
  fi
fi

if (( ${#missing[@]} == 0 )); then
  exit 0
fi

if (( EUID != 0 )); then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "deps.sh: installing: ${missing[*]}"
log=$(mktemp /tmp/authz-deps.XXXXXX.log)
if ! { apt-get update -qq && \
       apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}"; } >"$log" 2>&1; then
  echo "deps.sh: apt-get failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
rm -f "$log"
echo "deps.sh: done"
