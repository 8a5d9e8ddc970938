#!/usr/bin/env bash
# Schema Registry JSON: the generator registers the JSON Schemas of
# <topic>-key and <topic>-value and frames every key and value with the wire
# header.  The registry is tests/tools/fakesr, a stand-in written from
# Confluent's published Schema Registry API reference (no real one runs here).
# The schemas are the ones Confluent Cloud's Flink registers for the tables
# of sql/confluent/sources.sql (TIMESTAMP_LTZ as epoch-ms numbers), a subject
# that exists (a CREATE TABLE ran first) is adopted and its types followed,
# and the stand-in refuses an incompatible schema (409) as the registry does.
# Also: bad credentials (401), a rate limit (429, retried) and an unreachable
# registry.
source "$(dirname "$0")/../lib/common.sh"
start_mockkafka sr_o:2 sr_s:2 ad_o:1 ad_s:1
"$TOOLS/fakesr" --user srkey --password srsecret --port-file "$T_TMP/srport" >/dev/null 2>"$T_TMP/fakesr.log" &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_TMP/srport" ] && break; sleep 0.05; done
SR=http://127.0.0.1:$(cat "$T_TMP/srport")
gen() { "$BIN/flinkpg-generator" -b "$BOOTSTRAP" --progress never --orders-topic sr_o --shipments-topic sr_s \
  --format registry --schema-registry-url "$SR" "$@"; }
dump() { "$TOOLS/kconsume" -b "$BOOTSTRAP" -t "$1"; }

gen --schema-registry-key srkey --schema-registry-secret srsecret --orders 20 2>"$T_TMP/gen.log"
check_eq "registry format: exits 0" 0 $?
check_eq "four subjects registered" '["sr_o-key","sr_o-value","sr_s-key","sr_s-value"]' \
  "$(curl -s -u srkey:srsecret "$SR/subjects" | jq -c 'sort')"
ids=$(grep -o 'event=schema_registered subject=[a-z_-]* schema_id=[0-9]*' "$T_TMP/gen.log" | sed 's/.*subject=//; s/ schema_id=/=/' | sort | tr '\n' ' ')
check_eq "schema ids as the registry assigned them" "sr_o-key=1 sr_o-value=2 sr_s-key=3 sr_s-value=4 " "$ids"
check_eq "the registered value schema is the one Confluent's Flink registers for orders" \
  "Record number/int64 org.apache.kafka.connect.data.Decimal/12/2 org.apache.kafka.connect.data.Timestamp/int64 [\"order_id\"] false" \
  "$(curl -s -u srkey:srsecret "$SR/schemas/ids/2" | jq -r '.schema | fromjson | "\(.title) \(.properties.order_id.type)/\(.properties.order_id["connect.type"]) \(.properties.amount.oneOf[1].title)/\(.properties.amount.oneOf[1]["connect.parameters"]["connect.decimal.precision"])/\(.properties.amount.oneOf[1]["connect.parameters"].scale) \(.properties.created_at.oneOf[1].title)/\(.properties.created_at.oneOf[1]["connect.type"]) \(.required | tojson) \(.additionalProperties)"')"
dump sr_o > "$T_TMP/o.dump"; dump sr_s > "$T_TMP/s.dump"
check_eq "every order key framed with schema 1" 0 "$(grep -vc ' \[sr=1\]{"order_id"' "$T_TMP/o.dump")"
check_eq "every order value framed with schema 2 or a null tombstone" 0 \
  "$(grep -vcE ' (\[sr=2\]\{"order_id"|null$)' "$T_TMP/o.dump")"
check_eq "every shipment key framed with schema 3" 0 "$(grep -vc ' \[sr=3\]{"shipment_id"' "$T_TMP/s.dump")"
check_eq "times go out as epoch milliseconds (TIMESTAMP_LTZ), amounts as numbers" 0 \
  "$(grep ' \[sr=2\]{' "$T_TMP/o.dump" | grep -vcE '"amount":[0-9]+\.[0-9]{2},.*"created_at":1[0-9]{12},"updated_at":1[0-9]{12}\}$')"
check "no ISO time string is left in the registry-framed values" bash -c "! grep -q '_at\":\"' '$T_TMP/o.dump' '$T_TMP/s.dump'"
check "a second run looks the same schemas up: same ids" bash -c \
  "'$BIN/flinkpg-generator' -b '$BOOTSTRAP' --progress never --orders-topic sr_o --shipments-topic sr_s --format registry \
   --schema-registry-url '$SR' --schema-registry-key srkey --schema-registry-secret srsecret --orders 1 2>&1 | grep -q 'subject=sr_s-value schema_id=4'"
# the framing, byte by byte: magic 0, big-endian id, then the JSON
"$BIN/flinkpg-generator" -b "$BOOTSTRAP" --progress never --orders-topic sr_o --shipments-topic sr_s --format registry \
  --schema-registry-url "$SR" --schema-registry-key srkey --schema-registry-secret srsecret --orders 1 --count 1 2>/dev/null
check "wire header bytes are 00 00 00 00 02 then '{'" bash -c \
  "'$TOOLS/kconsume' -b '$BOOTSTRAP' -t sr_o | tail -n 1 | grep -q ' \[sr=2\]{'"

# a subject that exists (CREATE TABLE registered it) is adopted and followed:
# here a value schema that keeps created_at as text (a table declared with
# STRING) -- the generator uses its id and writes that field as text
jq -nc '{schemaType: "JSON", schema: ({type: "object", title: "Record", additionalProperties: false,
  properties: {order_id: {type: "number", "connect.type": "int64"}, created_at: {type: "string"},
  updated_at: {oneOf: [{type: "null"}, {type: "number", title: "org.apache.kafka.connect.data.Timestamp", "connect.type": "int64"}]}}} | tojson)}' |
  curl -s -u srkey:srsecret -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d @- "$SR/subjects/ad_o-value/versions" >"$T_TMP/ad.id"
adopted=$(jq -r .id "$T_TMP/ad.id")
"$BIN/flinkpg-generator" -b "$BOOTSTRAP" --progress never --orders-topic ad_o --shipments-topic ad_s --format registry \
  --schema-registry-url "$SR" --schema-registry-key srkey --schema-registry-secret srsecret --orders 3 2>"$T_TMP/ad.log"
check "an existing subject is adopted with its id" grep -q "event=schema_adopted subject=ad_o-value schema_id=$adopted " "$T_TMP/ad.log"
check "the missing ones are registered" grep -q 'event=schema_registered subject=ad_s-value' "$T_TMP/ad.log"
dump ad_o >"$T_TMP/ad.dump"
check "its types are followed: created_at text, updated_at epoch ms" \
  grep -qE "\[sr=$adopted\]\{.*\"created_at\":\"20[0-9-]+T[0-9:.]+Z\",\"updated_at\":1[0-9]{12}\}" "$T_TMP/ad.dump"
# the registry refuses what is incompatible (BACKWARD, its default): the
# schema an earlier generator registered (times as date-time strings) under a
# subject Flink's CREATE TABLE registered
old='{"type":"object","properties":{"order_id":{"type":"integer"},"created_at":{"type":"string","format":"date-time"}},"required":["order_id"]}'
code=$(jq -nc --arg s "$old" '{schemaType: "JSON", schema: $s}' | curl -s -o "$T_TMP/409.json" -w '%{http_code}' -u srkey:srsecret \
  -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d @- "$SR/subjects/sr_o-value/versions")
check_eq "an incompatible schema under an existing subject: 409" 409 "$code"
check "with the registry's error code and message" \
  jq -e '.error_code == 409 and (.message | startswith("Schema being registered is incompatible with an earlier schema for subject \"sr_o-value\""))' "$T_TMP/409.json"
# bad credentials: 401 named, no retry, secret not printed, exit 2
out=$(gen --schema-registry-key srkey --schema-registry-secret wrong-secret-xyz --orders 1 2>&1); rc=$?
check_eq "bad credentials: exit 2" 2 "$rc"
check "bad credentials: HTTP 401 and the registry's message" grep -q 'HTTP 401 (check the API key and secret): Unauthorized' <<< "$out"
check "bad credentials: the secret is never printed" bash -c "! grep -q wrong-secret-xyz <<< '$out'"
check_eq "bad credentials: nothing produced" "$(wc -l < "$T_TMP/o.dump")" "$(($(dump sr_o | wc -l) - 2))"
# unreachable registry: retried with backoff, then a clear error
out=$(gen --schema-registry-url http://127.0.0.1:1 --schema-registry-key k --schema-registry-secret s --orders 1 2>&1); rc=$?
check_eq "unreachable registry: exit 2" 2 "$rc"
check "unreachable registry: retries are logged" grep -q 'event=schema_registry_unavailable .*attempt=4' <<< "$out"
check "unreachable registry: the error names the registry and the subject" \
  grep -q 'Schema Registry http://127.0.0.1:1 unreachable for subject sr_o-key after 5 attempts' <<< "$out"
out=$("$BIN/flinkpg-generator" --format registry --orders 1 2>&1); rc=$?
check "--format registry without a URL names the flag" test "$rc" = 2 -a -n "$(grep -- '--schema-registry-url' <<< "$out")"
# a rate limit (429, Confluent Cloud's): retried after Retry-After
curl -s -u srkey:srsecret -X POST "$SR/_fakesr/inject?count=2" >/dev/null
gen --schema-registry-key srkey --schema-registry-secret srsecret --orders 1 --count 1 >"$T_TMP/429.log" 2>&1
check_eq "429 twice: the generator still succeeds" 0 $?
check_eq "each 429 retried, logged as throttled" 2 "$(grep -c 'event=schema_registry_throttled.*HTTP 429' "$T_TMP/429.log")"
