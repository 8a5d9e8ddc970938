#!/usr/bin/env bash
# End to end on real Kafka + real Flink: the demo's join in upsert mode
# (upsert-kafka) and retract mode (kafka + debezium-json), submitted through
# flinkpg-statements to the SQL Gateway, applied by flinkpg-sink over SASL/PLAIN.
#   - the changelog policy gives exactly the expected table in both modes;
#   - the naive policies show their damage (insert-all: duplicates and stale
#     rows; upsert-ignore-kind on the retract topic: rows that should be gone);
#   - Flink's own JDBC sink table equals the expected table too;
#   - the change messages per row kind on each topic are reported.
# Peers are started when not running and stopped again at the end.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../e2e/lib.sh"
trap 'e2e_cleanup; e2e_peers_down; cleanup' EXIT
t0=$SECONDS
e2e_peers_up
new_db
e2e_expected_table >/dev/null
for t in up_changelog rt_changelog rt_ignorekind up_ignorekind jdbc_ref; do e2e_target $t keyed; done
for t in up_insertall rt_insertall; do e2e_target $t keyless; done
UP=$E2E_ID-upsert RT=$E2E_ID-retract
e2e_topic "$UP"
e2e_topic "$RT"

e2e_produce 1
e2e_submit upsert "$UP" "$E2E_ID-upsert" || exit 1
e2e_submit retract "$RT" "$E2E_ID-retract" || exit 1
e2e_submit jdbc jdbc_ref "$E2E_ID-jdbc" || exit 1
e2e_sink up_changelog "$UP" up_changelog upsert changelog
e2e_sink rt_changelog "$RT" rt_changelog debezium changelog
sleep 3
e2e_produce 2   # updates and deletes while the jobs run: the join retracts
e2e_log "phase 2 produced; waiting for the tables to converge"

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
[ "$(e2e_field "$v" duplicates)" -gt 0 ] && [ "$(e2e_field "$v" stale)" -gt 0 ]
check_eq "upsert topic, insert-all: duplicates and stale rows" 0 $?
[ "$(e2e_field "$v" unexpected)" -gt 0 ]
check_eq "upsert topic, insert-all: deleted rows stay (tombstones are not rows)" 0 $?
v=$(e2e_validate rt_insertall); echo "  retract insert-all:          $v"
[ "$(e2e_field "$v" duplicates)" -gt 0 ] && [ "$(e2e_field "$v" stale)" -gt 0 ] && [ "$(e2e_field "$v" unexpected)" -gt 0 ]
check_eq "retract topic, insert-all: duplicates, stale and deleted rows" 0 $?
v=$(e2e_validate rt_ignorekind); echo "  retract upsert-ignore-kind:  $v"
[ "$(e2e_field "$v" unexpected)" -gt 0 ] && [ "$(e2e_field "$v" duplicates)" -eq 0 ]
check_eq "retract topic, upsert-ignore-kind: rows that should have been deleted remain" 0 $?
v=$(e2e_validate up_ignorekind); echo "  upsert  upsert-ignore-kind:  $v"
e2e_is_exact "$v"
check_eq "upsert topic, upsert-ignore-kind: exact (deletes travel as tombstones)" 0 $?

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
