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
#   - psql's sql/validate.sql and flinkpg-generator --validate give the same numbers.
# Peers are started when not running and stopped again at the end.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../e2e/lib.sh"
trap 'e2e_cleanup; e2e_peers_down; cleanup' EXIT
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
