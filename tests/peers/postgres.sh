#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and the local demo, on 127.0.0.1 only.
#
#   tests/peers/postgres.sh start     initdb (first time) and start; prints nothing
#   tests/peers/postgres.sh env       export lines: PGHOST PGPORT PGUSER PGDATABASE
#   tests/peers/postgres.sh restart   fast restart (used by the outage tests)
#   tests/peers/postgres.sh stop      stop and keep the data
#   tests/peers/postgres.sh destroy   stop and delete the data
#
# TLS (for sslmode=verify-full tests):
#   PG_TLS=1 tests/peers/postgres.sh start
#                                     the same with ssl = on: a test CA and server
#                                     certificates are made with openssl in $dir/tls
#                                     (never in the repository); env then also exports
#                                     PGSSLMODE=verify-full, PGSSLROOTCERT and
#                                     FLINKPG_PG_CA (the CA), FLINKPG_PG_OTHER_CA (a CA
#                                     that signed nothing the server has)
#   tests/peers/postgres.sh tls-cert NAME
#                                     serve certificate NAME and reload: good
#                                     (CN localhost, SAN localhost + IP 127.0.0.1, the
#                                     default) or wrong-host (CN and SAN wrong.example)
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

tls_dir=$dir/tls
tls_on() { [ -f "$data/postgresql.conf" ] && grep -q '^ssl = on' "$data/postgresql.conf"; }

# A CA, a second CA that signs nothing of ours, and two server certificates
# signed by the first (EC keys: quick to make).  The server's keys are 0600
# and owned by the user the server runs as, or it refuses them.
make_certs() {
  [ -f "$tls_dir/good.crt" ] && return 0
  command -v openssl >/dev/null || { echo "postgres.sh: TLS needs openssl" >&2; exit 1; }
  mkdir -p "$tls_dir"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes) ca name cn san
  for ca in ca other-ca; do
    openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=flinkpg test $ca" \
      -keyout "$tls_dir/$ca.key" -out "$tls_dir/$ca.crt" 2>>"$tls_dir/openssl.log" ||
      { echo "postgres.sh: openssl could not make the $ca:" >&2; tail -n 5 "$tls_dir/openssl.log" >&2; exit 1; }
  done
  for name in good wrong-host; do
    if [ "$name" = good ]; then cn=localhost san=DNS:localhost,IP:127.0.0.1
    else cn=wrong.example san=DNS:wrong.example; fi
    openssl req -new "${ec[@]}" -subj "/CN=$cn" -keyout "$tls_dir/$name.key" \
      -out "$tls_dir/$name.csr" 2>>"$tls_dir/openssl.log" &&
      openssl x509 -req -in "$tls_dir/$name.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
        -CAcreateserial -days 30 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") \
        -out "$tls_dir/$name.crt" 2>>"$tls_dir/openssl.log" ||
      { echo "postgres.sh: openssl could not make the $name certificate:" >&2; tail -n 5 "$tls_dir/openssl.log" >&2; exit 1; }
    chmod 600 "$tls_dir/$name.key"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$tls_dir/$name.key" "$tls_dir/$name.crt"; fi
  done
  rm -f "$tls_dir"/*.csr
}

# Serve certificate $1 (good, wrong-host): postgresql.conf names it.
use_cert() {
  [ -f "$tls_dir/$1.crt" ] || { echo "postgres.sh: no certificate \"$1\" (good, wrong-host)" >&2; exit 2; }
  sed -i -e "s|^ssl_cert_file = .*|ssl_cert_file = '$tls_dir/$1.crt'|" \
    -e "s|^ssl_key_file = .*|ssl_key_file = '$tls_dir/$1.key'|" "$data/postgresql.conf"
}

enable_tls() {
  make_certs
  if ! tls_on; then
    cat >> "$data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = ''
ssl_key_file = ''
CONF
  fi
  grep -q "^ssl_cert_file = '$tls_dir/" "$data/postgresql.conf" || use_cert good
}

# A setting as a new connection sees it (over the socket: no TLS)
show() {
  "$bindir/psql" -X -At -c "SHOW $1" \
    "host=$dir port=$(port) user=flinkpg dbname=postgres sslmode=disable" 2>/dev/null
}

# A reload takes effect in the postmaster, which new connections come from:
# wait until a new connection (over the socket, no TLS) sees the file named.
reload_cert() {
  local want="$tls_dir/$1.crt" i
  as_owner "$bindir/pg_ctl" -D "$data" reload >/dev/null
  for i in $(seq 1 100); do
    [ "$(show ssl_cert_file)" = "$want" ] && return 0
    sleep 0.05
  done
  echo "postgres.sh: the server did not take $want within 5 s; last log lines:" >&2
  tail -n 5 "$log" >&2 || true
  exit 1
}

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
  if [ -n "${PG_TLS:-}" ] && [ "${PG_TLS}" != 0 ]; then
    enable_tls
    # already running without TLS: the new settings need a restart
    if running && [ "$(show ssl)" != on ]; then
      as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 restart -l "$log" >/dev/null
      wait_ready
    fi
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
    if tls_on; then
      echo "export PGSSLMODE=verify-full PGSSLROOTCERT=$tls_dir/ca.crt FLINKPG_PG_CA=$tls_dir/ca.crt FLINKPG_PG_OTHER_CA=$tls_dir/other-ca.crt"
    fi
    ;;
  tls-cert)  # good | wrong-host
    tls_on || { echo "postgres.sh: TLS is off (start it with PG_TLS=1)" >&2; exit 2; }
    use_cert "${2:-good}"
    reload_cert "${2:-good}"
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
  *) echo "usage: $0 start|env|restart|kill|stop|destroy|tls-cert good|wrong-host" >&2; exit 2 ;;
esac
