# shellcheck shell=bash
# End-to-end helpers on the real pipeline: flinkpg-generator -> Kafka -> Flink
# statement (through flinkpg-statements and the SQL Gateway) -> output topic ->
# flinkpg-sink (SASL/PLAIN) -> PostgreSQL -> sql/validate.sql against the
# expected table the generator wrote.
# Source after tests/lib/common.sh (integration tests) or on its own (the demo).
#
#   e2e_peers_up                  start Kafka and Flink unless running; e2e_peers_down
#                                 later stops only what e2e_peers_up started
#   e2e_inputs                    create the two input topics (before a job reads them)
#   e2e_generate [args]           flinkpg-generator: seed $E2E_SEED, $E2E_ORDERS orders,
#                                 expected table "expected"; in the foreground
#   e2e_generate_bg [args]        the same in the background (GEN_PID); e2e_generate_wait
#   e2e_target TABLE keyed|keyless   sql/postgres/orders_shipments.sql (replaced)
#   e2e_submit MODE [args]        sources.sql + MODE.sql; sets JOB_ID
#   e2e_sink NAME TABLE ENC POLICY [flags]   sink in the background (SINK_PIDS[NAME])
#   e2e_wait_exact TABLE SECS     until sql/validate.sql says PASS
#   e2e_validate TABLE            sql/validate.sql as one line:
#                                 rows_expected= rows_present= missing= unexpected=
#                                 wrong_values= duplicate_keys= surplus_rows= verdict=
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ROOT:-$(cd "$E2E_DIR/../.." && pwd)}
BIN=${BIN:-${FLINKPG_BIN:-$ROOT/build/asan/bin}}
TOOLS=${TOOLS:-${FLINKPG_TOOLS:-$ROOT/build/asan/tools}}
E2E_SEED=${E2E_SEED:-42}
E2E_ORDERS=${E2E_ORDERS:-200}
E2E_TMP=${E2E_TMP:-${T_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/flinkpg-e2e.XXXXXX")}}
E2E_ID=${E2E_ID:-e2e$$}
KAFKA_PLAIN=127.0.0.1:${KAFKA_PORT:-19092}
KAFKA_SASL=127.0.0.1:${KAFKA_SASL_PORT:-19093}
ORDERS_TOPIC=$E2E_ID-orders
SHIPMENTS_TOPIC=$E2E_ID-shipments
E2E_STARTED=()
declare -A SINK_PIDS=()
GEN_PID=
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
  [ -n "$GEN_PID" ] && { kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null; }
  for n in "${!SINK_PIDS[@]}"; do kill "${SINK_PIDS[$n]}" 2>/dev/null || true; done
  for n in "${!SINK_PIDS[@]}"; do wait "${SINK_PIDS[$n]}" 2>/dev/null || true; done
  for j in "${JOB_IDS[@]}"; do
    "$BIN/flinkpg-statements" delete "$j" >/dev/null 2>&1 || true
  done
}

e2e_topic() { "$ROOT/tests/peers/kafka.sh" topic "$1" 1 >/dev/null 2>&1 || { echo "FAIL creating topic $1"; exit 1; }; }

# The input topics exist before any job subscribes to them (a Kafka source that
# starts on a missing topic would only find it at its next partition discovery).
e2e_inputs() { e2e_topic "$ORDERS_TOPIC"; e2e_topic "$SHIPMENTS_TOPIC"; }

# flinkpg-generator over SASL/PLAIN: the scenario of seed $E2E_SEED with
# $E2E_ORDERS orders to the two input topics; at the end it replaces table
# "expected" (PG* connection) with what the join must hold for what it sent.
e2e_gen_cmd() {
  GEN_CMD=("$BIN/flinkpg-generator" -b "$KAFKA_SASL" --security-protocol sasl_plaintext
    --api-key flinkpg --api-secret flinkpg-secret
    --orders-topic "$ORDERS_TOPIC" --shipments-topic "$SHIPMENTS_TOPIC"
    --seed "$E2E_SEED" --orders "$E2E_ORDERS" --postgres "" --expected-table expected
    --events-file "$E2E_TMP/events.tsv" --run-name "$E2E_ID" --progress never "$@")
}

e2e_generate() {
  e2e_gen_cmd "$@"
  "${GEN_CMD[@]}" 2>>"$E2E_TMP/generator.log" ||
    { echo "FAIL flinkpg-generator: $(grep -v 'level=info' "$E2E_TMP/generator.log" | tail -n 3)"; exit 1; }
  e2e_log "generator: $(grep -o 'events=[0-9]* .*expected_rows=[0-9]*' "$E2E_TMP/generator.log" | tail -n 1)"
}

e2e_generate_bg() {
  e2e_gen_cmd "$@"
  "${GEN_CMD[@]}" 2>>"$E2E_TMP/generator.log" &
  GEN_PID=$!
}

e2e_generate_running() { [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; }

e2e_generate_wait() {
  local rc=0
  wait "$GEN_PID" || rc=$?
  GEN_PID=
  if [ $rc -ne 0 ]; then
    echo "FAIL flinkpg-generator exited $rc: $(grep -v 'level=info' "$E2E_TMP/generator.log" | tail -n 3)"
    return 1
  fi
  e2e_log "generator: $(grep -o 'events=[0-9]* .*expected_rows=[0-9]*' "$E2E_TMP/generator.log" | tail -n 1)"
}

# e2e_target TABLE keyed|keyless: the target table of sql/postgres/orders_shipments.sql
e2e_target() {
  local keyless=()
  [ "$2" = keyless ] && keyless=(-v keyless=1)
  psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages TO warning; DROP TABLE IF EXISTS $1" &&
    psql -X -q -v ON_ERROR_STOP=1 -v "table=$1" "${keyless[@]}" -f "$ROOT/sql/postgres/orders_shipments.sql" ||
    { echo "FAIL creating target table $1"; exit 1; }
}

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

# sql/validate.sql (the query the docs tell a person to run; common/validate.c is
# the same query from C) against table "expected", as one line of name=value
# pairs: rows_expected rows_present missing unexpected wrong_values
# duplicate_keys surplus_rows verdict (PASS or FAIL).
E2E_VFIELDS=(rows_expected rows_present missing unexpected wrong_values duplicate_keys surplus_rows verdict)
e2e_validate() {
  local out i line=""
  out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -F ' ' -v "target=$1" -v expected=expected \
    -f "$ROOT/sql/validate.sql") || { echo "validate_failed=1 verdict=ERROR"; return 1; }
  read -r -a vals <<<"$out"
  for i in "${!E2E_VFIELDS[@]}"; do line+="${line:+ }${E2E_VFIELDS[i]}=${vals[i]:-?}"; done
  echo "$line"
}

e2e_is_exact() { [[ "$1" == *" verdict=PASS"* ]]; }  # validation line -> PASS

e2e_field() { sed -n "s/.*\\b$2=\\([0-9A-Z?]*\\).*/\\1/p" <<<"$1"; }

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
