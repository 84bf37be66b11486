#!/usr/bin/env bash
# pg.sh: a private PostgreSQL 15 server for development, tests and benchmarks.
#
#   scripts/pg.sh start DIR PORT   initdb DIR/data if absent, start it on
#                                  127.0.0.1:PORT, ensure role and database
#                                  `authz`, write DIR/database_url
#   scripts/pg.sh stop DIR         pg_ctl stop -m fast (no-op when not running)
#   scripts/pg.sh status DIR       exit 0 when running, 3 when not
#   scripts/pg.sh walprime DIR MB  give the cluster MB of WAL segments ready
#                                  for reuse, as a server that has run a while
#                                  has (for benchmarks; see cmd_walprime)
#
# Layout of DIR: data/ (the cluster), pg.log (server log), the unix socket
# (.s.PGSQL.PORT), authz_password (mode 600) and database_url (mode 600, a libpq
# conninfo: host=127.0.0.1 port=PORT dbname=authz user=authz password=...).
#
# Access: TCP on 127.0.0.1 only, scram-sha-256 for every role; the unix socket
# (inside DIR, mode 700) admits only the cluster owner by peer authentication,
# which this script uses for administration. The role `authz` owns database
# `authz` and has CREATEDB, so tests can make a fresh database each.
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres`
# user (runuser), who must be able to reach DIR. As any other user, it runs as
# that user.
#
# Environment:
#   PG_START_TIMEOUT  seconds pg_ctl waits for start/stop (default 60)
#   PG_FAST=1         fsync/synchronous_commit/full_page_writes off: for
#                     throwaway test clusters only (applied at every start)
#   PG_SETTINGS       more postgresql.conf lines, applied at every start
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}

die() { echo "pg.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 start DIR PORT | stop DIR | status DIR | walprime DIR MB" >&2
  exit 2
}

[[ -x $PG_BIN/pg_ctl ]] || die "$PG_BIN/pg_ctl not found: install postgresql-15 (scripts/deps.sh)"

if (( EUID == 0 )); then
  PG_USER=postgres
  id -u "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' user: install postgresql-15 (scripts/deps.sh)"
else
  PG_USER=$(id -un)
fi

# Run a command as the cluster owner, from / so that an unreadable cwd does
# not matter.
as_pg() {
  if (( EUID == 0 )); then
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# Fail with a clear message unless the cluster owner can reach and write DIR.
check_reachable() {
  local dir=$1 p="" part parts
  if as_pg test -d "$dir" -a -x "$dir" -a -w "$dir" 2>/dev/null; then
    return 0
  fi
  # Find the first directory on the way that the owner cannot traverse.
  IFS=/ read -ra parts <<< "${dir#/}"
  for part in "${parts[@]}"; do
    p="$p/$part"
    if ! as_pg test -x "$p" 2>/dev/null; then
      die "user '$PG_USER' cannot traverse $p (on the way to $dir). PostgreSQL must run as '$PG_USER' and needs every parent directory to be searchable (chmod o+x $p), or put the cluster elsewhere (a directory under /tmp owned by $PG_USER works)."
    fi
  done
  die "user '$PG_USER' cannot write $dir (chown $PG_USER $dir)"
}

abs_dir() {
  local d=$1
  [[ $d == /* ]] || d="$PWD/$d"
  # normalise without requiring existence
  realpath -m -- "$d"
}

running() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

# psql as the cluster owner over the unix socket in DIR.
admin_psql() {
  local dir=$1 port=$2; shift 2
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U "$PG_USER" -d postgres "$@"
}

cmd_start() {
  local dir port
  dir=$(abs_dir "$1"); port=$2
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    die "bad port: $port"
  fi
  # unix socket path limit (sun_path is 108 bytes)
  (( ${#dir} + 20 < 108 )) || die "DIR path too long for a unix socket: $dir"

  mkdir -p -- "$dir"
  if (( EUID == 0 )); then
    chown "$PG_USER:" "$dir"
  fi
  chmod 700 "$dir"
  check_reachable "$dir"

  if [[ ! -f $dir/data/PG_VERSION ]]; then
    local nosync=()
    [[ ${PG_FAST:-0} == 1 ]] && nosync=(--no-sync)
    if ! as_pg "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" -E UTF8 --locale=C \
        --auth-local=peer --auth-host=scram-sha-256 "${nosync[@]}" >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      die "initdb failed (log: $dir/initdb.log)"
    fi
    as_pg tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# written by scripts/pg.sh: the cluster owner over the unix socket (peer),
# everyone else over TCP on 127.0.0.1 with scram-sha-256.
local   all   all                   peer
host    all   all   127.0.0.1/32    scram-sha-256
EOF
    echo "include_if_exists = 'authz.conf'" | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
  fi

  if running "$dir"; then
    echo "pg.sh: already running ($dir/data)"
  else
    # Per-start settings (port, socket dir, durability) in data/authz.conf.
    local fast=""
    if [[ ${PG_FAST:-0} == 1 ]]; then
      fast=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
    fi
    as_pg tee "$dir/data/authz.conf" >/dev/null <<EOF
# written by scripts/pg.sh at every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
max_connections = 200
${fast}
${PG_SETTINGS:-}
EOF
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/pg.log" -w -t "$PG_START_TIMEOUT" >/dev/null; then
      tail -n 20 "$dir/pg.log" >&2 || true
      die "PostgreSQL did not start (log: $dir/pg.log)"
    fi
  fi

  # The server may have been started earlier with another port: ask it.
  local live_port
  live_port=$(as_pg sed -n '4p' "$dir/data/postmaster.pid" 2>/dev/null || echo "$port")
  if [[ $live_port != "$port" ]]; then
    die "the cluster in $dir is already running on port $live_port; stop it first (scripts/pg.sh stop $dir)"
  fi

  # Role and database.
  local pwfile=$dir/authz_password pw
  if [[ ! -s $pwfile ]]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$pwfile")
  fi
  pw=$(cat "$pwfile")
  [[ $pw =~ ^[0-9a-f]+$ ]] || die "bad password file $pwfile"
  admin_psql "$dir" "$port" <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz') THEN
    CREATE ROLE authz LOGIN CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE authz LOGIN CREATEDB PASSWORD '$pw';
  END IF;
END
\$\$;
EOF
  if [[ -z $(admin_psql "$dir" "$port" -At -c "SELECT 1 FROM pg_database WHERE datname = 'authz'") ]]; then
    admin_psql "$dir" "$port" -c "CREATE DATABASE authz OWNER authz"
  fi

  (umask 077; printf 'host=127.0.0.1 port=%s dbname=authz user=authz password=%s\n' "$port" "$pw" > "$dir/database_url")
  echo "pg.sh: PostgreSQL running on 127.0.0.1:$port (data $dir/data, conninfo in $dir/database_url)"
}

cmd_stop() {
  local dir
  dir=$(abs_dir "$1")
  if ! running "$dir"; then
    echo "pg.sh: not running ($dir)"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t "$PG_START_TIMEOUT" >/dev/null \
    || die "pg_ctl stop failed (log: $dir/pg.log)"
  echo "pg.sh: stopped ($dir)"
}

cmd_status() {
  local dir
  dir=$(abs_dir "$1")
  if running "$dir"; then
    local port
    port=$(as_pg sed -n '4p' "$dir/data/postmaster.pid" 2>/dev/null || echo '?')
    echo "pg.sh: running on 127.0.0.1:$port ($dir/data)"
    return 0
  fi
  echo "pg.sh: not running ($dir)"
  return 3
}

# A new cluster has no WAL segments to reuse: each 16 MB of WAL is a new
# file, zero-filled and fsynced while the WAL write lock is held, which
# stalls every commit for tens of milliseconds. A server that has run a
# while recycles the segments of earlier checkpoints instead (up to
# min_wal_size). This makes MB of segments by switching WAL files, then
# checkpoints so that they are recycled; set min_wal_size >= MB first.
cmd_walprime() {
  local dir port mb
  dir=$(abs_dir "$1"); mb=$2
  [[ $mb =~ ^[0-9]+$ ]] || die "bad size: $mb"
  running "$dir" || die "not running ($dir)"
  port=$(as_pg sed -n '4p' "$dir/data/postmaster.pid")
  admin_psql "$dir" "$port" -d authz <<EOF
CREATE TABLE walprime (n int);
DO \$\$
BEGIN
  FOR i IN 1..($mb / 16) LOOP
    INSERT INTO walprime VALUES (i);
    PERFORM pg_switch_wal();
  END LOOP;
END
\$\$;
DROP TABLE walprime;
CHECKPOINT;
EOF
}

(( $# >= 1 )) || usage
case $1 in
  start)  (( $# == 3 )) || usage; cmd_start "$2" "$3" ;;
  stop)   (( $# == 2 )) || usage; cmd_stop "$2" ;;
  status) (( $# == 2 )) || usage; cmd_status "$2" ;;
  walprime) (( $# == 3 )) || usage; cmd_walprime "$2" "$3" ;;
  *) usage ;;
esac
