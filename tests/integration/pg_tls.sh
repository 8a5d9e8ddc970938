#!/usr/bin/env bash
# PostgreSQL over TLS with sslmode=verify-full, on a real server of its own
# (tests/peers/postgres.sh, PG_TLS=1) that refuses TCP without TLS: the sink,
# the generator's expected table, --validate and its poll source connect
# through the test CA, named in the URI (?sslmode=verify-full&sslrootcert=)
# or by PGSSLMODE/PGSSLROOTCERT.  A certificate for another host, a CA that
# signed nothing of the server's, and verify-full against a server without
# TLS (the plain one of tests/run) are refused at once: exit 2 and one line
# naming the host and libpq's cause, never retried.
# The controller reads its URI from a Kubernetes Secret: its handling of
# sslmode and sslrootcert is checked in tests/unit/pg_tls_test.c.
source "$(dirname "$0")/../lib/common.sh"

PLAIN="host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=${PGUSER:-flinkpg} dbname=postgres"
TLS_DIR=$T_TMP/pg-tls
tlspg() { FLINKPG_PG_DIR=$TLS_DIR "$ROOT/tests/peers/postgres.sh" "$@"; }
defer "FLINKPG_PG_DIR='$TLS_DIR' '$ROOT/tests/peers/postgres.sh' destroy >/dev/null 2>&1"
t0=$SECONDS
PG_TLS=1 tlspg start >"$T_TMP/tls-start.log" 2>&1 ||
  { echo "FAIL the TLS PostgreSQL did not start:"; sed 's/^/  /' "$T_TMP/tls-start.log"; exit 1; }
eval "$(tlspg env)"
echo "  (TLS server with its certificates up in $((SECONDS - t0)) s)"
check "env names the CA and verify-full" test -s "${FLINKPG_PG_CA:-}" -a "${PGSSLMODE:-}" = verify-full
CA=$FLINKPG_PG_CA
# TCP without TLS is refused by the server itself: every connection that works below used TLS
hba=$(q "SHOW hba_file")
{ echo "hostnossl all all all reject"; cat "$hba"; } >"$T_TMP/hba" && cat "$T_TMP/hba" >"$hba"
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
check "the TLS server refuses TCP without TLS" \
  bash -c "psql -X -At -c 'SELECT 1' 'sslmode=disable' 2>&1 | grep -q 'no encryption'"
check_eq "psql with PGSSLMODE=verify-full: TLS in use" t \
  "$(q "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")"
new_db
URI="postgresql://flinkpg@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=verify-full&sslrootcert=$CA"
# by name (the certificate's DNS name), key=value form
KV="host=localhost port=$PGPORT dbname=$PGDATABASE sslmode=verify-full sslrootcert=$CA"
noenv() { env -u PGSSLMODE -u PGSSLROOTCERT "$@"; }  # only what the connection string says

# ---- (a) the sink ----
start_mockkafka tls_t tls_cdc
q "CREATE TABLE tls_t (id bigint PRIMARY KEY, name text)"
produce() { local i; for i in "$@"; do echo "{\"k\":{\"id\":$i},\"v\":{\"id\":$i,\"name\":\"n$i\"},\"op\":0}"; done | kproduce -t tls_t 2>/dev/null; }
produce 1 2 3
noenv "$BIN/flinkpg-sink" -b "$BOOTSTRAP" -t tls_t -T tls_t -e retract --exit-at-eof -d "$URI" 2>"$T_TMP/sink_uri.log"
check_eq "sink, URI ?sslmode=verify-full&sslrootcert=: exit 0" 0 $?
check_eq "sink, URI: the rows landed" 3 "$(q "SELECT count(*) FROM tls_t")"
check "sink, URI: connected" grep -q 'event=pg_connected' "$T_TMP/sink_uri.log"
produce 4 5
"$BIN/flinkpg-sink" -b "$BOOTSTRAP" -t tls_t -T tls_t -e retract --exit-at-eof -d "" 2>"$T_TMP/sink_env.log"
check_eq "sink, PGSSLMODE=verify-full PGSSLROOTCERT (empty --postgres): exit 0" 0 $?
check_eq "sink, environment: the rows landed" 5 "$(q "SELECT count(*) FROM tls_t")"

# ---- (b) the generator: the expected table, --validate, the poll source ----
gen() { noenv "$BIN/flinkpg-generator" --progress never "$@"; }
gen --dry-run --orders 20 --target-table tls_orders -d "$URI" 2>"$T_TMP/gen.log"
check_eq "generator writes its expected table over verify-full: exit 0" 0 $?
n=$(q "SELECT count(*) FROM expected_tls_orders" 2>&1)
check "generator: the expected table has rows ($n)" test "$n" -gt 0 2>/dev/null
gen --validate --target-table expected_tls_orders --expected-table expected_tls_orders -d "$KV" >"$T_TMP/val.out" 2>"$T_TMP/val.log"
check_eq "generator --validate over verify-full, by host name (localhost): exit 0" 0 $?
check "generator --validate: PASS" grep -q PASS "$T_TMP/val.out"
q "CREATE TABLE customers (id bigint PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
q "INSERT INTO customers (id, name) VALUES (1, 'ann'), (2, 'ben'), (3, 'cat')"
poll() {  # log, source-postgres, state (bounded: a poll source that retries forever fails the checks)
  noenv timeout -k 5 30 "$BIN/flinkpg-generator" --progress never -b "$BOOTSTRAP" --source postgres \
    --topic tls_cdc --source-table customers --source-cursor updated_at --state-file "$T_TMP/$3.state" \
    --poll-interval-ms 100 --max-polls 1 --source-postgres "$2" 2>"$1" </dev/null
}
poll "$T_TMP/poll.log" "$URI" ok
check_eq "generator poll source over verify-full: exit 0" 0 $?
check_eq "generator poll source: every row published" 3 "$(grep -c 'event=change_published' "$T_TMP/poll.log")"

# ---- refusals: at once, exit 2, one line naming the host and libpq's cause ----
refused() {  # name, log, rc, seconds, cause: the sink's or the generator's way
  local name=$1 log=$2 rc=$3 took=$4 cause=$5 line
  line=$(grep 'event=pg_connect_failed' "$log")
  check_eq "$name: exit 2" 2 "$rc"
  check "$name: at once (took $took s)" test "$took" -le 5
  check_eq "$name: the cause in one line" 1 "$(grep -c . <<<"$line")"
  check "$name: names the host" grep -qF 'connection to server at \"127.0.0.1\"' <<<"$line"
  check "$name: libpq's cause ($cause)" grep -qF -e "$cause" <<<"$line"
  check_eq "$name: not retried" 0 "$(grep -c 'event=pg_unavailable\|event=source_unavailable' "$log")"
  echo "  line: $line"
}
sink_refused() {  # name, conninfo, cause
  local t=$SECONDS rc
  noenv timeout -k 5 30 "$BIN/flinkpg-sink" -b "$BOOTSTRAP" -t tls_t -T tls_t -e retract --exit-idle-ms 20000 -d "$2" \
    >"$T_TMP/refused.log" 2>&1; rc=$?
  refused "sink, $1" "$T_TMP/refused.log" $rc $((SECONDS - t)) "$3"
  check_eq "sink, $1: nothing else said but the start" "" "$(grep -v 'event=sink_starting\|event=pg_connect_failed' "$T_TMP/refused.log")"
}
gen_refused() {  # name, conninfo, cause: the expected table, then the poll source
  local t=$SECONDS rc
  noenv timeout -k 5 30 "$BIN/flinkpg-generator" --progress never --dry-run --orders 20 --target-table tls_orders \
    -d "$2" >"$T_TMP/refused.log" 2>&1; rc=$?
  refused "generator, $1" "$T_TMP/refused.log" $rc $((SECONDS - t)) "$3"
  t=$SECONDS
  poll "$T_TMP/refused.log" "$2" refused; rc=$?
  refused "generator poll source, $1" "$T_TMP/refused.log" $rc $((SECONDS - t)) "$3"
  check "generator poll source, $1: nothing published" bash -c "! grep -q 'event=change_published' '$T_TMP/refused.log'"
}

# (d) a certificate the CA signed, for another host
check "the server takes the wrong-host certificate" tlspg tls-cert wrong-host
cause='server certificate for \"wrong.example\" (and 1 other name) does not match host name \"127.0.0.1\"'
sink_refused "a certificate for wrong.example" "$URI" "$cause"
gen_refused "a certificate for wrong.example" "$URI" "$cause"
check "the server takes the right certificate again" tlspg tls-cert good

# (e) a CA that did not sign the server's certificate
OTHER="postgresql://flinkpg@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=verify-full&sslrootcert=$FLINKPG_PG_OTHER_CA"
sink_refused "another CA" "$OTHER" 'SSL error: certificate verify failed'
gen_refused "another CA" "$OTHER" 'SSL error: certificate verify failed'
# the same through the environment: PGSSLROOTCERT is not overridden
t=$SECONDS
PGSSLROOTCERT=$FLINKPG_PG_OTHER_CA "$BIN/flinkpg-sink" -b "$BOOTSTRAP" -t tls_t -T tls_t -e retract \
  --exit-idle-ms 20000 -d "" >"$T_TMP/refused.log" 2>&1
refused "sink, another CA from PGSSLROOTCERT" "$T_TMP/refused.log" $? $((SECONDS - t)) 'SSL error: certificate verify failed'

# (f) verify-full against the plain server of tests/run (no TLS)
sink_refused "a server without TLS" "$PLAIN sslmode=verify-full sslrootcert=$CA" 'server does not support SSL, but SSL was required'
gen_refused "a server without TLS" "$PLAIN sslmode=verify-full sslrootcert=$CA" 'server does not support SSL, but SSL was required'

check_eq "after all that, the rows are still there (over TLS)" 5 "$(q "SELECT count(*) FROM tls_t")"
