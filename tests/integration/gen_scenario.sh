#!/usr/bin/env bash
# The generator's scenario: determinism (same seed → the same topic bytes,
# another seed → other bytes), a tiny hand-written scenario whose expected
# final table is written out here by hand, and the scenario's own knobs
# (every kind of event appears), against real PostgreSQL and the mock cluster.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka o1:4 s1:4 o2:4 s2:4 o3:4 s3:4 tiny_o:2 tiny_s:2
gen() { "$BIN/flinkpg-generator" -b "$BOOTSTRAP" --progress never "$@"; }
dump() { "$TOOLS/kconsume" -b "$BOOTSTRAP" -t "$1"; }

# ---- determinism ----
knobs="--orders 300 --max-shipments 3"
gen -s 42 $knobs --orders-topic o1 --shipments-topic s1 --events-file "$T_TMP/ev1" 2>"$T_TMP/g1.log"
check_eq "seed 42 run 1 exits 0" 0 $?
gen -s 42 $knobs --orders-topic o2 --shipments-topic s2 --events-file "$T_TMP/ev2" 2>"$T_TMP/g2.log"
check_eq "seed 42 run 2 exits 0" 0 $?
gen -s 43 $knobs --orders-topic o3 --shipments-topic s3 2>"$T_TMP/g3.log"
check_eq "seed 43 exits 0" 0 $?
for t in o s; do
  dump ${t}1 > "$T_TMP/${t}1.dump"; dump ${t}2 > "$T_TMP/${t}2.dump"; dump ${t}3 > "$T_TMP/${t}3.dump"
done
n=$(($(wc -l < "$T_TMP/o1.dump") + $(wc -l < "$T_TMP/s1.dump")))
check_eq "every event reached the topics" "$(wc -l < "$T_TMP/ev1")" "$n"
check "summary reports the same count delivered, none failed" \
  grep -q "delivered=$n failed=0" "$T_TMP/g1.log"
check "same seed: identical orders topic (partition, offset, key, value)" cmp "$T_TMP/o1.dump" "$T_TMP/o2.dump"
check "same seed: identical shipments topic" cmp "$T_TMP/s1.dump" "$T_TMP/s2.dump"
check "same seed: identical event sequence" cmp <(cut -f2- "$T_TMP/ev1") <(cut -f2- "$T_TMP/ev2")
check "different seed: different orders topic" bash -c "! cmp -s '$T_TMP/o1.dump' '$T_TMP/o3.dump'"
check "different seed: different shipments topic" bash -c "! cmp -s '$T_TMP/s1.dump' '$T_TMP/s3.dump'"

# the scenario has every kind of event the demo needs
ev=$T_TMP/ev1
check "orders are amended" grep -q '"status":"AMENDED"' "$ev"
check "orders are completed" grep -q '"status":"COMPLETED"' "$ev"
check "orders are cancelled (tombstones)" grep -qP '^o1\t\{"order_id":\d+\}\t$' "$ev"
check "shipments are cancelled (tombstones)" grep -qP '^s1\t\{"shipment_id":\d+\}\t$' "$ev"
check "shipments progress to DELIVERED" grep -q '"status":"DELIVERED"' "$ev"
# out of order: a shipment event for an order before that order's first event
early=$(awk -F'\t' '$1=="o1"{match($2,/[0-9]+/); seen[substr($2,RSTART,RLENGTH)]=1}
  $1=="s1" && $3!=""{match($3,/"order_id":[0-9]+/); o=substr($3,RSTART+11,RLENGTH-11); if(!(o in seen)) n++}
  END{print n+0}' "$ev")
check "some shipments arrive before their order ($early)" test "$early" -gt 0
one_key=$(grep -P '^s1\t\{"shipment_id":1\}' "$ev" | wc -l)
check "a shipment's status changes are events for the same key ($one_key)" test "$one_key" -ge 1

# --count cuts the scenario, and the expected table follows what was sent
gen -s 42 $knobs --count 50 --dry-run --events-file "$T_TMP/ev50" 2>/dev/null
check_eq "--count 50 sends 50 events" 50 "$(wc -l < "$T_TMP/ev50")"
check "--count 50 is a prefix of the full run" cmp <(cut -f2- "$T_TMP/ev50") <(head -n 50 "$ev" | cut -f2-)

# ---- a tiny scenario, expected table by hand ----
cat > "$T_TMP/tiny.jsonl" <<'J'
{"topic":"orders","key":{"order_id":1},"value":{"order_id":1,"customer":"alice","product":"book","quantity":1,"amount":12.50,"status":"NEW","created_at":"2024-05-01T10:00:01Z","updated_at":"2024-05-01T10:00:01Z"}}
{"topic":"shipments","key":{"shipment_id":100},"value":{"shipment_id":100,"order_id":2,"carrier":"dhl","status":"CREATED","created_at":"2024-05-01T10:00:02Z","updated_at":"2024-05-01T10:00:02Z"}}
{"topic":"orders","key":{"order_id":2},"value":{"order_id":2,"customer":"bob","product":"lamp","quantity":2,"amount":30,"status":"NEW","created_at":"2024-05-01T10:00:03Z","updated_at":"2024-05-01T10:00:03Z"}}
{"topic":"shipments","key":{"shipment_id":101},"value":{"shipment_id":101,"order_id":2,"carrier":"ups","status":"CREATED","created_at":"2024-05-01T10:00:04Z","updated_at":"2024-05-01T10:00:04Z"}}
{"topic":"shipments","key":{"shipment_id":100},"value":{"shipment_id":100,"order_id":2,"carrier":"dhl","status":"SHIPPED","created_at":"2024-05-01T10:00:02Z","updated_at":"2024-05-01T10:00:05Z"}}
{"topic":"orders","key":{"order_id":3},"value":{"order_id":3,"customer":"carol","product":"pen","quantity":3,"amount":4.5,"status":"NEW","created_at":"2024-05-01T10:00:06Z","updated_at":"2024-05-01T10:00:06Z"}}
{"topic":"shipments","key":{"shipment_id":102},"value":{"shipment_id":102,"order_id":3,"carrier":"gls","status":"CREATED","created_at":"2024-05-01T10:00:07Z","updated_at":"2024-05-01T10:00:07Z"}}
{"topic":"shipments","key":{"shipment_id":102},"value":null}
{"topic":"orders","key":{"order_id":4},"value":{"order_id":4,"customer":"dave","product":"mug","quantity":1,"amount":9.99,"status":"NEW","created_at":"2024-05-01T10:00:08Z","updated_at":"2024-05-01T10:00:08Z"}}
{"topic":"orders","key":{"order_id":4},"value":null}
{"topic":"shipments","key":{"shipment_id":103},"value":{"shipment_id":103,"order_id":4,"carrier":"dpd","status":"CREATED","created_at":"2024-05-01T10:00:09Z","updated_at":"2024-05-01T10:00:09Z"}}
{"topic":"shipments","key":{"shipment_id":104},"value":{"shipment_id":104,"order_id":99,"carrier":"dpd","status":"CREATED","created_at":"2024-05-01T10:00:10Z","updated_at":"2024-05-01T10:00:10Z"}}
{"topic":"orders","key":{"order_id":1},"value":{"order_id":1,"customer":"alice","product":"book","quantity":2,"amount":25.00,"status":"AMENDED","created_at":"2024-05-01T10:00:01Z","updated_at":"2024-05-01T10:00:11Z"}}
{"topic":"shipments","key":{"shipment_id":100},"value":{"shipment_id":100,"order_id":2,"carrier":"dhl","status":"DELIVERED","created_at":"2024-05-01T10:00:02Z","updated_at":"2024-05-01T10:00:12Z"}}
J
# order 1: no shipment, amended; order 2: two shipments, one arrived before the order and
# progressed to DELIVERED; order 3: its only shipment cancelled, back to the shipment_id 0
# row; order 4 cancelled, its shipment joins nothing; shipment 104's order never existed.
want="1|0|alice|book|2|25.00|AMENDED|-|-|10:00:11|- \
2|100|bob|lamp|2|30.00|NEW|dhl|DELIVERED|10:00:03|10:00:12 \
2|101|bob|lamp|2|30.00|NEW|ups|CREATED|10:00:03|10:00:04 \
3|0|carol|pen|3|4.50|NEW|-|-|10:00:06|-"
gen --scenario-file "$T_TMP/tiny.jsonl" --orders-topic tiny_o --shipments-topic tiny_s \
  --target-table tiny --expected-file "$T_TMP/tiny.json" 2>"$T_TMP/tiny.log"
check_eq "tiny scenario exits 0" 0 $?
got=$(q "SELECT string_agg(concat_ws('|', order_id, shipment_id, customer, product, quantity, amount,
  order_status, coalesce(carrier, '-'), coalesce(shipment_status, '-'),
  to_char(order_updated_at AT TIME ZONE 'UTC', 'HH24:MI:SS'),
  coalesce(to_char(shipment_updated_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), '-')), ' ' ORDER BY order_id, shipment_id)
  FROM expected_tiny")
check_eq "tiny scenario: expected table written by hand" "$want" "$got"
check_eq "tiny scenario: expected table has the target's column types" \
  "bigint bigint text text integer numeric(12,2) text text text timestamp with time zone timestamp with time zone" \
  "$(q "SELECT string_agg(format_type(atttypid, atttypmod), ' ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'expected_tiny'::regclass AND attnum > 0")"
check_eq "tiny scenario: the JSON file holds the same keys" "1:0 2:100 2:101 3:0" \
  "$(jq -r '[.[] | "\(.order_id):\(.shipment_id)"] | join(" ")' "$T_TMP/tiny.json")"
check_eq "tiny scenario: JSON null shipment columns on the 0 row" "null null" \
  "$(jq -r '.[0] | "\(.carrier) \(.shipment_updated_at)"' "$T_TMP/tiny.json")"
check_eq "tiny scenario: tombstones are null values on the topics" "2" \
  "$(cat <(dump tiny_o) <(dump tiny_s) | grep -c ' null$')"
check "tiny scenario: keys are the JSON id objects" grep -q ' {"shipment_id":100} {"shipment_id":100,' <(dump tiny_s)

# ---- bad input names the flag or the line ----
out=$(gen --orders -1 --dry-run 2>&1); rc=$?
check_eq "--orders -1 exits 2" 2 "$rc"
check "--orders -1 names the flag" grep -q -- '--orders: "-1" is not between 0 and' <<< "$out"
echo '{"topic":"payments","key":{"id":1},"value":null}' > "$T_TMP/bad.jsonl"
out=$(gen --scenario-file "$T_TMP/bad.jsonl" --dry-run 2>&1); rc=$?
check_eq "bad scenario file exits 2" 2 "$rc"
check "bad scenario file names file and line" grep -q 'bad.jsonl:1: "topic" must be' <<< "$out"
out=$(gen --format avro --dry-run 2>&1); rc=$?
check "--format avro is refused, naming the flag" test "$rc" = 2 -a -n "$(grep -- '--format: "avro" is not one of json, registry' <<< "$out")"
# a delivery failure gives a non-zero exit: no broker there, messages time out
"$BIN/flinkpg-generator" -b 127.0.0.1:1 --progress never --orders 3 -X message.timeout.ms=2000 2>"$T_TMP/fail.log"
rc=$?
check_eq "failed deliveries: exit 1" 1 "$rc"
check "failed deliveries: counted in the summary" grep -qE 'event=generator_stopped .*failed=[1-9]' "$T_TMP/fail.log"

# ---- pacing ----
t0=$(date +%s%3N)
"$BIN/flinkpg-generator" --dry-run --count 11 --rate 20 --progress never 2>/dev/null
t1=$(date +%s%3N)
check "--rate 20: 11 events take about 0.5 s ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 450
"$BIN/flinkpg-generator" --dry-run --orders 1000 --rate 10 --duration-s 1 --progress never 2>"$T_TMP/dur.log"
check "--duration-s 1 at 10/s stops after about 10 events" grep -qE 'reason=duration events=1[01] ' "$T_TMP/dur.log"
