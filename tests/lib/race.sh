# shellcheck shell=bash
# The contenders of `make race` (tests/bench/race) and of its smoke test
# (tests/integration/race_smoke.sh): flinkpg-sink, Debezium's JDBC sink on Kafka
# Connect (tests/peers/connect.sh), Flink's JDBC sink on the session cluster
# (tests/peers/flink.sh), and the physical references COPY and psql's staged
# merge.  Source after tests/lib/common.sh or on its own with ROOT, BIN, TOOLS.
#
#   race_workload NAME N KEYS SEED   racegen: topics NAME-up (upsert), NAME-cn (Connect
#                                    envelopes), NAME-rt (retract), NAME-rc (retract as
#                                    envelopes), P partitions each; expected tables
#                                    NAME_expected and NAME_expected_ik; markers
#   race_table TABLE                 a fresh keyed table of the race's columns
#   race_start CONTENDER SETTINGS TOPIC TABLE GROUP
#                                    starts one contender (sink, debezium, flink) on TOPIC
#                                    (race_topic_for gives the workload's topic for it);
#                                    race_stop stops it
#   race_watch TABLE PROBES PIDFILE  before a contender starts: pgprobe + a /proc sampler
#                                    of the pid in PIDFILE (race_pidfile KIND GROUP)
#   race_drain                       until every marker is visible:
#                                    RACE_RESULT="first_ms done_ms cpu_s pg_cpu_s rss_mb"
#   race_diff TABLE EXPECTED         rows in one and not the other (0: exact)
RACE_PARTS=${RACE_PARTITIONS:-6}
RACE_BS=${RACE_BS:-127.0.0.1:${KAFKA_PORT:-19092}}
RACE_TMP=${RACE_TMP:-${T_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/flinkpg-race.XXXXXX")}}
RACE_COLS="id bigint PRIMARY KEY, customer text, product text, quantity integer, amount numeric(12,2), order_status text, carrier text, shipment_status text, created_at timestamptz, updated_at timestamptz, version bigint"
RACE_COLS_PLAIN=${RACE_COLS/ PRIMARY KEY/}
RACE_STOP=

race_log() { printf '[race %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
race_q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

race_table() {
  race_q "SET client_min_messages TO warning; DROP TABLE IF EXISTS $1; CREATE TABLE $1 ($RACE_COLS)"
}

race_topics() {  # NAME...: created with RACE_PARTS partitions before anything reads them
  local t
  for t in "$@"; do
    "$ROOT/tests/peers/kafka.sh" topic "$t" "$RACE_PARTS" >/dev/null 2>&1 ||
      { echo "FAIL creating topic $t"; return 1; }
  done
}

# race_workload NAME N KEYS SEED [racegen args]: every format of one changelog,
# produced before any clock starts, with one marker per partition at the end
race_workload() {
  local name=$1 n=$2 keys=$3 seed=$4
  shift 4
  race_topics "$name-up" "$name-cn" "$name-rt" "$name-rc" || return 1
  "$TOOLS/racegen" -b "$RACE_BS" --count "$n" --keys "$keys" --seed "$seed" --partitions "$RACE_PARTS" \
    --upsert "$name-up" --connect "$name-cn" --retract "$name-rt" --retract-connect "$name-rc" \
    --expected "$RACE_TMP/$name.expected.tsv" --expected-ignore-kind "$RACE_TMP/$name.ik.tsv" \
    --rows "$RACE_TMP/$name.rows.tsv" --markers --probes "$RACE_TMP/$name.markers" "$@" \
    2>"$RACE_TMP/$name.racegen.log" ||
    { echo "FAIL racegen: $(tail -n 3 "$RACE_TMP/$name.racegen.log")"; return 1; }
  race_table "${name}_expected" && race_table "${name}_expected_ik" &&
    psql -X -q -v ON_ERROR_STOP=1 -c "\\copy ${name}_expected FROM '$RACE_TMP/$name.expected.tsv'" &&
    psql -X -q -v ON_ERROR_STOP=1 -c "\\copy ${name}_expected_ik FROM '$RACE_TMP/$name.ik.tsv'" ||
    { echo "FAIL loading the expected tables"; return 1; }
}

race_diff() {  # TABLE EXPECTED: differing rows both ways, markers left out
  race_q "SELECT count(*) FROM ((SELECT * FROM $1 WHERE id >= 0 EXCEPT SELECT * FROM $2 WHERE id >= 0)
          UNION ALL (SELECT * FROM $2 WHERE id >= 0 EXCEPT SELECT * FROM $1 WHERE id >= 0)) d"
}

# race_settle TABLE EXPECTED: the differing rows once the table is exact or
# RACE_SETTLE seconds (30) have passed.  A contender can make the markers visible before the last rows of the same
# flush: Flink's JDBC sink runs a flush's upserts and its deletes as two batches.
race_settle() {
  local deadline=$((SECONDS + ${RACE_SETTLE:-30})) d
  d=$(race_diff "$1" "$2")
  while [ "$d" != 0 ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
    d=$(race_diff "$1" "$2")
  done
  echo "$d"
}

# CPU ticks of a process (utime + stime) and of the PostgreSQL server: every
# process of it plus what its postmaster reaped (cutime + cstime)
race_ticks() { [ -r "/proc/$1/stat" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
RACE_PM=
race_pg_ticks() {
  local pm=$RACE_PM p sum=0
  [ -n "$pm" ] || { echo 0; return; }
  sum=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat" 2>/dev/null || echo 0)
  for p in $(pgrep -P "$pm"); do sum=$((sum + $(race_ticks "$p"))); done
  echo "$sum"
}
race_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# race_sample PIDFILE FILE: "ms ticks pg_ticks rss_kb" every 200 ms until killed; the
# pid is read each time, so the sampler can start before the contender does
race_sample() {
  local pidfile=$1 out=$2 pid
  while :; do
    pid=$(cat "$pidfile" 2>/dev/null) || pid=
    echo "$(($(date +%s%N) / 1000000)) $(race_ticks "${pid:-0}") $(race_pg_ticks) $(race_rss_kb "${pid:-0}")" >>"$out"
    sleep 0.2
  done
}

race_pidfile() {  # KIND GROUP: where the pid of the process that does the work will be
  case $1 in
    sink) echo "$RACE_TMP/$2.pid" ;;
    flink) echo "${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}/flink/taskmanager.pid" ;;
    debezium) (eval "$("$ROOT/tests/peers/connect.sh" env)" && echo "$CONNECT_PID_FILE") ;;
  esac
}

# race_watch TABLE PROBES PIDFILE, before the contender starts: pgprobe and the
# sampler in the background; race_drain waits until every marker is visible
race_watch() {
  RACE_WATCHED=$1
  : >"$RACE_TMP/samples.$1"
  RACE_PM=$(head -n 1 "$(race_q 'SHOW data_directory')/postmaster.pid" 2>/dev/null) || RACE_PM=
  race_sample "$3" "$RACE_TMP/samples.$1" &
  RACE_SAMPLER=$!
  "$TOOLS/pgprobe" -T "$1" --probes "$2" --interval-us 5000 --timeout "${RACE_TIMEOUT:-900}" \
    >"$RACE_TMP/probe.$1" &
  RACE_PROBE=$!
}

race_unwatch() { kill "$RACE_PROBE" "$RACE_SAMPLER" 2>/dev/null; wait "$RACE_PROBE" "$RACE_SAMPLER" 2>/dev/null; true; }

# race_drain: RACE_RESULT="first_ms done_ms cpu_s pg_cpu_s rss_mb" once every marker is
# visible; CPU counts from the first row visible to the last marker
race_drain() {
  local table=$RACE_WATCHED out rc=0
  wait "$RACE_PROBE" || rc=$?
  kill "$RACE_SAMPLER" 2>/dev/null
  wait "$RACE_SAMPLER" 2>/dev/null
  out=$(cat "$RACE_TMP/probe.$table")
  if [ $rc -ne 0 ]; then
    echo "FAIL $table: not every marker became visible within ${RACE_TIMEOUT:-900} s ($out)"
    return 1
  fi
  local first done
  first=$(sed -n 's/.*first_row_ms=\([0-9]*\).*/\1/p' <<<"$out")
  done=$(sed -n 's/.*done_ms=\([0-9]*\).*/\1/p' <<<"$out")
  # CPU between the first visible row and the last marker, from the nearest samples
  RACE_RESULT=$(awk -v a="$first" -v b="$done" -v hz="$(getconf CLK_TCK)" '
    { if ($4 > rss) rss = $4
      if (!sa || ($1 <= a)) { ca = $2; pa = $3; sa = 1 }
      if ($1 <= b + 200) { cb = $2; pb = $3 } }
    END { printf "%.0f %.0f %.2f %.2f %.1f", a, b, (cb - ca) / hz, (pb - pa) / hz, rss / 1024 }' "$RACE_TMP/samples.$table")
}

# ---- the contenders ----

# the sink reads the upsert encoding unless RACE_SINK_ARGS says otherwise
race_start_sink() {  # SETTINGS TOPIC TABLE GROUP
  local settings=$1 topic=$2 table=$3 group=$4
  # shellcheck disable=SC2086  # settings are flags
  "$BIN/flinkpg-sink" -b "$RACE_BS" -t "$topic" -g "$group" -T "$table" ${RACE_SINK_ARGS:--e upsert} \
    --run-name "$group" $settings 2>"$RACE_TMP/$group.log" &
  local pid=$!
  echo "$pid" >"$(race_pidfile sink "$group")"
  RACE_STOP="kill -TERM $pid; wait $pid"
}

race_start_flink() {  # SETTINGS (max_rows=N interval=T parallelism=P) TOPIC TABLE GROUP
  local settings=$1 topic=$2 table=$3 group=$4 vars=() kv
  for kv in $settings; do vars+=(-v "$kv"); done
  "$BIN/flinkpg-statements" submit "$ROOT/tests/bench/race/flink_jdbc.sql" "${vars[@]}" \
    -v "job_name=$group" -v "topic=$topic" -v "bootstrap=$RACE_BS" \
    -v "src=src_$table" -v "dst=dst_$table" -v "target_table=$table" \
    -v "jdbc_url=jdbc:postgresql://${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$PGDATABASE" \
    -v "jdbc_user=${PGUSER:-$(id -un)}" >"$RACE_TMP/$group.submit" 2>"$RACE_TMP/$group.log" ||
    { echo "FAIL submitting the Flink JDBC job: $(grep -v 'level=info' "$RACE_TMP/$group.log" | tail -n 3)"; return 1; }
  RACE_STOP="\"$BIN/flinkpg-statements\" delete $(sed -n 's/^job_id=//p' "$RACE_TMP/$group.submit") >/dev/null 2>&1"
}

# Debezium's JDBC sink on a Kafka Connect standalone worker (tests/peers/connect.sh);
# SETTINGS are connector properties (name=value ...), the consumer's max.poll.records
# follows batch.size
race_start_debezium() {  # SETTINGS TOPIC TABLE GROUP
  local settings=$1 topic=$2 table=$3 group=$4 props=$RACE_TMP/$4.properties kv batch=500
  for kv in $settings; do [[ $kv == batch.size=* ]] && batch=${kv#batch.size=}; done
  {
    printf '%s\n' connector.class=io.debezium.connector.jdbc.JdbcSinkConnector tasks.max=1 \
      "topics=$topic" "connection.url=jdbc:postgresql://${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$PGDATABASE" \
      "connection.username=${PGUSER:-$(id -un)}" connection.password= insert.mode=upsert \
      delete.enabled=true primary.key.mode=record_key primary.key.fields=id schema.evolution=none \
      "collection.name.format=$table" "consumer.override.max.poll.records=$batch"
    for kv in $settings; do echo "$kv"; done
  } >"$props"
  KAFKA_BOOTSTRAP=$RACE_BS "$ROOT/tests/peers/connect.sh" start "$group" "$props" >"$RACE_TMP/$group.log" 2>&1 ||
    { echo "FAIL starting Debezium's JDBC sink: $(tail -n 5 "$RACE_TMP/$group.log")"; return 1; }
  RACE_STOP="\"$ROOT/tests/peers/connect.sh\" stop >/dev/null 2>&1"
}

race_topic_for() {  # KIND WORKLOAD: Connect envelopes for Debezium, upsert for the others
  if [ "$1" = debezium ]; then echo "$2-cn"; else echo "$2-up"; fi
}

race_start() {  # CONTENDER SETTINGS TOPIC TABLE GROUP
  local c=$1
  shift
  case $c in
    sink) race_start_sink "$@" ;;
    flink) race_start_flink "$@" ;;
    debezium) race_start_debezium "$@" ;;
    *) echo "FAIL unknown contender $c"; return 1 ;;
  esac
}

race_stop() { [ -n "$RACE_STOP" ] && eval "$RACE_STOP" 2>/dev/null; RACE_STOP=; true; }

# ---- the physical references, timed by themselves ----

race_copy() {  # NAME TABLE -> rows/s: every row image COPY'd into a keyless table
  local rows t0 t1
  race_q "SET client_min_messages TO warning; DROP TABLE IF EXISTS $2; CREATE TABLE $2 ($RACE_COLS_PLAIN, del boolean)"
  rows=$(wc -l <"$RACE_TMP/$1.rows.tsv")
  t0=$(date +%s%3N)
  psql -X -q -v ON_ERROR_STOP=1 -c "\\copy $2 FROM '$RACE_TMP/$1.rows.tsv'" || return 1
  t1=$(date +%s%3N)
  echo $((rows * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

# the same rows in batches of 10000, each COPY'd into a staging table and merged
# into the keyed table by psql alone: the last change per key wins, deletes
# delete, the rest is one INSERT ... ON CONFLICT DO UPDATE (no Kafka, no decoding)
race_merge() {  # NAME TABLE -> rows/s
  local name=$1 table=$2 rows t0 t1 f script=$RACE_TMP/$1.merge.sql
  race_table "$table"
  rows=$(wc -l <"$RACE_TMP/$name.rows.tsv")
  if [ ! -s "$script" ]; then
    split -l 10000 -d -a 4 "$RACE_TMP/$name.rows.tsv" "$RACE_TMP/$name.chunk."
    echo "CREATE TEMP TABLE st ($RACE_COLS_PLAIN, del boolean, seq bigserial) ON COMMIT DELETE ROWS;" >"$script"
    for f in "$RACE_TMP/$name".chunk.*; do
      printf '%s\n' "BEGIN;" \
        "\\copy st (id, customer, product, quantity, amount, order_status, carrier, shipment_status, created_at, updated_at, version, del) FROM '$f'" \
        "CREATE TEMP TABLE last ON COMMIT DROP AS SELECT DISTINCT ON (id) * FROM st ORDER BY id, seq DESC;" \
        "DELETE FROM :\"tbl\" t USING last l WHERE l.del AND t.id = l.id;" \
        "INSERT INTO :\"tbl\" SELECT id, customer, product, quantity, amount, order_status, carrier, shipment_status, created_at, updated_at, version FROM last WHERE NOT del ON CONFLICT (id) DO UPDATE SET customer = EXCLUDED.customer, product = EXCLUDED.product, quantity = EXCLUDED.quantity, amount = EXCLUDED.amount, order_status = EXCLUDED.order_status, carrier = EXCLUDED.carrier, shipment_status = EXCLUDED.shipment_status, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version;" \
        "COMMIT;" >>"$script"
    done
  fi
  t0=$(date +%s%3N)
  psql -X -q -v ON_ERROR_STOP=1 -v "tbl=$table" -f "$script" >/dev/null || return 1
  t1=$(date +%s%3N)
  echo $((rows * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}
