#!/usr/bin/env bash
# Kafka over SASL_SSL, in Confluent Cloud's shape, on a real broker
# (tests/peers/kafka.sh in the test's own peers directory: its SASL_SSL
# listener and test CA): the generator produces and the sink consumes into
# PostgreSQL, with SASL/PLAIN and with SASL/SCRAM-SHA-512, exact rows; then a
# wrong CA, an expired broker certificate and a wrong password each end the
# program within seconds, exit 2, with one line (event=kafka_fatal) naming the
# broker and the cause.
# KAFKA_PORT / KAFKA_SASL_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SSL_PORT /
# KAFKA_SSL_EXPIRED_PORT move the broker off its default ports (19092-19096).
source "$(dirname "$0")/../lib/common.sh"
new_db
export FLINKPG_PEERS_DIR=$T_TMP/peers
kafka_down() { "$ROOT/tests/peers/kafka.sh" stop >/dev/null 2>&1 || true; }
defer kafka_down
if ! "$ROOT/tests/peers/kafka.sh" start >"$T_TMP/kafka-start.log" 2>&1; then
  echo "FAIL Kafka did not start (tests/peers/kafka.sh start):"; tail -n 20 "$T_TMP/kafka-start.log" | sed 's/^/  /'; exit 1
fi
# only what this test needs of `env` (the rest, KAFKA_SECURITY_PROTOCOL etc.,
# would be read by the programs)
kenv() { "$ROOT/tests/peers/kafka.sh" env | sed -n "s/^export $1=//p"; }
SSLB=$(kenv KAFKA_SSL_BOOTSTRAP)
EXPB=$(kenv KAFKA_SSL_EXPIRED_BOOTSTRAP)
CA=$(kenv KAFKA_SSL_CA_LOCATION)
check "the broker's CA exists" test -s "$CA"
unset KAFKA_SECURITY_PROTOCOL KAFKA_SASL_MECHANISM KAFKA_API_KEY KAFKA_API_SECRET KAFKA_SSL_CA_LOCATION

tls=(--security-protocol sasl_ssl --api-key flinkpg)
GEN=("$BIN/flinkpg-generator" -b "$SSLB" --progress never "${tls[@]}")
SINK=("$BIN/flinkpg-sink" -b "$SSLB" "${tls[@]}")
gen() { "${GEN[@]}" "$@"; }
tsink() { "${SINK[@]}" "$@"; }

# The orders table the upsert sink keeps, and what it must hold: the last
# value of each key in the generator's events file (a tombstone: no row).
orders_table() {
  q "CREATE TABLE $1 (order_id bigint PRIMARY KEY, customer text, product text, quantity int,
       amount numeric, status text, created_at timestamptz, updated_at timestamptz)"
}
expected_orders() { # EVENTS TOPIC TABLE
  awk -F'\t' -v t="$2" '$1 == t { last[$2] = $3 } END { for (k in last) if (last[k] != "") print last[k] }' \
    "$1" >"$T_TMP/$3.jsonl"
  orders_table "$3"
  psql -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE ${3}_json (v jsonb)" \
    -c "\\copy ${3}_json FROM '$T_TMP/$3.jsonl' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')" \
    -c "INSERT INTO $3 SELECT r.* FROM ${3}_json, jsonb_populate_record(NULL::$3, v) r" >/dev/null
}

# ---- produce and consume, PLAIN and SCRAM-SHA-512 ----
for mech in PLAIN SCRAM-SHA-512; do
  m=$(tr 'A-Z-' 'a-z_' <<<"$mech")
  ot=tls-$m-orders
  t0=$SECONDS
  # the CA as a flag here, from the environment for the sink
  gen --sasl-mechanism "$mech" --api-secret flinkpg-secret --ssl-ca-location "$CA" -s 11 --orders 60 \
    --orders-topic "$ot" --shipments-topic "tls-$m-ship" --events-file "$T_TMP/ev.$m" 2>"$T_TMP/gen.$m.log"
  check_eq "$mech: the generator exits 0" 0 $?
  n=$(wc -l <"$T_TMP/ev.$m")
  check "$mech: every event delivered ($n)" grep -q "event=generator_stopped .*delivered=$n failed=0" "$T_TMP/gen.$m.log"
  orders_table "orders_$m"
  KAFKA_SSL_CA_LOCATION=$CA tsink --sasl-mechanism "$mech" --api-secret flinkpg-secret -t "$ot" \
    -T "orders_$m" -e upsert -g "tls-$m" --exit-at-eof 2>"$T_TMP/sink.$m.log"
  check_eq "$mech: the sink exits 0 at the end of the topic" 0 $?
  expected_orders "$T_TMP/ev.$m" "$ot" "expected_$m"
  want=$(q "SELECT count(*) FROM expected_$m")
  check "$mech: some orders to compare ($want)" test "$want" -gt 10
  check_eq "$mech: the table holds exactly the expected rows" "$want 0" \
    "$(q "SELECT count(*) FROM orders_$m") $(tables_differ "orders_$m" "expected_$m")"
  echo "  $mech: $n events produced and consumed in $((SECONDS - t0)) s"
done

# ---- what can never work: at once, exit 2, one line ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/other.key" -out "$T_TMP/other-ca.pem" \
  -days 30 -subj "/CN=some other CA" >/dev/null 2>&1 || fail "making another CA"
# The line, exactly up to code= (librdkafka reports a rejected certificate as
# _SSL, or as _TRANSPORT when OpenSSL's verdict comes with the first read,
# and words its reason accordingly); then the code and the reason's gist.
fails_fast() { # NAME WANT-LINE CODES REASON-GIST CMD...
  local name=$1 want=$2 codes=$3 gist=$4 t0=$SECONDS rc out
  shift 4
  timeout 60 "$@" >"$T_TMP/ff.out" 2>&1
  rc=$?
  out=$(grep -v 'level=info' "$T_TMP/ff.out" | sed -e 's/^ts=[^ ]* //')
  check_eq "$name: exit 2" 2 "$rc"
  check_eq "$name: one line" 1 "$(grep -c . <<<"$out")"
  check_eq "$name: the line" "$want" "${out%% code=*}"
  check "$name: code $codes, reason with \"$gist\"" grep -qE " code=($codes) reason=\"[^\"]*$gist" <<<"$out"
  check "$name: at once (took $((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 5
  check "$name: the password is not in the output" bash -c "! grep -q -e flinkpg-secret -e wrong-one '$T_TMP/ff.out'"
  echo "  $name: $out"
}
fatal="level=error component=%s run=- event=kafka_fatal broker=%s"
fails_fast "sink, a CA that did not sign the broker's certificate" \
  "$(printf "$fatal" sink "$SSLB") cause=\"broker certificate rejected: self-signed certificate in certificate chain\" setting=--ssl-ca-location" \
  "_SSL|_TRANSPORT" "certificate verify failed" \
  "${SINK[@]}" --api-secret flinkpg-secret --ssl-ca-location "$T_TMP/other-ca.pem" -t tls-plain-orders \
  -T orders_plain -e upsert -g tls-ff1 --exit-idle-ms 30000
fails_fast "generator, a CA that did not sign the broker's certificate" \
  "$(printf "$fatal" generator "$SSLB") cause=\"broker certificate rejected: self-signed certificate in certificate chain\" setting=--ssl-ca-location" \
  "_SSL|_TRANSPORT" "certificate verify failed" \
  "${GEN[@]}" --api-secret flinkpg-secret --ssl-ca-location "$T_TMP/other-ca.pem" --orders 5 \
  --orders-topic tls-ff-orders --shipments-topic tls-ff-ship --delivery-timeout 30
KAFKA_SSL_CA_LOCATION=$CA fails_fast "sink, an expired broker certificate" \
  "$(printf "$fatal" sink "$EXPB") cause=\"broker certificate rejected: certificate has expired\" setting=\"KAFKA_SSL_CA_LOCATION (environment)\"" \
  "_SSL|_TRANSPORT" "certificate verify failed" \
  "$BIN/flinkpg-sink" -b "$EXPB" "${tls[@]}" --api-secret flinkpg-secret -t tls-plain-orders \
  -T orders_plain -e upsert -g tls-ff2 --exit-idle-ms 30000
KAFKA_SSL_CA_LOCATION=$CA fails_fast "generator, an expired broker certificate" \
  "$(printf "$fatal" generator "$EXPB") cause=\"broker certificate rejected: certificate has expired\" setting=\"KAFKA_SSL_CA_LOCATION (environment)\"" \
  "_SSL|_TRANSPORT" "certificate verify failed" \
  "$BIN/flinkpg-generator" -b "$EXPB" --progress never "${tls[@]}" --api-secret flinkpg-secret \
  --orders 5 --orders-topic tls-ff-orders --shipments-topic tls-ff-ship --delivery-timeout 30
KAFKA_API_SECRET=wrong-one fails_fast "sink, a wrong password (SCRAM-SHA-512)" \
  "$(printf "$fatal" sink "$SSLB") cause=\"SASL authentication failed\" setting=\"--sasl-mechanism: SCRAM-SHA-512, --api-key, KAFKA_API_SECRET (environment)\"" \
  "_AUTHENTICATION" "invalid credentials with SASL mechanism SCRAM-SHA-512" \
  "${SINK[@]}" --sasl-mechanism SCRAM-SHA-512 --ssl-ca-location "$CA" -t tls-plain-orders \
  -T orders_plain -e upsert -g tls-ff3 --exit-idle-ms 30000
fails_fast "generator, a wrong password (PLAIN)" \
  "$(printf "$fatal" generator "$SSLB") cause=\"SASL authentication failed\" setting=\"--sasl-mechanism (default): PLAIN, --api-key, --api-secret\"" \
  "_AUTHENTICATION" "Invalid username or password" \
  "${GEN[@]}" --api-secret wrong-one --ssl-ca-location "$CA" --orders 5 \
  --orders-topic tls-ff-orders --shipments-topic tls-ff-ship --delivery-timeout 30

# ---- settings refused before any connection, named with their source ----
out=$(tsink --api-secret x --ssl-ca-location "$T_TMP/no-such-ca.pem" -t t -T orders_plain -e upsert 2>&1); rc=$?
check_eq "a CA file that cannot be read: exit 2, one line naming the flag" \
  "2 flinkpg-sink: --ssl-ca-location: \"$T_TMP/no-such-ca.pem\" cannot be read: No such file or directory" "$rc $out"
out=$(KAFKA_SASL_MECHANISM=SCRAM-SHA-1 gen --api-secret x --orders 1 2>&1); rc=$?
check_eq "an unknown SASL mechanism: exit 2, one line naming the variable" \
  "2 flinkpg-generator: KAFKA_SASL_MECHANISM (environment): \"SCRAM-SHA-1\" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512" "$rc $out"
