#!/usr/bin/env bash
# Every encoding × every apply policy, on keyed and keyless tables, against
# real PostgreSQL.  One scripted changelog per encoding — inserts, updates,
# deletes, a delete of a never-inserted key, a -U with no +U, duplicate
# inserts — and the final table each case must hold, written out by hand.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka retract debezium upsert append

# The logical changelog (12 changes), as retract and as debezium-json:
#   +I 1a1  +I 2b2  -U 1a1  +U 1a10  -D 2b2  -D 3c3 (never inserted)
#   +I 4d4  -U 4d4 (no +U follows)  +I 5e5  +I 6f6  +I 6f6  -D 6f6
changes="0 1 a 1|0 2 b 2|1 1 a 1|2 1 a 10|3 2 b 2|3 3 c 3|0 4 d 4|1 4 d 4|0 5 e 5|0 6 f 6|0 6 f 6|3 6 f 6"
IFS='|' read -ra lines <<< "$changes"
for l in "${lines[@]}"; do
  read -r op id name qty <<< "$l"
  row="{\"id\":$id,\"name\":\"$name\",\"qty\":$qty}"
  echo "{\"k\":{\"id\":$id},\"v\":$row,\"op\":$op}" >> "$T_TMP/retract.jsonl"
  if [ "$op" = 0 ] || [ "$op" = 2 ]; then
    echo "{\"v\":{\"before\":null,\"after\":$row,\"op\":\"c\"}}" >> "$T_TMP/debezium.jsonl"
  else
    echo "{\"v\":{\"before\":$row,\"after\":null,\"op\":\"d\"}}" >> "$T_TMP/debezium.jsonl"
  fi
done
# upsert-kafka style: values without the key column (except-key), tombstones delete
cat > "$T_TMP/upsert.jsonl" <<'J'
{"k":{"id":1},"v":{"name":"a","qty":1}}
{"k":{"id":2},"v":{"name":"b","qty":2}}
{"k":{"id":1},"v":{"name":"a","qty":10}}
{"k":{"id":2},"v":null}
{"k":{"id":3},"v":null}
{"k":{"id":4},"v":{"name":"d","qty":4}}
{"k":{"id":5},"v":{"name":"e","qty":5}}
{"k":{"id":4},"v":null}
J
cat > "$T_TMP/append.jsonl" <<'J'
{"v":{"id":1,"name":"a","qty":1}}
{"v":{"id":2,"name":"b","qty":2}}
{"v":{"id":1,"name":"a","qty":10}}
J
for enc in retract debezium upsert append; do
  kproduce -t "$enc" -f "$T_TMP/$enc.jsonl" 2>>"$T_TMP/produce.log" || fail "produce $enc"
done

KEYED="id bigint PRIMARY KEY, name text, qty int"
KEYLESS="id bigint, name text, qty int"
cases=()
# case name | topic/encoding | policy | table columns | expected rows | dead letters | extra flags
add() { cases+=("$1|$2|$3|$4|$5|$6|${7:-}"); }
for enc in retract debezium; do
  add "${enc}_changelog_keyed"     $enc changelog          "$KEYED"   "1:a:10 5:e:5" 0
  add "${enc}_changelog_keyed_b1"  $enc changelog          "$KEYED"   "1:a:10 5:e:5" 0 "--batch-size 1"
  add "${enc}_changelog_keyless"   $enc changelog          "$KEYLESS" "1:a:10 5:e:5 6:f:6" 0
  add "${enc}_changelog_keyless_b1" $enc changelog         "$KEYLESS" "1:a:10 5:e:5 6:f:6" 0 "--batch-size 1"
  add "${enc}_insertall_keyed"     $enc insert-all         "$KEYED"   "1:a:1 2:b:2 3:c:3 4:d:4 5:e:5 6:f:6" 6
  add "${enc}_insertall_keyless"   $enc insert-all         "$KEYLESS" "1:a:1 1:a:1 1:a:10 2:b:2 2:b:2 3:c:3 4:d:4 4:d:4 5:e:5 6:f:6 6:f:6 6:f:6" 0
  add "${enc}_ignorekind_keyed"    $enc upsert-ignore-kind "$KEYED"   "1:a:10 2:b:2 3:c:3 4:d:4 5:e:5 6:f:6" 0
  add "${enc}_ignorekind_declared" $enc upsert-ignore-kind "$KEYLESS" "1:a:10 2:b:2 3:c:3 4:d:4 5:e:5 6:f:6" 0 "--key-columns id"
done
add upsert_changelog_keyed      upsert changelog          "$KEYED"   "1:a:10 5:e:5" 0
add upsert_changelog_keyed_b1   upsert changelog          "$KEYED"   "1:a:10 5:e:5" 0 "--batch-size 1"
add upsert_changelog_declared   upsert changelog          "$KEYLESS" "1:a:10 5:e:5" 0 "--key-columns id"
add upsert_insertall_keyed      upsert insert-all         "$KEYED"   "1:a:1 2:b:2 4:d:4 5:e:5" 1
add upsert_insertall_keyless    upsert insert-all         "$KEYLESS" "1:a:1 1:a:10 2:b:2 4:d:4 5:e:5" 0
add upsert_ignorekind_keyed     upsert upsert-ignore-kind "$KEYED"   "1:a:10 5:e:5" 0
add append_changelog_keyed      append changelog          "$KEYED"   "1:a:10 2:b:2" 0
add append_changelog_keyless    append changelog          "$KEYLESS" "1:a:1 1:a:10 2:b:2" 0
add append_insertall_keyed      append insert-all         "$KEYED"   "1:a:1 2:b:2" 1
add append_insertall_keyless    append insert-all         "$KEYLESS" "1:a:1 1:a:10 2:b:2" 0
add append_ignorekind_keyed     append upsert-ignore-kind "$KEYED"   "1:a:10 2:b:2" 0

# all cases run at once: each sink joins its own consumer group
pids=()
for c in "${cases[@]}"; do
  IFS='|' read -r name enc policy cols want dlq extra <<< "$c"
  q "CREATE TABLE $name ($cols)"
  # shellcheck disable=SC2086
  sink -t "$enc" -g "g_$name" -T "$name" -e "$enc" -p "$policy" --exit-at-eof --run-name "$name" $extra \
    2>"$T_TMP/$name.log" &
  pids+=($!)
done
for i in "${!cases[@]}"; do
  IFS='|' read -r name enc policy cols want dlq extra <<< "${cases[$i]}"
  wait "${pids[$i]}"; rc=$?
  check_eq "$name: sink exits 0" 0 "$rc"
  got=$(q "SELECT coalesce(string_agg(id || ':' || name || ':' || qty, ' ' ORDER BY id, name, qty), '') FROM $name")
  check_eq "$name: final table" "$want" "$got"
  check_eq "$name: dead letters" "$dlq" "$(q "SELECT count(*) FROM flinkpg_dead_letters WHERE target_table = '$name'")"
  [ "$rc" = 0 ] || sed 's/^/    /' "$T_TMP/$name.log" | tail -n 5
done

# the row kinds that crossed the topic are counted in the summary line
check "retract summary counts +I=6 -U=2 +U=1 -D=3" \
  grep -q -- '+I=6 -U=2 +U=1 -D=3 upsert=0' "$T_TMP/retract_changelog_keyed.log"
check "upsert summary counts 5 upserts and 3 deletes" \
  grep -q -- '+I=0 -U=0 +U=0 -D=3 upsert=5' "$T_TMP/upsert_changelog_keyed.log"
check "insert-all skips the 3 upsert tombstones" \
  grep -q -- 'skipped=3' "$T_TMP/upsert_insertall_keyless.log"
check "insert-all into a keyed table dead-letters the duplicates with PostgreSQL's reason" \
  test "$(q "SELECT count(*) FROM flinkpg_dead_letters WHERE target_table = 'retract_insertall_keyed' AND reason LIKE 'postgres rejected the row: %duplicate key%'")" = 6
check "every case committed its offsets to the end of its topic" \
  test "$(q "SELECT count(*) FROM flinkpg_sink_offsets o WHERE next_offset = CASE topic WHEN 'upsert' THEN 8 WHEN 'append' THEN 3 ELSE 12 END")" = "${#cases[@]}"
