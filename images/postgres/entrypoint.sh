#!/bin/bash
# Entrypoint of the flinkpg/postgres test image: the official postgres image's
# contract, written for this project.
#   POSTGRES_PASSWORD  required (unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER      superuser name (default postgres)
#   POSTGRES_DB        database created on first start (default $POSTGRES_USER)
#   PGDATA             data directory (default /var/lib/postgresql/data); initdb
#                      runs when it holds no PG_VERSION
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256)
#   /docker-entrypoint-initdb.d/*.sql, *.sh   run once after initdb
# Remote connections: `host all all all $POSTGRES_HOST_AUTH_METHOD`, listening
# on all addresses.  Writes only to $PGDATA, /var/run/postgresql and /tmp, so
# the root filesystem can be read-only.
set -euo pipefail

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# `docker run image -c foo=bar`: options for postgres
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

# started as root (docker run without --user): fix ownership, drop to postgres
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    log "error: database is uninitialized and POSTGRES_PASSWORD is not set"
    log "  set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, never in production)"
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA" 2>/dev/null || true
  if ! getent passwd "$(id -u)" >/dev/null; then
    log "error: uid $(id -u) has no passwd entry; run as 999 (the image's postgres user)"
    exit 1
  fi
  log "initdb in $PGDATA (superuser $POSTGRES_USER)"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" ${POSTGRES_INITDB_ARGS:-} >&2
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # a server on the Unix socket only, for the setup below
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >&2
  export PGUSER="$POSTGRES_USER" PGDATABASE=postgres
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q)
  if [ "$POSTGRES_DB" != postgres ]; then
    log "creating database $POSTGRES_DB"
    "${psql[@]}" -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  export PGDATABASE="$POSTGRES_DB"
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) log "running $f"; "${psql[@]}" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" ;;
      *.sh) log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *) if [ -e "$f" ]; then log "ignoring $f"; fi ;;
    esac
  done
  unset PGUSER PGDATABASE
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  log "initialised; starting postgres"
fi

# At every start, as the official image does: a pod's fsGroup makes the kubelet
# add group permissions to the volume (g+rwx, setgid) when it mounts it again,
# and postgres refuses a data directory that is not 0700/0750.
if [ "$1" = postgres ] && [ -d "$PGDATA" ] && [ -O "$PGDATA" ]; then
  chmod 700 "$PGDATA"
fi

exec "$@"
