#!/usr/bin/env bash
# End to end on real Kafka + real Flink: flinkpg-generator's events, the demo's
# join in upsert mode (upsert-kafka) and retract mode (kafka + debezium-json),
# submitted through flinkpg-statements to the SQL Gateway, applied by
# flinkpg-sink over SASL/PLAIN, compared by sql/validate.sql with the expected
# table the generator wrote.
#   - the changelog policy gives exactly the expected table in both modes (PASS);
#   - the naive policies show their damage (insert-all: duplicate keys and rows
#     that should be gone; upsert-ignore-kind on the retract topic: rows that
#     should be gone);
#   - Flink's own JDBC sink table equals the expected table too;
#   - the change messages per row kind on each topic are reported;
#   - psql's sql/validate.sql and flinkpg-generator --validate give the same numbers;
#   - the same results in Confluent Cloud's shape (epoch-ms TIMESTAMP_LTZ, registry
#     framing, the op header, except-key values) give the exact table too.
# Peers are started when not running and stopped again at the end.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/e2e.sh"
defer e2e_peers_down
defer e2e_cleanup
t0=$SECONDS
e2e_peers_up
new_db
for t in up_changelog rt_changelog rt_ignorekind up_ignorekind jdbc_ref; do e2e_target $t keyed; done
for t in up_insertall rt_insertall; do e2e_target $t keyless; done
UP=$E2E_ID-upsert RT=$E2E_ID-retract
e2e_topic "$UP"
e2e_topic "$RT"
e2e_inputs
e2e_submit upsert "$UP" "$E2E_ID-upsert" || exit 1
e2e_submit retract "$RT" "$E2E_ID-retract" || exit 1
e2e_submit jdbc jdbc_ref "$E2E_ID-jdbc" || exit 1
e2e_sink up_changelog "$UP" up_changelog upsert changelog
e2e_sink rt_changelog "$RT" rt_changelog debezium changelog
sleep 3
# the whole scenario while the jobs run (inserts, amendments, cancellations,
# out-of-order shipments: the join retracts), paced over a few seconds
e2e_generate --rate 250
check "the generator wrote the expected table" test "$(psql -X -A -t -c 'SELECT count(*) FROM expected')" -gt 0
# the wire format sql/flink/sources.sql reads: key a JSON object holding the id,
# timestamps ISO-8601 UTC with a Z (the tables above converging proves Flink parsed them)
check "every generated key is {\"order_id\":N} or {\"shipment_id\":N}" \
  awk -F'\t' -v o="$ORDERS_TOPIC" -v s="$SHIPMENTS_TOPIC" '!(($1 == o && $2 ~ /^[{]"order_id":[0-9]+[}]$/) || ($1 == s && $2 ~ /^[{]"shipment_id":[0-9]+[}]$/)) { print; bad = 1 } END { exit bad }' "$E2E_TMP/events.tsv"
check "every generated timestamp is ISO-8601 UTC with a Z" \
  awk -F'\t' '{ s = $3; while (match(s, /"(created|updated)_at":"[^"]*"/)) { t = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH); if (t !~ /"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z"$/) { print t; bad = 1 } } } END { exit bad }' "$E2E_TMP/events.tsv"
tomb=$(awk -F'\t' '$3 == "" { print $1 }' "$E2E_TMP/events.tsv" | sort -u | tr '\n' ' ')
check_eq "tombstones (null values) on both input topics" "$ORDERS_TOPIC $SHIPMENTS_TOPIC " "$tomb"
e2e_log "generated; waiting for the tables to converge"

v=$(e2e_wait_exact up_changelog 180); check_eq "upsert topic, changelog policy: exact ($v)" 0 $?
v=$(e2e_wait_exact rt_changelog 120); check_eq "retract topic, changelog policy: exact ($v)" 0 $?
v=$(e2e_wait_exact jdbc_ref 60); check_eq "Flink JDBC sink table: exact ($v)" 0 $?

# the topics are complete now: the naive policies read them to the end
e2e_sink up_insertall "$UP" up_insertall upsert insert-all --exit-at-eof
e2e_sink rt_insertall "$RT" rt_insertall debezium insert-all --exit-at-eof
e2e_sink rt_ignorekind "$RT" rt_ignorekind debezium upsert-ignore-kind --exit-at-eof
e2e_sink up_ignorekind "$UP" up_ignorekind upsert upsert-ignore-kind --exit-at-eof
for s in up_insertall rt_insertall rt_ignorekind up_ignorekind; do
  check "sink $s reads the transactional topic to its end and exits 0 (--exit-at-eof)" e2e_sink_wait $s
  check "sink $s reports lag 0 at the end (commit markers are not lag)" \
    grep -q 'event=sink_stopped reason=eof.* lag=0 ' "$E2E_TMP/sink.$s.log"
done

v=$(e2e_validate up_insertall); echo "  upsert  insert-all:          $v"
[ "$(e2e_field "$v" duplicate_keys)" -gt 0 ] && [ "$(e2e_field "$v" surplus_rows)" -gt 0 ]
check_eq "upsert topic, insert-all: duplicate keys (every version kept)" 0 $?
[ "$(e2e_field "$v" unexpected)" -gt 0 ]
check_eq "upsert topic, insert-all: deleted rows stay (tombstones are not rows)" 0 $?
check_eq "upsert topic, insert-all: verdict FAIL" FAIL "$(e2e_field "$v" verdict)"
v=$(e2e_validate rt_insertall); echo "  retract insert-all:          $v"
[ "$(e2e_field "$v" duplicate_keys)" -gt 0 ] && [ "$(e2e_field "$v" unexpected)" -gt 0 ]
check_eq "retract topic, insert-all: duplicate keys and deleted rows" 0 $?
check_eq "retract topic, insert-all: verdict FAIL" FAIL "$(e2e_field "$v" verdict)"
v=$(e2e_validate rt_ignorekind); echo "  retract upsert-ignore-kind:  $v"
[ "$(e2e_field "$v" unexpected)" -gt 0 ] && [ "$(e2e_field "$v" duplicate_keys)" -eq 0 ]
check_eq "retract topic, upsert-ignore-kind: rows that should have been deleted remain" 0 $?
check_eq "retract topic, upsert-ignore-kind: verdict FAIL" FAIL "$(e2e_field "$v" verdict)"
v=$(e2e_validate up_ignorekind); echo "  upsert  upsert-ignore-kind:  $v"
e2e_is_exact "$v"
check_eq "upsert topic, upsert-ignore-kind: PASS (deletes travel as tombstones)" 0 $?

# ---- Confluent-shaped: the same results with the types and encodings of
# Confluent Cloud's Flink ('json-registry'), through the Schema Registry
# stand-in, into the sink ----
# Confluent Cloud cannot run here, so the Confluent-shaped topics are produced
# from the Apache Flink topics above, record by record, keeping partition
# order per key: TIMESTAMP_LTZ as epoch milliseconds (Confluent's JSON_SR
# mapping, title org.apache.kafka.connect.data.Timestamp, connect.type int64),
# DECIMAL as the number Flink wrote, key and value framed with the ids the
# registry stand-in gave the schemas Confluent's Flink registers; retract: a
# debezium "c" becomes op header 0 (+I) with the row, a "d" op header 3 (-D)
# with the row before (the same change for the sink: Apache Flink's
# debezium-json writes every -U/+U pair as d/c); upsert: the value without
# the key columns (Confluent's default value.fields-include = except-key),
# tombstones kept.  Faithful for what the sink sees: the bytes, headers and
# types Confluent documents; what changes the rows is still real Flink's join.
"$TOOLS/fakesr" --user srkey --password srsecret --port-file "$E2E_TMP/srport" >/dev/null 2>"$E2E_TMP/fakesr.log" &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$E2E_TMP/srport" ] && break; sleep 0.05; done
SR=http://127.0.0.1:$(cat "$E2E_TMP/srport")
sr_register() { # subject fields-json(name -> type) required-json: the schema id
  jq -nc --argjson f "$2" --argjson r "$3" '{schemaType: "JSON", schema: ({type: "object", title: "Record",
    additionalProperties: false, required: $r, properties: ($f | to_entries | to_entries | map(. as $e | {key: $e.value.key,
    value: ((if ($r | index($e.value.key)) then $e.value.value else {oneOf: [{type: "null"}, $e.value.value]} end)
    + {"connect.index": $e.key})}) | from_entries)} | tojson)}' |
    curl -fsS -u srkey:srsecret -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d @- "$SR/subjects/$1/versions" | jq -r .id; }
I64='{"type":"number","connect.type":"int64"}' I32='{"type":"number","connect.type":"int32"}' STR='{"type":"string"}'
DEC='{"type":"number","title":"org.apache.kafka.connect.data.Decimal","connect.type":"bytes","connect.parameters":{"connect.decimal.precision":"12","scale":"2"}}'
TS='{"type":"number","title":"org.apache.kafka.connect.data.Timestamp","connect.type":"int64"}'
KEYF="{\"order_id\":$I64,\"shipment_id\":$I64}"
ROWF="{\"customer\":$STR,\"product\":$STR,\"quantity\":$I32,\"amount\":$DEC,\"order_status\":$STR,\"carrier\":$STR,\"shipment_status\":$STR,\"order_updated_at\":$TS,\"shipment_updated_at\":$TS}"
CCU=$E2E_ID-cc-upsert CCR=$E2E_ID-cc-retract
ksr_u=$(sr_register "$CCU-key" "$KEYF" '["order_id","shipment_id"]')
vsr_u=$(sr_register "$CCU-value" "$ROWF" '[]')
ksr_r=$(sr_register "$CCR-key" "$KEYF" '["order_id","shipment_id"]')
vsr_r=$(sr_register "$CCR-value" "$(jq -nc --argjson k "$KEYF" --argjson r "$ROWF" '$k + $r')" '["order_id","shipment_id"]')
check "the registry stand-in took the result tables' schemas" test -n "$ksr_u" -a -n "$vsr_u" -a -n "$ksr_r" -a -n "$vsr_r"
cc_shape() { # apache-topic upsert|retract ksr vsr: kproduce lines of the Confluent-shaped topic
  "$TOOLS/kconsume" -b "$KAFKA_PLAIN" -t "$1" | sed -E 's/^[0-9]+ [0-9]+ ([^ ]+) (.*)$/{"k":\1,"v":\2}/' |
    jq -c --arg mode "$2" --argjson ksr "$3" --argjson vsr "$4" '
      def ms: if type == "string" then
          (. as $s | [capture("^(?<d>[0-9]{4}-[0-9]{2}-[0-9]{2})[ T](?<t>[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.(?<f>[0-9]+))?Z$")]
           | if length == 1 then .[0] | ((.d + "T" + .t + "Z") | fromdateiso8601) * 1000
               + (((.f // "0") + "00")[0:3] | tonumber) else $s end)
        else . end;
      def conf: with_entries(if (.key | test("_at$")) then .value |= ms else . end);
      if $mode == "retract" then
        if .v.op == "c" then {k, ksr: $ksr, v: (.v.after | conf), vsr: $vsr, op: 0}
        else {k, ksr: $ksr, v: (.v.before | conf), vsr: $vsr, op: 3} end
      elif .v == null then {k, ksr: $ksr, v: null}
      else {k, ksr: $ksr, v: (.v | del(.order_id, .shipment_id) | conf), vsr: $vsr} end'; }
e2e_topic "$CCU"
e2e_topic "$CCR"
cc_shape "$UP" upsert "$ksr_u" "$vsr_u" >"$E2E_TMP/cc-upsert.jsonl"
cc_shape "$RT" retract "$ksr_r" "$vsr_r" >"$E2E_TMP/cc-retract.jsonl"
check "Confluent-shaped upsert topic: every change copied" test "$(wc -l <"$E2E_TMP/cc-upsert.jsonl")" -gt 0
check "its times are epoch milliseconds" bash -c "jq -e 'select(.v != null) | .v.order_updated_at | type == \"number\"' '$E2E_TMP/cc-upsert.jsonl' >/dev/null"
"$TOOLS/kproduce" -b "$KAFKA_PLAIN" -t "$CCU" -f "$E2E_TMP/cc-upsert.jsonl" || fail "producing $CCU"
"$TOOLS/kproduce" -b "$KAFKA_PLAIN" -t "$CCR" -f "$E2E_TMP/cc-retract.jsonl" || fail "producing $CCR"
for t in cc_upsert cc_retract; do e2e_target $t keyed; done
e2e_sink cc_upsert "$CCU" cc_upsert upsert changelog --key-format registry --value-format registry --exit-at-eof
e2e_sink cc_retract "$CCR" cc_retract retract changelog --key-format registry --value-format registry --exit-at-eof
for s in cc_upsert cc_retract; do
  check "sink $s (registry key and value) reads the Confluent-shaped topic and exits 0" e2e_sink_wait $s
  check_eq "sink $s dead-lettered nothing" 0 "$(psql -X -A -t -c "SELECT count(*) FROM flinkpg_dead_letters WHERE target_table = '$s'")"
done
v=$(e2e_validate cc_upsert); check "Confluent-shaped upsert topic (epoch-ms times, except-key values): exact ($v)" e2e_is_exact "$v"
v=$(e2e_validate cc_retract); check "Confluent-shaped retract topic (op header, epoch-ms times): exact ($v)" e2e_is_exact "$v"

# the C validation (common/validate.c) agrees with psql's sql/validate.sql
for t in up_changelog rt_ignorekind rt_insertall; do
  c=$("$BIN/flinkpg-generator" --validate --postgres "" --target-table $t --expected-table expected 2>/dev/null)
  v=$(e2e_validate $t)
  ok=0
  for f in rows_expected rows_present missing unexpected wrong_values duplicate_keys surplus_rows verdict; do
    [ "$(e2e_field "$c" $f)" = "$(e2e_field "$v" $f)" ] || ok=1
  done
  check_eq "flinkpg-generator --validate agrees with sql/validate.sql on $t ($c)" 0 $ok
done

e2e_sink_stop up_changelog
e2e_sink_stop rt_changelog
ku=$(e2e_kinds up_changelog) kr=$(e2e_kinds rt_changelog)
echo "  change messages on the upsert topic:  $ku"
echo "  change messages on the retract topic: $kr"
ru=$(sed -n 's/.*records=\([0-9]*\).*/\1/p' <<<"$ku") rr=$(sed -n 's/.*records=\([0-9]*\).*/\1/p' <<<"$kr")
# (no ordering between the two totals is asserted: how many intermediate -D/+I
# pairs the join emits depends on how the two inputs interleave in each run)
[ -n "$ru" ] && [ -n "$rr" ] && [ "$ru" -gt 0 ] && [ "$rr" -gt 0 ]
check_eq "both topics carried messages (upsert $ru, retract $rr)" 0 $?
[ "$(sed -n 's/.*-D=\([0-9]*\).*/\1/p' <<<"$ku")" -gt 0 ] && [ "$(sed -n 's/.*upsert=\([0-9]*\).*/\1/p' <<<"$ku")" -gt 0 ]
check_eq "the upsert topic carries upserts and tombstones" 0 $?
[[ "$kr" == *"-D="* ]] && [ "$(sed -n 's/.*-D=\([0-9]*\).*/\1/p' <<<"$kr")" -gt 0 ]
check_eq "the retract topic carries retractions" 0 $?
e2e_log "e2e_modes took $((SECONDS - t0)) s"
