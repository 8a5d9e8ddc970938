#!/usr/bin/env bash
# Schema Registry JSON: the generator registers the JSON Schemas of
# <topic>-key and <topic>-value and frames every key and value with the wire
# header.  The registry is tests/tools/fakesr, a stand-in written from
# Confluent's published Schema Registry API reference (no real one runs here).
# Also: bad credentials (401) and an unreachable registry fail clearly.
source "$(dirname "$0")/../lib.sh"
start_mockkafka sr_o:2 sr_s:2
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
check_eq "the registered value schema is the order's JSON Schema" "integer number" \
  "$(curl -s -u srkey:srsecret "$SR/schemas/ids/2" | jq -r '.schema | fromjson | "\(.properties.order_id.type) \(.properties.amount.type)"')"
dump sr_o > "$T_TMP/o.dump"; dump sr_s > "$T_TMP/s.dump"
check_eq "every order key framed with schema 1" 0 "$(grep -vc ' \[sr=1\]{"order_id"' "$T_TMP/o.dump")"
check_eq "every order value framed with schema 2 or a null tombstone" 0 \
  "$(grep -vcE ' (\[sr=2\]\{"order_id"|null$)' "$T_TMP/o.dump")"
check_eq "every shipment key framed with schema 3" 0 "$(grep -vc ' \[sr=3\]{"shipment_id"' "$T_TMP/s.dump")"
check "a second run looks the same schemas up: same ids" bash -c \
  "'$BIN/flinkpg-generator' -b '$BOOTSTRAP' --progress never --orders-topic sr_o --shipments-topic sr_s --format registry \
   --schema-registry-url '$SR' --schema-registry-key srkey --schema-registry-secret srsecret --orders 1 2>&1 | grep -q 'subject=sr_s-value schema_id=4'"
# the framing, byte by byte: magic 0, big-endian id, then the JSON
"$BIN/flinkpg-generator" -b "$BOOTSTRAP" --progress never --orders-topic sr_o --shipments-topic sr_s --format registry \
  --schema-registry-url "$SR" --schema-registry-key srkey --schema-registry-secret srsecret --orders 1 --count 1 2>/dev/null
check "wire header bytes are 00 00 00 00 02 then '{'" bash -c \
  "'$TOOLS/kconsume' -b '$BOOTSTRAP' -t sr_o | tail -n 1 | grep -q ' \[sr=2\]{'"

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
