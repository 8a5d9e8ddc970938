#!/usr/bin/env bash
# A setting that can never work fails at once, with exit 2 and one line that
# names it and where its value came from (flag, environment, .env line); a
# PostgreSQL server that does not answer is retried for --connect-timeout,
# then the same.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka ff
q "CREATE TABLE ff (id bigint PRIMARY KEY, name text)"

# ---- where a bad value came from ----
out=$(SINK_ENCODING=bogus sink -t ff -T ff 2>&1); rc=$?
check_eq "SINK_ENCODING=bogus: exit 2, one line naming the variable as the environment's" \
  '2 flinkpg-sink: SINK_ENCODING (environment): "bogus" is not one of upsert, retract, debezium, append' "$rc $out"
out=$(SINK_ENCODING=upsert sink -t ff -T ff --encoding bogus 2>&1); rc=$?
check_eq "--encoding bogus (the flag wins over the environment): named as the flag" \
  '2 flinkpg-sink: --encoding: "bogus" is not one of upsert, retract, debezium, append' "$rc $out"
printf '# settings\nSINK_POLICY=sometimes\n' >"$T_TMP/ff.env"
out=$(sink -t ff -T ff -e upsert --env-file "$T_TMP/ff.env" 2>&1); rc=$?
check_eq "a .env line: named with its file and line" \
  "2 flinkpg-sink: SINK_POLICY ($T_TMP/ff.env line 2): \"sometimes\" is not one of changelog, insert-all, upsert-ignore-kind" "$rc $out"
out=$(SINK_BATCH_SIZE=0 sink -t ff -T ff -e upsert 2>&1); rc=$?
check_eq "SINK_BATCH_SIZE=0: named as the environment's" \
  '2 flinkpg-sink: SINK_BATCH_SIZE (environment): "0" is not between 1 and 1000000' "$rc $out"

# ---- PostgreSQL settings that can never work: at once, exit 2, one line ----
pg_fails() { # name conninfo expected-substring: exit 2 within 5 s, one line, naming the setting
  local t0=$SECONDS out rc
  sink -t ff -T ff -e upsert --exit-idle-ms 20000 -d "$2" >"$T_TMP/pg_fails.out" 2>&1; rc=$?
  out=$(grep -v 'event=sink_starting' "$T_TMP/pg_fails.out")
  check_eq "$1: exit 2" 2 "$rc"
  check_eq "$1: one line" 1 "$(grep -c . <<< "$out")"
  check "$1: names the setting and the cause ($3)" grep -qF -e "$3" <<< "$out"
  check "$1: at once (took $((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 5
}
pg_fails "conninfo bogus=1" "bogus=1" 'flinkpg-sink: --postgres: invalid connection option "bogus"'
pg_fails "conninfo with an unterminated quote" "host='127.0.0.1" "unterminated quoted string"
pg_fails "conninfo port=notaport" "host=127.0.0.1 port=notaport" 'invalid integer value \"notaport\" for connection option \"port\"'
pg_fails "a database that does not exist" "dbname=no_such_db_$$" "setting=--postgres reason=refused"
check "a database that does not exist: PostgreSQL's words" grep -q "does not exist" <<< "$(sink -t ff -T ff -e upsert -d "dbname=no_such_db_$$" 2>&1)"
pg_fails "a role that does not exist" "user=no_such_role_$$" 'role \"no_such_role_'
# a password refused: this role alone must give one (a line ahead of the trust rules)
hba=$(q "SHOW hba_file")
if ! grep -q '^host all flinkpg_pw_test ' "$hba"; then
  { echo "host all flinkpg_pw_test all scram-sha-256"; cat "$hba"; } >"$T_TMP/hba" && cat "$T_TMP/hba" >"$hba"
  q "SELECT pg_reload_conf()" >/dev/null
fi
q "DROP ROLE IF EXISTS flinkpg_pw_test" >/dev/null 2>&1
q "CREATE ROLE flinkpg_pw_test LOGIN PASSWORD 'right-one'"
sleep 0.5
pg_fails "a password refused" "host=127.0.0.1 port=$PGPORT user=flinkpg_pw_test password=wrong-one" 'password authentication failed for user \"flinkpg_pw_test\"'
check "a password refused: the password is not in the line" bash -c "! sink -t ff -T ff -e upsert -d 'host=127.0.0.1 port=$PGPORT user=flinkpg_pw_test password=wrong-one' 2>&1 | grep -q wrong-one"
pg_fails "no password given where one is asked" "host=127.0.0.1 port=$PGPORT user=flinkpg_pw_test password=" 'reason=refused'
q "DROP ROLE flinkpg_pw_test" >/dev/null

# ---- a server that does not answer: retried, then given up after --connect-timeout ----
t0=$SECONDS
out=$(sink -t ff -T ff -e upsert --connect-timeout 3 -d "host=127.0.0.1 port=1 connect_timeout=1" 2>&1); rc=$?
took=$((SECONDS - t0))
check_eq "no answer: exit 2 after --connect-timeout" 2 "$rc"
check "no answer: retried with backoff meanwhile" grep -q 'event=pg_unavailable .*attempt=2' <<< "$out"
check "no answer: the last line names --connect-timeout and the last error" \
  grep -q 'event=pg_connect_failed setting=--connect-timeout reason=no_answer timeout_s=3 error=.*port 1 failed' <<< "$out"
check "no answer: within the bound (took $took s for 3 s)" test "$took" -ge 2 -a "$took" -le 8
out=$(SINK_CONNECT_TIMEOUT=-1 sink -t ff -T ff -e upsert 2>&1); rc=$?
check_eq "SINK_CONNECT_TIMEOUT=-1 refused, named" \
  '2 flinkpg-sink: SINK_CONNECT_TIMEOUT (environment): "-1" is negative (0: retry forever)' "$rc $out"

# ---- a Kafka error is said once (the error callback), not twice (librdkafka's log too) ----
sink -b 127.0.0.1:1 -t ff -T ff -e upsert --exit-idle-ms 2500 >"$T_TMP/kdown.log" 2>&1
check "Kafka unreachable: reported by kafka_error" grep -q 'event=kafka_error code=_TRANSPORT' "$T_TMP/kdown.log"
check_eq "Kafka unreachable: not again as a kafka_log line" 0 "$(grep -c 'event=kafka_log facility=FAIL' "$T_TMP/kdown.log")"

# ---- the generator: PostgreSQL checked before anything is produced; Kafka unreachable is bounded ----
gen() { "$BIN/flinkpg-generator" --progress never "$@"; }
t0=$SECONDS
gen -b 127.0.0.1:1 --orders 20 --target-table ff_gen -d "host=127.0.0.1 port=1" --connect-timeout 2 \
  --delivery-timeout 1 >"$T_TMP/gen_nopg.log" 2>&1; rc=$?
check_eq "generator, PostgreSQL not answering: exit 2" 2 "$rc"
check "generator, PostgreSQL not answering: within --connect-timeout (took $((SECONDS - t0)) s for 2 s)" test $((SECONDS - t0)) -le 6
check "generator, PostgreSQL not answering: one line naming --connect-timeout" \
  grep -q 'event=pg_connect_failed setting=--connect-timeout reason=no_answer' "$T_TMP/gen_nopg.log"
check "generator, PostgreSQL not answering: nothing produced first" \
  bash -c "! grep -q 'event=delivery_failed\|event=generator_stopped' '$T_TMP/gen_nopg.log'"
gen -b 127.0.0.1:1 --orders 20 --target-table ff_gen -d "dbname=no_such_db_$$" >"$T_TMP/gen_nodb.log" 2>&1; rc=$?
check_eq "generator, a database that does not exist: exit 2 at once" 2 "$rc"
check "generator, a database that does not exist: names --postgres" \
  grep -q 'event=pg_connect_failed setting=--postgres reason=refused error=.*does not exist' "$T_TMP/gen_nodb.log"
t0=$SECONDS
gen -b 127.0.0.1:1 --orders 20 --delivery-timeout 2 >"$T_TMP/gen_nokafka.log" 2>&1; rc=$?
took=$((SECONDS - t0))
check_eq "generator, Kafka unreachable: exit 1" 1 "$rc"
check "generator, Kafka unreachable: within --delivery-timeout (took $took s for 2 s)" test "$took" -le 10
sent=$(grep -o 'event=generator_stopped .* sent=[0-9]*' "$T_TMP/gen_nokafka.log" | grep -o 'sent=[0-9]*$' | cut -d= -f2)
check "generator, Kafka unreachable: the summary counts every undelivered event as failed (sent=$sent)" \
  grep -q "event=generator_stopped .* sent=$sent delivered=0 failed=$sent " "$T_TMP/gen_nokafka.log"
check_eq "generator, Kafka unreachable: the first failure in full, once" 1 "$(grep -c 'event=delivery_failed' "$T_TMP/gen_nokafka.log")"

# ---- the other programs name the setting and its origin the same way ----
out=$(GEN_FORMAT=avro "$BIN/flinkpg-generator" 2>&1); rc=$?
check_eq "generator GEN_FORMAT=avro: named as the environment's" \
  '2 flinkpg-generator: GEN_FORMAT (environment): "avro" is not one of json, registry' "$rc $out"
out=$("$BIN/flinkpg-statements" --backend confluent list 2>&1); rc=$?
check_eq "statements --backend confluent list: names --org and CONFLUENT_ORG_ID" \
  '2 flinkpg-statements: --backend confluent needs --org (or CONFLUENT_ORG_ID) (see --help)' "$rc $out"
out=$(FLINK_BACKEND=flonk "$BIN/flinkpg-statements" list 2>&1); rc=$?
check_eq "statements FLINK_BACKEND=flonk: named as the environment's" \
  '2 flinkpg-statements: FLINK_BACKEND (environment): "flonk" is not one of gateway, confluent (see --help)' "$rc $out"
printf 'WORKERS=0\n' >"$T_TMP/ctl.env"
out=$("$BIN/flinkpg-controller" --env-file "$T_TMP/ctl.env" 2>&1); rc=$?
check_eq "controller WORKERS=0 in a .env file: named with the file and line" \
  "2 flinkpg-controller: WORKERS ($T_TMP/ctl.env line 1): \"0\" is not between 1 and 64" "$rc $out"
out=$(gen --delivery-timeout 0 --dry-run 2>&1); rc=$?
check_eq "generator --delivery-timeout 0 refused, named (librdkafka would read 0 as no bound)" \
  '2 flinkpg-generator: --delivery-timeout: "0" is not between 1 and 86400' "$rc $out"
