#!/usr/bin/env bash
# Start-up: configuration errors name the flag, table or column; --help
# documents everything; --create-table; .env files; secrets stay out of logs.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka t1
q "CREATE TABLE keyless (id bigint, name text)"

out=$(sink -t t1 -T missing_table -e retract 2>&1); rc=$?
check_eq "missing table: exit 2" 2 "$rc"
check "missing table: message names it and suggests --create-table" \
  grep -q 'target table "missing_table" does not exist.*--create-table' <<< "$out"
out=$(sink -t t1 -T keyless -e retract --key-columns id,nope 2>&1); rc=$?
check_eq "unknown key column: exit 2" 2 "$rc"
check "unknown key column: message names the column" grep -q 'key column "nope" is not a column of table "keyless"' <<< "$out"
out=$(sink -t t1 -T keyless -e upsert 2>&1); rc=$?
check_eq "upsert encoding without keys: exit 2" 2 "$rc"
check "upsert encoding without keys: says to pass --key-columns" grep -q 'encoding upsert needs key columns.*--key-columns' <<< "$out"
out=$(sink -t t1 -T keyless -e retract -p upsert-ignore-kind 2>&1); rc=$?
check "upsert-ignore-kind without keys is refused" grep -q 'policy upsert-ignore-kind needs key columns' <<< "$out"
out=$(sink -t t1 -T keyless 2>&1); rc=$?
check_eq "missing --encoding: exit 2" 2 "$rc"
check "missing --encoding: lists the choices" grep -q 'encoding (or SINK_ENCODING) is required: one of upsert, retract, debezium, append' <<< "$out"
out=$(sink -t t1 -T keyless -e retract --batch-size lots 2>&1); rc=$?
check "non-numeric --batch-size names the flag" grep -q 'option --batch-size expects an integer, got "lots"' <<< "$out"
out=$(sink -t t1 -T keyless -e retract -X fetch.max.bytes=10 2>&1); rc=$?
check_eq "invalid librdkafka configuration: exit 2" 2 "$rc"
check "invalid librdkafka configuration: librdkafka's reason, before PostgreSQL is touched" \
  bash -c "grep -q 'fetch.max.bytes' <<< '$out' && ! grep -q pg_connected <<< '$out'"
out=$(sink -t t1 -T keyless -e retract -X no.such.property=1 2>&1); rc=$?
check "unknown librdkafka property named" grep -q 'kafka property no.such.property' <<< "$out"
out=$(sink --frobnicate 2>&1); rc=$?
check_eq "unknown flag: exit 2" 2 "$rc"
check "unknown flag: named" grep -q 'unknown option --frobnicate' <<< "$out"
out=$(sink -t t1 -T keyless -e retract --security-protocol sasl_ssl 2>&1); rc=$?
check "SASL without credentials names the variables" grep -q 'needs --api-key and --api-secret (KAFKA_API_KEY, KAFKA_API_SECRET)' <<< "$out"
out=$("$BIN/flinkpg-sink" --help); rc=$?
check_eq "--help exits 0" 0 "$rc"
for v in KAFKA_BOOTSTRAP_SERVERS KAFKA_API_KEY KAFKA_API_SECRET KAFKA_PROPERTIES SINK_TOPIC SINK_GROUP \
         POSTGRES_URL SINK_TABLE SINK_KEY_COLUMNS SINK_ENCODING SINK_POLICY SINK_DLQ_TABLE HTTP_LISTEN; do
  check "--help documents $v" grep -q "\[env $v\]" <<< "$out"
done
check "--help has an example" grep -q '^Example:' <<< "$out"

# --create-table, driven entirely by a .env file
echo '{"k":{"id":1},"v":{"id":1,"name":"from env"},"op":0}' | kproduce -t t1 2>/dev/null
cat > "$T_TMP/.env" <<ENV
# local run configuration
SINK_TOPIC=t1
SINK_TABLE="created_by_sink"
SINK_ENCODING=retract
SINK_CREATE_TABLE=true
SINK_COLUMNS='id bigint, name text'
SINK_KEY_COLUMNS=id
SINK_GROUP=envgroup
SINK_EXIT_AT_EOF=yes
POSTGRES_URL=postgresql://flinkpg:hunter2-not-logged@127.0.0.1:$PGPORT/$PGDATABASE
ENV
"$BIN/flinkpg-sink" -b "$BOOTSTRAP" --env-file "$T_TMP/.env" --log-level debug 2>"$T_TMP/env.log"
check_eq ".env run exits 0" 0 $?
check_eq "--create-table created the table with its primary key" "id" \
  "$(q "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'created_by_sink'::regclass AND i.indisprimary")"
check_eq ".env-configured sink applied the record" "1:from env" "$(q "SELECT id || ':' || name FROM created_by_sink")"
check "the database password never reaches the log" bash -c "! grep -q hunter2 '$T_TMP/env.log'"

# --columns with a type whose modifiers hold a comma (the demo's numeric(12,2))
echo '{"k":{"id":2},"v":{"id":2,"amount":"12.50"},"op":0}' | kproduce -t t2 2>/dev/null
"$BIN/flinkpg-sink" -b "$BOOTSTRAP" -t t2 --table with_numeric --encoding retract --create-table \
  --columns 'id bigint NOT NULL, amount numeric(12,2)' --key-columns id --group numgroup \
  --exit-at-eof --postgres "postgresql://flinkpg:x@127.0.0.1:$PGPORT/$PGDATABASE" 2>"$T_TMP/num.log"
check_eq "--columns keeps numeric(12,2) whole" "numeric(12,2)" \
  "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'with_numeric'::regclass AND attname = 'amount'")"
check_eq "the row with a numeric(12,2) applied" "2:12.50" "$(q "SELECT id || ':' || amount FROM with_numeric")"
check "the log names the database without the password" grep -q 'conn="host=127.0.0.1 port=' "$T_TMP/env.log"
check "debug level logs one line per change" grep -q 'event=change partition=0 offset=0 kind=+I action=upsert' "$T_TMP/env.log"

# Kafka never reached: the sink says it waits for an assignment, and
# --exit-idle-ms still bounds it (exit 1: nothing was read).
q "CREATE TABLE IF NOT EXISTS unreached (id bigint PRIMARY KEY, name text)" >/dev/null
t0=$SECONDS
"$BIN/flinkpg-sink" -b 127.0.0.1:1 -t nowhere -T unreached -e upsert --key-columns id \
  --exit-idle-ms 3000 >"$T_TMP/unreached.log" 2>&1; rc=$?
check_eq "Kafka unreachable + --exit-idle-ms 3000: exit 1 within the bound" "1 yes" \
  "$rc $( [ $((SECONDS - t0)) -le 15 ] && echo yes)"
check "Kafka unreachable: event=waiting_for_assignment logged" grep -q 'event=waiting_for_assignment topic=nowhere' "$T_TMP/unreached.log"
check "Kafka unreachable: the stop says why" grep -q 'event=sink_stopped reason=idle_never_assigned' "$T_TMP/unreached.log"
