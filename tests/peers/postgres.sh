#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and the local demo, on 127.0.0.1 only.
#
#   tests/peers/postgres.sh start     initdb (first time) and start; prints nothing
#   tests/peers/postgres.sh env       export lines: PGHOST PGPORT PGUSER PGDATABASE
#   tests/peers/postgres.sh restart   fast restart (used by the outage tests)
#   tests/peers/postgres.sh stop      stop and keep the data
#   tests/peers/postgres.sh destroy   stop and delete the data
#
# State lives in $FLINKPG_PG_DIR (default ${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}/postgres).
# initdb refuses to run as root, so as root the server runs as user postgres.
set -euo pipefail

dir=${FLINKPG_PG_DIR:-${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}/postgres}
data=$dir/data
log=$dir/server.log
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || { echo "postgres.sh: no PostgreSQL server binaries (run tests/install-deps.sh)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  # below the kernel's ephemeral range: a port that is some connection's
  # local end passes the connect test below but cannot be bound
  local p lo
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for p in $(shuf -i 20000-$((lo - 1)) -n 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
  echo "postgres.sh: no free port found" >&2; exit 1
}

port() { cat "$dir/port"; }

running() { [ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

wait_ready() {
  local i
  for i in $(seq 1 300); do
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$(port)" && return 0
    sleep 0.1
  done
  echo "postgres.sh: PostgreSQL on 127.0.0.1:$(port) did not become ready in 30 s; last log lines:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

start() {
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    # the server user must be able to reach its directory (mktemp makes 0700 parents)
    chmod o+x "$(dirname "$dir")"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    [ -f "$dir/port" ] || free_port > "$dir/port"
    as_owner "$bindir/initdb" -D "$data" -U flinkpg -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { echo "postgres.sh: initdb failed:" >&2; tail -n 20 "$dir/initdb.log" >&2; exit 1; }
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $(port)
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
max_connections = 100
shared_buffers = 256MB
max_wal_size = 2GB
log_min_messages = warning
CONF
  fi
  if running; then return 0; fi
  local try
  for try in 1 2 3; do
    as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 30 start >/dev/null && break
    # taken since it was picked: another port
    if [ $try -lt 3 ] && grep -q 'Address already in use' "$log" 2>/dev/null; then
      free_port >"$dir/port"
      sed -i "s/^port = .*/port = $(port)/" "$data/postgresql.conf"
      continue
    fi
    echo "postgres.sh: PostgreSQL failed to start; last log lines:" >&2; tail -n 20 "$log" >&2; exit 1
  done
  wait_ready
}

case "${1:-}" in
  start) start ;;
  env)
    echo "export PGHOST=127.0.0.1 PGPORT=$(port) PGUSER=flinkpg PGDATABASE=postgres"
    ;;
  restart)
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 restart -l "$log" >/dev/null
    wait_ready
    ;;
  kill)  # an outage: stop now, no restart
    as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null || true
    ;;
  stop)
    if running; then as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null; fi
    ;;
  destroy)
    if running; then as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|env|restart|kill|stop|destroy" >&2; exit 2 ;;
esac
