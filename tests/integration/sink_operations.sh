#!/usr/bin/env bash
# Operations: PostgreSQL restarted (and down for seconds) mid-run, a Kafka
# outage, an offset moved under a running sink (the fence), SIGTERM, and the
# /metrics, /healthz, /readyz endpoints.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka outage:6 term:8 metrics kafkaout:4 fence:1
PEERS="$ROOT/tests/peers/postgres.sh"

# --- PostgreSQL outage mid-run: recovered without loss ---
cols="id bigint PRIMARY KEY, name text, amount numeric(12,2), version bigint"
q "CREATE TABLE outage ($cols)"
q "CREATE TABLE outage_expected ($cols)"
kproduce -t outage --synthetic upsert --count 150000 --keys 20000 --partitions 6 --seed 7 \
  --expected "$T_TMP/expected.tsv" 2>"$T_TMP/produce.log" || fail "produce"
total=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' "$T_TMP/produce.log")
psql -X -q -c "\\copy outage_expected FROM '$T_TMP/expected.tsv'"
committed() { q "SELECT coalesce(sum(next_offset), 0) FROM flinkpg_sink_offsets WHERE group_id = 'outage'" 2>/dev/null || echo 0; }
sink_bg "$T_TMP/outage.log" -t outage -g outage -T outage -e upsert --batch-size 500 --exit-at-eof
pid=$SINK_PID
for _ in $(seq 1 300); do [ "$(committed)" -gt 0 ] && break; sleep 0.1; done
"$PEERS" restart                       # a fast restart while batches are in flight
sleep 0.3
"$PEERS" kill                          # then a real outage: down for 3 s
sleep 3
mid=$(grep -c 'event=pg_unavailable' "$T_TMP/outage.log")
"$PEERS" start
wait "$pid"
check_eq "sink survives the outage and exits 0" 0 $?
check "the outage was reported with retries (pg_unavailable lines: $mid)" test "$mid" -ge 1
check "the uncommitted batch was dropped and resumed from PostgreSQL" grep -q 'event=batch_not_committed.*action=resume_from_postgres' "$T_TMP/outage.log"
check "summary counts the resyncs" grep -Eq 'event=sink_stopped .*resyncs=[1-9]' "$T_TMP/outage.log"
check_eq "all $total offsets committed" "$total" "$(committed)"
check_eq "no expected row missing or different" 0 \
  "$(q "SELECT count(*) FROM (SELECT * FROM outage_expected EXCEPT SELECT * FROM outage) x")"
check_eq "no unexpected row" 0 "$(q "SELECT count(*) FROM (SELECT * FROM outage EXCEPT SELECT * FROM outage_expected) x")"
check_eq "batch log: no gap, no repeat" 0 "$(batch_log_gaps outage)"

# --- the fence: another consumer advances a partition under a running sink ---
# (what two consumers racing through a rebalance look like from one of them)
q "CREATE TABLE fence (id bigint PRIMARY KEY, name text)"
recs() { seq "$1" "$2" | awk '{printf "{\"v\":{\"id\":%d,\"name\":\"n%d\"},\"p\":0}\n", $1, $1}'; }
fnext() { q "SELECT coalesce(max(next_offset), -1) FROM flinkpg_sink_offsets WHERE group_id = 'fence'" 2>/dev/null || echo -1; }
recs 0 999 | kproduce -t fence 2>/dev/null || fail "produce fence"
sink_bg "$T_TMP/fence.log" -t fence -g fence -T fence -e append --batch-size 100
pid=$SINK_PID
for _ in $(seq 1 300); do [ "$(fnext)" = 1000 ] && break; sleep 0.1; done
check_eq "fence: the first 1000 records committed" 1000 "$(fnext)"
q "UPDATE flinkpg_sink_offsets SET next_offset = 1500 WHERE group_id = 'fence'" # 1000..1499 done elsewhere
recs 1000 1999 | kproduce -t fence 2>/dev/null || fail "produce fence 2"
for _ in $(seq 1 300); do [ "$(fnext)" = 2000 ] && break; sleep 0.1; done
check_eq "fence: the sink goes on to the end" 2000 "$(fnext)"
kill -TERM "$pid"; wait "$pid"
check_eq "fence: the sink exits 0" 0 $?
check "fence: its commit was refused and named the partition" \
  grep -q 'partition 0 was advanced by another consumer (expected next_offset 1000)' "$T_TMP/fence.log"
check "fence: it resumed from PostgreSQL" grep -q 'event=batch_not_committed.*action=resume_from_postgres' "$T_TMP/fence.log"
check_eq "fence: what the other consumer took is not applied again" "1500 0" \
  "$(q "SELECT count(*), count(*) FILTER (WHERE id BETWEEN 1000 AND 1499) FROM fence" | tr '|' ' ')"
check_eq "fence: the batch log holds 0-999 and 1500-1999, 1500 records" "0 1999 1500" \
  "$(q "SELECT min(first_offset), max(last_offset), sum(records) FROM flinkpg_sink_batches WHERE group_id = 'fence'" | tr '|' ' ')"

# --- Kafka outage mid-run: reported, retried by librdkafka, nothing lost ---
q "CREATE TABLE kafkaout ($cols)"
q "CREATE TABLE kafkaout_expected ($cols)"
kproduce -t kafkaout --synthetic retract --count 20000 --keys 1000 --partitions 4 --seed 5 \
  --expected "$T_TMP/kexpected.tsv" 2>"$T_TMP/kproduce.log" || fail "produce kafkaout"
ktotal=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' "$T_TMP/kproduce.log")
psql -X -q -c "\\copy kafkaout_expected FROM '$T_TMP/kexpected.tsv'"
kcommitted() { q "SELECT coalesce(sum(records), 0) FROM flinkpg_sink_batches WHERE group_id = 'kafkaout'"; }
sink_bg "$T_TMP/kafkaout.log" -t kafkaout -g kafkaout -T kafkaout -e retract --batch-size 50 \
  -X max.partition.fetch.bytes=5000 -X queued.max.messages.kbytes=64 -X queued.min.messages=50 --exit-at-eof
pid=$SINK_PID
for _ in $(seq 1 300); do [ "$(kcommitted)" -gt 0 ] && break; sleep 0.1; done
kill -USR1 "$MOCKKAFKA_PID"            # every broker down for 4 s
sleep 4
during=$(kcommitted)
kill -USR2 "$MOCKKAFKA_PID"
wait "$pid"
check_eq "Kafka outage: sink exits 0 after catching up" 0 $?
check "Kafka outage: began mid-stream ($during of $ktotal committed)" test "$during" -gt 0 -a "$during" -lt "$ktotal"
check "Kafka outage: reported in the log" grep -q 'event=kafka_error' "$T_TMP/kafkaout.log"
check_eq "Kafka outage: every record applied once" "$ktotal" "$(kcommitted)"
check_eq "Kafka outage: table equals expected" 0 "$(tables_differ kafkaout kafkaout_expected)"
check_eq "Kafka outage: batch log has no gap, no repeat" 0 "$(batch_log_gaps kafkaout)"

# --- SIGTERM mid-stream: finish the batch, commit, exit 0 ---
q "CREATE TABLE term (id bigint, name text, amount numeric(12,2), version bigint)"
kproduce -t term --synthetic retract --count 200000 --keys 1000000 --partitions 8 --seed 3 2>/dev/null || fail "produce term"
tcommitted() { q "SELECT coalesce(sum(next_offset), 0) FROM flinkpg_sink_offsets WHERE group_id = 'term'" 2>/dev/null || echo 0; }
sink_bg "$T_TMP/term.log" -t term -g term -T term -e retract -p insert-all --batch-size 2000
pid=$SINK_PID
for _ in $(seq 1 300); do [ "$(tcommitted)" -gt 0 ] && break; sleep 0.1; done
kill -TERM "$pid"
t0=$SECONDS
wait "$pid"
check_eq "SIGTERM: exit status 0" 0 $?
check "SIGTERM: stops within 5 s" test $((SECONDS - t0)) -le 5
check "SIGTERM: summary says it stopped on a signal" grep -q 'event=sink_stopped reason=signal' "$T_TMP/term.log"
n=$(tcommitted)
applied=$(q "SELECT sum(records) FROM flinkpg_sink_batches WHERE group_id = 'term'")
check "SIGTERM: stopped mid-stream ($applied of 200000)" test "$applied" -lt 200000
check_eq "SIGTERM: each stored offset is one past its partition's last committed record" "$n" \
  "$(q "SELECT sum(m) FROM (SELECT max(last_offset) + 1 AS m FROM flinkpg_sink_batches WHERE group_id = 'term' GROUP BY partition) p")"
check_eq "SIGTERM: every committed record is in the table, none beyond" \
  "$applied" "$(q "SELECT count(*) FROM term")"

# --- metrics, health, readiness ---
q "CREATE TABLE metrics (id bigint PRIMARY KEY, name text, amount numeric(12,2), version bigint)"
kproduce -t metrics 2>"$T_TMP/produce-metrics.log" <<'J'
{"k":{"id":1},"v":{"id":1,"name":"a","amount":1,"version":1},"op":0}
{"k":{"id":1},"v":{"id":1,"name":"a","amount":1,"version":1},"op":1}
{"k":{"id":1},"v":{"id":1,"name":"b","amount":2,"version":2},"op":2}
{"k":{"id":2},"vraw":"not json","op":0}
J
sink_bg "$T_TMP/metrics.log" -t metrics -g metrics -T metrics -e retract --http-listen 127.0.0.1:0
pid=$SINK_PID
for _ in $(seq 1 100); do grep -q 'event=http_listening' "$T_TMP/metrics.log" && break; sleep 0.1; done
port=$(sed -n 's/.*event=http_listening .*port=\([0-9]*\).*/\1/p' "$T_TMP/metrics.log")
for _ in $(seq 1 100); do [ "$(q "SELECT count(*) FROM metrics")" = 1 ] && break; sleep 0.1; done
for _ in $(seq 1 50); do   # counters move when a batch commits: wait for the dead letter's
  m=$(curl -fsS "http://127.0.0.1:$port/metrics")
  grep -q '^flinkpg_sink_dead_letters_total 1$' <<< "$m" && grep -q '^flinkpg_sink_lag 0$' <<< "$m" && break
  sleep 0.1
done
check "metrics: +I counted" grep -q '^flinkpg_sink_changes_total{kind="+I"} 1$' <<< "$m"
check "metrics: -U counted" grep -q '^flinkpg_sink_changes_total{kind="-U"} 1$' <<< "$m"
check "metrics: +U counted" grep -q '^flinkpg_sink_changes_total{kind="+U"} 1$' <<< "$m"
check "metrics: dead letters counted" grep -q '^flinkpg_sink_dead_letters_total 1$' <<< "$m"
check "metrics: records consumed" grep -q '^flinkpg_sink_records_total 4$' <<< "$m"
check "metrics: batch latency histogram" grep -q '^flinkpg_sink_batch_seconds_count [1-9]' <<< "$m"
check "metrics: lag is zero once caught up" grep -q '^flinkpg_sink_lag 0$' <<< "$m"
check "metrics: postgres up" grep -q '^flinkpg_sink_postgres_up 1$' <<< "$m"
check_eq "healthz: 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
check_eq "readyz: 200 when connected and assigned" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
check_eq "unknown path: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")"
"$PEERS" kill
sleep 2.5
check_eq "readyz: 503 while PostgreSQL is down" 503 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
"$PEERS" start
kill -TERM "$pid"; wait "$pid"
check_eq "metrics sink exits 0" 0 $?
