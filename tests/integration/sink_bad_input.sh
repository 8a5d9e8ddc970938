#!/usr/bin/env bash
# Bad input loses nothing: each kind of bad record lands in the dead-letter
# table with its reason, raw bytes and headers, in the same transaction; the
# good records around it are applied; the offset moves past it.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka bad registry cc
q "CREATE TABLE bad (id bigint PRIMARY KEY, name text, qty int, day date)"

big=$(head -c 400 /dev/zero | tr '\0' 'x')
cat > "$T_TMP/bad.jsonl" <<J
{"k":{"id":1},"v":{"id":1,"name":"good1","qty":1},"op":0}
{"k":{"id":2},"vraw":"{\"id\":2,\"name\":","op":0}
{"k":{"id":3},"v":{"id":3,"name":"good3","qty":3},"op":0}
{"v":{"name":"no key anywhere","qty":4},"op":0}
{"k":{"id":5},"v":{"id":5,"name":"x","qty":"many"},"op":0}
{"k":{"id":6},"v":{"id":6,"name":"x","qty":6},"op":9}
{"k":{"id":7},"v":{"id":7,"name":"x","colour":"red"},"op":0}
{"k":{"id":8},"v":{"id":8,"name":"$big"},"op":0}
{"k":{"id":9},"v":{"id":9,"name":"x","qty":99999999999},"op":0}
{"k":{"id":10},"v":{"id":10,"name":"x","day":"not-a-date"},"op":0}
{"k":{"id":11},"v":{"id":11,"name":"x","qty":11},"ophex":"0203"}
{"k":{"id":12},"v":{"id":12,"name":"good12","qty":12,"day":"2026-11-22"},"op":0}
{"k":{"id":1},"v":{"id":1,"name":"good1","qty":1},"op":1}
{"k":{"id":1},"v":{"id":1,"name":"good1b","qty":100},"op":2}
J
kproduce -t bad -f "$T_TMP/bad.jsonl" 2>/dev/null || fail "produce"
sink -t bad -g g1 -T bad -e retract --max-record-bytes 300 --exit-at-eof 2>"$T_TMP/sink.log"
check_eq "sink exits 0 despite bad records" 0 $?
check_eq "good records around the bad ones are applied" \
  "1:good1b:100 3:good3:3 12:good12:12" \
  "$(q "SELECT string_agg(id || ':' || name || ':' || qty, ' ' ORDER BY id) FROM bad")"
check_eq "nine bad records dead-lettered" 9 "$(q "SELECT count(*) FROM flinkpg_dead_letters")"

reason() { q "SELECT reason FROM flinkpg_dead_letters WHERE kafka_offset = $1"; }
like() {  # name, offset, pattern
  local r; r=$(reason "$2")
  if [[ "$r" == *"$3"* ]]; then pass "$1"; else fail "$1: reason was [$r]"; fi
}
like "malformed JSON"                 1 "malformed JSON in value"
like "missing key column"             3 'key column "id" is missing'
like "wrong type"                     4 'wrong type for column "qty" (integer): string "many"'
like "unknown op byte"                5 "unknown op header byte 0x09"
like "column the table lacks"         6 'field "colour" has no column in table "bad"'
like "value too large"                7 "value too large"
like "integer out of range (PostgreSQL refuses)" 8 'postgres rejected the row: ERROR:  value "99999999999" is out of range for type integer'
like "bad date (PostgreSQL refuses)"  9 'postgres rejected the row: ERROR:  invalid input syntax for type date: "not-a-date"'
like "op header of two bytes"         10 "op header must be one byte, got 2 bytes"

check_eq "raw value kept byte for byte" '{"id":2,"name":' \
  "$(q "SELECT convert_from(raw_value, 'UTF8') FROM flinkpg_dead_letters WHERE kafka_offset = 1")"
check_eq "raw key kept" '{"id":2}' \
  "$(q "SELECT convert_from(raw_key, 'UTF8') FROM flinkpg_dead_letters WHERE kafka_offset = 1")"
check_eq "headers kept (hex)" '[{"hex": "09", "key": "op"}]' \
  "$(q "SELECT headers FROM flinkpg_dead_letters WHERE kafka_offset = 5")"
check_eq "dead letter names topic, partition and table" "bad|0|bad|g1" \
  "$(q "SELECT topic || '|' || partition || '|' || target_table || '|' || group_id FROM flinkpg_dead_letters WHERE kafka_offset = 4")"
check_eq "offset moves past the bad records" 14 "$(q "SELECT next_offset FROM flinkpg_sink_offsets WHERE group_id = 'g1'")"
check "each dead letter is logged with its reason" grep -q 'event=dead_letter partition=0 offset=4 reason="wrong type' "$T_TMP/sink.log"
check "summary counts the dead letters" grep -q 'dead_letters=9 ' "$T_TMP/sink.log"

# Schema Registry framing (json-registry): header stripped, except-key merged
q "CREATE TABLE reg (id bigint PRIMARY KEY, name text, qty int)"
cat > "$T_TMP/reg.jsonl" <<'J'
{"k":{"id":1},"ksr":100001,"v":{"name":"a","qty":1},"vsr":100002,"op":0}
{"k":{"id":2},"ksr":100001,"v":{"name":"b","qty":2},"vsr":100002,"op":0}
{"k":{"id":1},"ksr":100001,"v":{"name":"a","qty":1},"vsr":100002,"op":1}
{"k":{"id":1},"ksr":100001,"v":{"name":"a","qty":7},"vsr":100002,"op":2}
{"k":{"id":3},"ksr":100001,"vhex":"01000000017b7d","op":0}
{"k":{"id":4},"ksr":100001,"v":{"name":"plain json, no header","qty":4},"op":0}
{"k":{"id":2},"ksr":100001,"v":{"name":"b","qty":2},"vsr":100002,"op":3}
J
kproduce -t registry -f "$T_TMP/reg.jsonl" 2>/dev/null || fail "produce registry"
sink -t registry -g g2 -T reg -e retract --key-format registry --value-format registry --exit-at-eof 2>"$T_TMP/reg.log"
check_eq "registry sink exits 0" 0 $?
check_eq "registry-framed key and value decoded, key merged into row" "1:a:7" \
  "$(q "SELECT string_agg(id || ':' || name || ':' || qty, ' ' ORDER BY id) FROM reg")"
like "bad magic byte dead-lettered" "4 AND target_table = 'reg'" "magic byte is 0x01"
check_eq "value without registry header dead-lettered" 1 \
  "$(q "SELECT count(*) FROM flinkpg_dead_letters WHERE target_table = 'reg' AND kafka_offset = 5 AND reason LIKE 'bad value: schema registry header: magic byte is 0x7b%'")"

# What Confluent Cloud's Flink writes with 'json-registry': TIMESTAMP_LTZ as
# epoch milliseconds, DECIMAL as a plain number, the row kind in the op
# header.  The column's type decides: a number into timestamptz/timestamp is
# epoch ms, into date epoch days; ISO text still passes.  The schema id may
# travel in a __value_schema_id header (0x01 + GUID) with a bare JSON value.
q "CREATE TABLE cc (order_id bigint, shipment_id bigint, amount numeric(12,2), order_updated_at timestamptz,
   local_at timestamp, day date, PRIMARY KEY (order_id, shipment_id))"
cat > "$T_TMP/cc.jsonl" <<'J'
{"k":{"order_id":1,"shipment_id":0},"ksr":7,"v":{"order_id":1,"shipment_id":0,"amount":12.50,"order_updated_at":1733565600123,"local_at":1733565600123,"day":20064},"vsr":8,"op":0}
{"k":{"order_id":2,"shipment_id":0},"ksr":7,"v":{"order_id":2,"shipment_id":0,"amount":3,"order_updated_at":-1,"day":0},"vsr":8,"op":0}
{"k":{"order_id":3,"shipment_id":0},"ksr":7,"v":{"order_id":3,"shipment_id":0,"order_updated_at":"2026-12-07T10:00:00.5Z"},"vsr":8,"op":0}
{"k":{"order_id":4,"shipment_id":0},"ksr":7,"v":{"order_id":4,"shipment_id":0,"order_updated_at":1.5},"vsr":8,"op":0}
{"k":{"order_id":5,"shipment_id":0},"ksr":7,"v":{"order_id":5,"shipment_id":0,"amount":1},"vsidhex":"019f1c02030405060708090a0b0c0d0e0f","op":0}
{"k":{"order_id":6,"shipment_id":0},"ksr":7,"v":{"order_id":6,"shipment_id":0},"vsidhex":"0102","op":0}
J
kproduce -t cc -f "$T_TMP/cc.jsonl" 2>/dev/null || fail "produce confluent-shaped"
sink -t cc -g g3 -T cc -e retract --key-format registry --value-format registry --exit-at-eof 2>"$T_TMP/cc.log"
check_eq "Confluent-shaped records: epoch ms into timestamptz and timestamp, epoch days into date" \
  "1|12.50|2024-12-07 10:00:00.123+00|2024-12-07 10:00:00.123|2024-12-07 2|3.00|1969-12-31 23:59:59.999+00||1970-01-01 3||2026-12-07 10:00:00.5+00|| 5|1.00|||" \
  "$(PGTZ=UTC q "SELECT string_agg(concat_ws('|', order_id, coalesce(amount::text, ''), coalesce(order_updated_at::text, ''), coalesce(local_at::text, ''), coalesce(day::text, '')), ' ' ORDER BY order_id) FROM cc")"
like "a fraction of a millisecond dead-lettered, naming the column" "3 AND target_table = 'cc'" 'column "order_updated_at"'
like "a __value_schema_id header of another shape dead-lettered" "5 AND target_table = 'cc'" 'bad value: schema id header: 2 bytes starting 0x01'
