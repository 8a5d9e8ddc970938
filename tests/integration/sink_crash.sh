#!/usr/bin/env bash
# Crash safety: 150k retract changes over 6 partitions (librdkafka's mock broker
# keeps only about 5 MB per partition, so large tests spread out); the sink is killed
# with SIGKILL at random moments (each time after it has committed progress,
# so every kill lands mid-stream) and restarted.  The final table must equal
# the expected one exactly, and the batch log must tile every partition:
# no offset applied twice, none skipped.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka crash:6
cols="id bigint PRIMARY KEY, name text, amount numeric(12,2), version bigint"
q "CREATE TABLE crash ($cols)"
q "CREATE TABLE crash_expected ($cols)"
kproduce -t crash --synthetic retract --count 150000 --keys 5000 --partitions 6 --seed 42 \
  --expected "$T_TMP/expected.tsv" 2>"$T_TMP/produce.log" || fail "produce"
total=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' "$T_TMP/produce.log")
psql -X -q -c "\\copy crash_expected FROM '$T_TMP/expected.tsv'"

committed() {  # 0 until the sink has created its offsets table
  q "SELECT coalesce(sum(next_offset), 0) FROM flinkpg_sink_offsets WHERE group_id = 'crash'" 2>/dev/null || echo 0
}
run_sink() {
  sink_bg "$T_TMP/sink.log" -t crash -g crash -T crash -e retract --batch-size 500 --exit-at-eof \
    -X session.timeout.ms=6000
  pid=$SINK_PID
}
kills=0 midstream=0
for round in $(seq 1 16); do
  before=$(committed)
  [ "$before" -lt "$total" ] || break
  run_sink
  for _ in $(seq 1 300); do   # wait (at most 30 s) until this run has committed something
    [ "$(committed)" -gt "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "0.$(printf '%03d' $((RANDOM % 200)))"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    [ "$(committed)" -lt "$total" ] && midstream=$((midstream + 1))
  fi
  wait "$pid" 2>/dev/null
  echo "round $round: committed $(committed) of $total" >&2
done
run_sink
wait "$pid"
check_eq "final run exits 0" 0 $?
check "at least 10 kills landed mid-stream (got $midstream of $kills)" test "$midstream" -ge 10
check_eq "all $total offsets committed" "$total" "$(committed)"
check_eq "table row count equals expected" \
  "$(q "SELECT count(*) FROM crash_expected")" "$(q "SELECT count(*) FROM crash")"
check_eq "no expected row missing or different" 0 \
  "$(q "SELECT count(*) FROM (SELECT * FROM crash_expected EXCEPT SELECT * FROM crash) x")"
check_eq "no unexpected row" 0 "$(q "SELECT count(*) FROM (SELECT * FROM crash EXCEPT SELECT * FROM crash_expected) x")"
check_eq "batch log: no gap, no repeat between batches" 0 "$(batch_log_gaps crash)"
check_eq "batch log: from each partition's first batch to its stored offset, every offset exactly once" "$total" \
  "$(q "SELECT sum(n) FROM (SELECT max(last_offset) + 1 - min(first_offset) AS n FROM flinkpg_sink_batches WHERE group_id = 'crash' GROUP BY partition) p")"
check_eq "batch log: records counted once each" "$total" \
  "$(q "SELECT sum(records) FROM flinkpg_sink_batches WHERE group_id = 'crash'")"
check_eq "no dead letters" 0 "$(q "SELECT count(*) FROM flinkpg_dead_letters")"
echo "crash test: $kills kills, $midstream mid-stream, $(grep -c event=sink_starting "$T_TMP/sink.log") starts" >&2
