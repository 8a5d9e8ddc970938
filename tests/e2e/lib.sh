# shellcheck shell=bash
# End-to-end helpers on the real pipeline: orders/shipments -> Kafka -> Flink
# statement (through flinkpg-statements and the SQL Gateway) -> output topic ->
# flinkpg-sink (SASL/PLAIN) -> PostgreSQL, compared with the expected table.
# Source after tests/lib.sh (integration tests) or on its own (the demo).
#
#   e2e_peers_up                  start Kafka and Flink unless running; e2e_peers_down
#                                 later stops only what e2e_peers_up started
#   e2e_produce PHASE             phase 1 (inserts) or 2 (updates, deletes) of data.awk
#   e2e_expected_table            table "expected" (the join's final content)
#   e2e_target TABLE keyed|keyless
#   e2e_submit MODE [args]        sources.sql + MODE.sql; sets JOB_ID
#   e2e_sink NAME TABLE ENC POLICY [flags]   sink in the background (SINK_PIDS[NAME])
#   e2e_wait_exact TABLE SECS     until TABLE equals expected
#   e2e_validate TABLE            one line: expected= present= missing= ... verdict=
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ROOT:-$(cd "$E2E_DIR/../.." && pwd)}
BIN=${BIN:-${FLINKPG_BIN:-$ROOT/build/asan/bin}}
TOOLS=${TOOLS:-${FLINKPG_TOOLS:-$ROOT/build/asan/tools}}
E2E_N=${E2E_N:-300}
E2E_TMP=${E2E_TMP:-${T_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/flinkpg-e2e.XXXXXX")}}
E2E_ID=${E2E_ID:-e2e$$}
KAFKA_PLAIN=127.0.0.1:${KAFKA_PORT:-19092}
KAFKA_SASL=127.0.0.1:${KAFKA_SASL_PORT:-19093}
ORDERS_TOPIC=$E2E_ID-orders
SHIPMENTS_TOPIC=$E2E_ID-shipments
E2E_STARTED=()
declare -A SINK_PIDS=()
JOB_IDS=()
# the JAAS string for Flink's Kafka clients (the unshaded class: see sql/flink/README.md)
SASL_OPTS="'properties.security.protocol' = 'SASL_PLAINTEXT', 'properties.sasl.mechanism' = 'PLAIN', 'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.plain.PlainLoginModule required username=\"flinkpg\" password=\"flinkpg-secret\";',"

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

e2e_peers_up() {
  local p
  for p in kafka flink; do
    if ! "$ROOT/tests/peers/$p.sh" status >/dev/null 2>&1; then
      E2E_STARTED+=("$p")
      "$ROOT/tests/peers/$p.sh" start >&2 || { echo "FAIL the $p peer did not start (tests/peers/$p.sh start)"; exit 1; }
    fi
  done
  eval "$("$ROOT/tests/peers/flink.sh" env)"
  export FLINK_GATEWAY_URL FLINK_REST_URL
}

e2e_peers_down() {
  local i
  for ((i = ${#E2E_STARTED[@]} - 1; i >= 0; i--)); do
    "$ROOT/tests/peers/${E2E_STARTED[i]}.sh" stop >&2 || true
  done
}

# Stop every job this script submitted and every sink it started.
e2e_cleanup() {
  local n j
  for n in "${!SINK_PIDS[@]}"; do kill "${SINK_PIDS[$n]}" 2>/dev/null || true; done
  for n in "${!SINK_PIDS[@]}"; do wait "${SINK_PIDS[$n]}" 2>/dev/null || true; done
  for j in "${JOB_IDS[@]}"; do
    "$BIN/flinkpg-statements" delete "$j" >/dev/null 2>&1 || true
  done
}

e2e_produce() {  # phase
  awk -v n="$E2E_N" -v phase="$1" -f "$E2E_DIR/data.awk" >"$E2E_TMP/phase$1.tsv"
  local t
  for t in orders shipments; do
    awk -F'\t' -v t=$t '$1 == t {print $2}' "$E2E_TMP/phase$1.tsv" >"$E2E_TMP/phase$1.$t.jsonl"
  done
  "$TOOLS/kproduce" -b "$KAFKA_PLAIN" -t "$ORDERS_TOPIC" -f "$E2E_TMP/phase$1.orders.jsonl" 2>>"$E2E_TMP/produce.log" &&
    "$TOOLS/kproduce" -b "$KAFKA_PLAIN" -t "$SHIPMENTS_TOPIC" -f "$E2E_TMP/phase$1.shipments.jsonl" 2>>"$E2E_TMP/produce.log" ||
    { echo "FAIL producing phase $1 to Kafka: $(tail -n 3 "$E2E_TMP/produce.log")"; exit 1; }
}

E2E_COLS="order_id bigint, shipment_id bigint, customer text, product text, quantity integer,
  amount numeric(12,2), order_status text, carrier text, shipment_status text,
  order_updated_at timestamptz, shipment_updated_at timestamptz"

e2e_expected_table() {
  awk -v n="$E2E_N" -v phase=expected -f "$E2E_DIR/data.awk" >"$E2E_TMP/expected.tsv"
  psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages TO warning;
DROP TABLE IF EXISTS expected;
CREATE TABLE expected ($E2E_COLS, PRIMARY KEY (order_id, shipment_id));
\copy expected FROM '$E2E_TMP/expected.tsv'
SQL
}

e2e_target() {  # table keyed|keyless
  local pk=""
  [ "$2" = keyed ] && pk=", PRIMARY KEY (order_id, shipment_id)"
  psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages TO warning; DROP TABLE IF EXISTS $1; CREATE TABLE $1 ($E2E_COLS$pk)"
}

e2e_topic() { "$ROOT/tests/peers/kafka.sh" topic "$1" 1 >/dev/null 2>&1 || { echo "FAIL creating topic $1"; exit 1; }; }

# e2e_submit MODE OUTPUT_TOPIC JOB_NAME [extra flinkpg-statements args]; sets JOB_ID
e2e_submit() {
  local mode=$1 out=$2 job=$3
  shift 3
  local files=("$ROOT/sql/flink/sources.sql" "$ROOT/sql/flink/$mode.sql")
  local vars=(-v "orders_topic=$ORDERS_TOPIC" -v "shipments_topic=$SHIPMENTS_TOPIC"
    -v "bootstrap=$KAFKA_SASL" -v "kafka_options=$SASL_OPTS" -v "job_name=$job")
  if [ "$mode" = jdbc ]; then
    vars+=(-v "jdbc_url=jdbc:postgresql://${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$PGDATABASE"
      -v "jdbc_user=${PGUSER:-flinkpg}" -v "jdbc_password=" -v "target_table=$out")
  else
    vars+=(-v "output_topic=$out")
  fi
  local outf=$E2E_TMP/submit.$job.out
  local rc=0
  "$BIN/flinkpg-statements" submit "${files[@]}" "${vars[@]}" "$@" >"$outf" 2>"$outf.err" || rc=$?
  JOB_ID=$(sed -n 's/^job_id=//p' "$outf")
  [ -n "$JOB_ID" ] && JOB_IDS+=("$JOB_ID")
  if [ $rc -ne 0 ]; then
    echo "FAIL flinkpg-statements submit $mode: $(grep -v 'level=info' "$outf.err" | tail -n 3)"
    return 1
  fi
  e2e_log "submitted $mode as job $JOB_ID ($job)"
}

# e2e_sink NAME TOPIC TABLE ENCODING POLICY [flags...]: the sink over SASL/PLAIN
e2e_sink() {
  local name=$1 topic=$2 table=$3 enc=$4 policy=$5
  shift 5
  "$BIN/flinkpg-sink" -b "$KAFKA_SASL" --security-protocol sasl_plaintext \
    --api-key flinkpg --api-secret flinkpg-secret -t "$topic" -g "$E2E_ID-$name" \
    -T "$table" -e "$enc" -p "$policy" --run-name "$name" "$@" 2>"$E2E_TMP/sink.$name.log" &
  SINK_PIDS[$name]=$!
}

# wait for a background sink to exit (after --exit-at-eof); non-zero if it failed
e2e_sink_wait() {
  local rc=0
  wait "${SINK_PIDS[$1]}" || rc=$?
  unset "SINK_PIDS[$1]"
  return $rc
}

e2e_sink_stop() {
  kill -TERM "${SINK_PIDS[$1]}" 2>/dev/null
  e2e_sink_wait "$1"
}

# +I=.. -U=.. +U=.. -D=.. upsert=.. from a sink's summary line
e2e_kinds() {
  grep 'event=sink_stopped' "$E2E_TMP/sink.$1.log" | tail -n 1 | grep -o '[-+]\?[A-Za-z]*=[0-9]*' |
    grep -E '^(\+I|-U|\+U|-D|upsert|records)=' | tr '\n' ' '
}

# The comparison with the expected table, as numbers:
#   missing     expected keys the table lacks
#   unexpected  keys the table has that are not expected (e.g. rows that should be deleted)
#   wrong       expected keys present, but no row of them equals the expected row
#   stale       rows of expected keys that differ from the expected row (old versions)
#   duplicates  keys held by more than one row
e2e_validate() {
  local t=$1
  psql -X -A -t -q -v ON_ERROR_STOP=1 -F ' ' <<SQL
WITH tk AS (SELECT order_id, shipment_id, count(*) AS c FROM $t GROUP BY 1, 2),
same AS (
  SELECT t.order_id, t.shipment_id FROM $t t JOIN expected e USING (order_id, shipment_id)
  WHERE ROW(t.customer, t.product, t.quantity, t.amount, t.order_status, t.carrier, t.shipment_status,
            t.order_updated_at, t.shipment_updated_at)
        IS NOT DISTINCT FROM
        ROW(e.customer, e.product, e.quantity, e.amount, e.order_status, e.carrier, e.shipment_status,
            e.order_updated_at, e.shipment_updated_at))
SELECT 'expected=' || (SELECT count(*) FROM expected),
       'present=' || (SELECT count(*) FROM $t),
       'missing=' || (SELECT count(*) FROM expected e WHERE NOT EXISTS
                        (SELECT 1 FROM tk WHERE tk.order_id = e.order_id AND tk.shipment_id = e.shipment_id)),
       'unexpected=' || (SELECT count(*) FROM tk WHERE NOT EXISTS
                        (SELECT 1 FROM expected e WHERE tk.order_id = e.order_id AND tk.shipment_id = e.shipment_id)),
       'wrong=' || (SELECT count(*) FROM expected e JOIN tk USING (order_id, shipment_id)
                    WHERE NOT EXISTS (SELECT 1 FROM same s WHERE s.order_id = e.order_id AND s.shipment_id = e.shipment_id)),
       'stale=' || ((SELECT count(*) FROM $t t JOIN expected e USING (order_id, shipment_id)) - (SELECT count(*) FROM same)),
       'duplicates=' || (SELECT count(*) FROM tk WHERE c > 1)
SQL
}

e2e_is_exact() {  # validation line -> success when it is exactly the expected table
  local v=$1 e p
  e=$(e2e_field "$v" expected)
  p=$(e2e_field "$v" present)
  [ "$e" = "$p" ] && [[ "$v" == *" missing=0 unexpected=0 wrong=0 stale=0 duplicates=0"* ]]
}

e2e_field() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"; }

# e2e_wait_exact TABLE SECONDS: poll until exact and still exact 4 s later
e2e_wait_exact() {
  local t=$1 deadline=$((SECONDS + $2)) v
  while ((SECONDS < deadline)); do
    v=$(e2e_validate "$t")
    if e2e_is_exact "$v"; then
      sleep 4
      v=$(e2e_validate "$t")
      e2e_is_exact "$v" && { echo "$v"; return 0; }
    fi
    sleep 1
  done
  echo "$v"
  return 1
}
