#!/usr/bin/env bash
# Recovery after a crash on a real Kafka (tests/peers/kafka.sh): a sink killed
# with SIGKILL leaves the group without saying so, and its partition stays
# with the dead member until the broker's session timeout expires. The sink's
# default (session.timeout.ms 6000, heartbeats every 2 s; librdkafka's own is
# 45 s) must let the next sink of the group commit again within 10 s of the
# kill. The time is printed; the table ends exact.
source "$(dirname "$0")/../lib/common.sh"
new_db
export FLINKPG_PEERS_DIR=$T_TMP/peers
KP=${KAFKA_PORT:-19092}
BOOTSTRAP=127.0.0.1:$KP
kafka_down() { "$ROOT/tests/peers/kafka.sh" stop >/dev/null 2>&1 || true; }
defer kafka_down
if ! "$ROOT/tests/peers/kafka.sh" start >"$T_TMP/kafka-start.log" 2>&1; then
  echo "FAIL Kafka did not start (tests/peers/kafka.sh start):"; tail -n 20 "$T_TMP/kafka-start.log" | sed 's/^/  /'; exit 1
fi
"$ROOT/tests/peers/kafka.sh" topic rec 1 >/dev/null 2>&1 || fail "create topic rec"
cols="id bigint PRIMARY KEY, name text, amount numeric(12,2), version bigint"
q "CREATE TABLE rec ($cols)"
q "CREATE TABLE rec_expected ($cols)"
committed() { q "SELECT count(*) FROM flinkpg_sink_batches WHERE group_id = 'rec'" 2>/dev/null || echo 0; }
wait_for() { local d=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $d ] || return 1; sleep 0.2; done; }

# the first half, applied by sink A, which is then killed mid-group
kproduce -t rec --synthetic upsert --count 4000 --keys 400 --seed 5 --partitions 1 \
  --expected "$T_TMP/expected.tsv" >"$T_TMP/produce.log" 2>&1 || fail "produce"
sink_bg "$T_TMP/a.log" -t rec -g rec -T rec -e upsert --key-columns id --batch-size 500
a=$SINK_PID
check "sink A commits" wait_for 60 bash -c "[ \"\$(psql -X -A -t -q -c \"SELECT count(*) FROM flinkpg_sink_batches WHERE group_id = 'rec'\" 2>/dev/null)\" -gt 0 ]"
kill -9 "$a"; wait "$a" 2>/dev/null
t_kill=$(($(date +%s%N) / 1000000))
before=$(committed)

# more work arrives; sink B joins the same group at once
kproduce -t rec --synthetic upsert --count 8000 --keys 400 --seed 5 --partitions 1 \
  --expected "$T_TMP/expected.tsv" >"$T_TMP/produce2.log" 2>&1 || fail "produce more"
sink_bg "$T_TMP/b.log" -t rec -g rec -T rec -e upsert --key-columns id --batch-size 500 --exit-idle-ms 15000
b=$SINK_PID
if wait_for 60 bash -c "[ \$(psql -X -A -t -q -c \"SELECT count(*) FROM flinkpg_sink_batches WHERE group_id = 'rec'\") -gt $before ]"; then
  ms=$(( $(date +%s%N) / 1000000 - t_kill ))
  echo "  kill -9 to the next commit by another sink of the group: ${ms} ms (librdkafka's default session timeout: 45 s)"
  check "recovery after kill -9 within 10 s (${ms} ms)" [ "$ms" -le 10000 ]
else
  fail "no commit within 60 s of the kill"
fi
wait "$b"
psql -X -q -c "\\copy rec_expected FROM '$T_TMP/expected.tsv'"
check_eq "table equals the expected one after the crash" 0 "$(tables_differ rec rec_expected)"
check_eq "batch log: no gap, no repeat" 0 "$(batch_log_gaps rec)"
