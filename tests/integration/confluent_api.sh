#!/usr/bin/env bash
# flinkpg-statements --backend confluent (common/confluent.c) against
# tests/tools/confluent_standin: a stand-in written from Confluent's published
# OpenAPI spec "SQL API v1", because Confluent Cloud cannot run here.  Covers
# create/status/list/stop/resume/delete, authentication failure (and that the
# secret never shows), 429/503 retried with Retry-After honoured, 409, and
# statement names refused before anything is sent.  The stand-in answers as
# the spec says (201 on create, 202 then DELETING on delete, PUT only with
# the current resource_version) and refuses what Confluent refuses (table
# options it does not know, unqualified names without a catalog/database);
# a lost POST reply, a stale PUT and a slow delete are played through.
source "$(dirname "$0")/../lib/common.sh"
start_confluent_standin FKEY 's3cr3t-VALUE'
export CONFLUENT_FLINK_URL=$URL CONFLUENT_ORG_ID=00000000-0000-0000-0000-000000000001 \
  CONFLUENT_ENV_ID=env-abc123 CONFLUENT_COMPUTE_POOL=lfcp-pool1 FLINK_API_KEY=FKEY \
  FLINK_API_SECRET='s3cr3t-VALUE' CONFLUENT_CATALOG=demo-env CONFLUENT_DATABASE=demo-cluster
API=$URL/sql/v1/organizations/$CONFLUENT_ORG_ID/environments/$CONFLUENT_ENV_ID/statements
cf() { "$BIN/flinkpg-statements" --backend confluent "$@"; }
inject() { curl -fsS -X POST "$URL/_standin/inject?status=$1&count=$2${3:+&retry_after=$3}" >/dev/null; }
requests() { curl -fsS "$URL/_standin/stats" | sed 's/[^0-9]//g'; }

cat >"$T_TMP/demo.sql" <<'SQL'
-- a comment line
CREATE TABLE ${output_topic} (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('changelog.mode' = 'upsert');
INSERT INTO ${output_topic} SELECT id FROM src;
SQL
cf submit "$T_TMP/demo.sql" --name demo-upsert -v output_topic=out1 >"$T_TMP/out" 2>"$T_TMP/err"
check_eq "submit creates the DDL and the INSERT statements" "statement=demo-upsert-ddl-1 statement=demo-upsert" "$(tr '\n' ' ' <"$T_TMP/out" | sed 's/ $//')"
cf status demo-upsert >"$T_TMP/out" 2>&1
check "status shows phase RUNNING" grep -q '^phase=RUNNING' "$T_TMP/out"
cf status demo-upsert-ddl-1 >"$T_TMP/out" 2>&1
check "the DDL statement COMPLETED" grep -q '^phase=COMPLETED' "$T_TMP/out"
check "the properties were sent" bash -c "curl -fsS -u FKEY:'s3cr3t-VALUE' '$URL/sql/v1/organizations/$CONFLUENT_ORG_ID/environments/env-abc123/statements/demo-upsert' | grep -q '\"sql.current-database\":\"demo-cluster\"'"

cf stop demo-upsert >"$T_TMP/out" 2>&1
check "stop puts spec.stopped and reaches STOPPED" grep -q '^phase=STOPPED' "$T_TMP/out"
cf resume demo-upsert >"$T_TMP/out" 2>&1
check "resume reaches RUNNING" grep -q '^phase=RUNNING' "$T_TMP/out"

# list with pagination: 12 more statements, pages of 100 on the client, but
# the stand-in caps nothing: use the raw API for a small page
for i in $(seq 1 12); do echo "INSERT INTO t SELECT $i;" >"$T_TMP/s$i.sql"; cf submit "$T_TMP/s$i.sql" --name "s-$i" --wait-running=false >/dev/null 2>&1; done
cf list >"$T_TMP/out" 2>&1
check_eq "list shows every statement" 14 "$(grep -c ' ' "$T_TMP/out")"

# 429 and 503 are retried, honouring Retry-After
inject 429 2 1
before=$(requests); t=$SECONDS
cf status demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"
check "429 twice, then success" grep -q '^phase=RUNNING' "$T_TMP/out"
check_eq "three requests were made" 3 $(( $(requests) - before ))
check "Retry-After 1 s was honoured (took >= 2 s)" test $((SECONDS - t)) -ge 2
check "each retry is logged" test "$(grep -c 'event=confluent_retry' "$T_TMP/err")" -eq 2
inject 503 1
cf status demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"
check "503 is retried" grep -q '^phase=RUNNING' "$T_TMP/out"
inject 503 50
cf status demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a persistent 503 gives up with status 1" 1 $rc
check "after a bounded number of attempts" grep -q 'gave up after 6 attempts' "$T_TMP/err"
inject 503 0

# 409: a name that exists; a conflict during stop is retried after re-reading
cf submit "$T_TMP/s1.sql" --name demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "creating an existing name fails" 1 $rc
check "saying it already exists" grep -q 'already exists' "$T_TMP/err"
check "because its SQL is not ours" grep -q 'already exists with other SQL' "$T_TMP/err"
check "without retrying the POST" bash -c "! grep -q 'confluent_retry.*POST' '$T_TMP/err'"
curl -fsS -X POST "$URL/_standin/inject?stale=1" >/dev/null
cf stop demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"
check "a stale PUT on stop (updated by someone else): 409, read again, then STOPPED" grep -q '^phase=STOPPED' "$T_TMP/out"
check "the 409 on stop was retried" grep -q 'confluent_retry method=PUT.*status=409' "$T_TMP/err"
curl -fsS -X POST "$URL/_standin/inject?stale=1" >/dev/null
cf resume demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"
check "a stale PUT (updated by someone else): 409, read again, then accepted" grep -q '^phase=RUNNING' "$T_TMP/out"
check "the 409 was seen and retried" grep -q 'confluent_retry method=PUT.*status=409' "$T_TMP/err"
rv=$(curl -fsS -u FKEY:'s3cr3t-VALUE' "$API/demo-upsert" | jq -c 'del(.status) | del(.metadata.resource_version)')
code=$(curl -sS -o /dev/null -w '%{http_code}' -u FKEY:'s3cr3t-VALUE' -X PUT -d "$rv" "$API/demo-upsert")
check_eq "a PUT without metadata.resource_version is refused" 400 "$code"

# a lost POST reply: the statement was created, the client saw no answer,
# retried, got 409, and adopts it (same SQL)
echo "INSERT INTO t SELECT 'lost';" >"$T_TMP/lost.sql"
curl -fsS -X POST "$URL/_standin/inject?lose=1" >/dev/null
cf submit "$T_TMP/lost.sql" --name s-lost --wait-running=false >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a POST whose reply is lost: submit still succeeds" 0 $rc
check "the retried POST found it and adopted it" grep -q 'event=confluent_statement_adopted name=s-lost' "$T_TMP/err"
check_eq "one statement of that name" 1 "$(cf list | grep -c '^s-lost ')"
code=$(curl -sS -o /dev/null -w '%{http_code}' -u FKEY:'s3cr3t-VALUE' -H 'Content-Type: application/json' \
  -d '{"name":"s-201","spec":{"statement":"SELECT 1","properties":{"sql.current-catalog":"c","sql.current-database":"d"}}}' "$API")
check_eq "POST answers 201" 201 "$code"

# authentication
FLINK_API_SECRET=wrong "$BIN/flinkpg-statements" --backend confluent status demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a wrong secret fails with status 1" 1 $rc
check "saying authentication failed" grep -q 'HTTP 401 Authentication Required' "$T_TMP/err"
check "without retrying" bash -c "! grep -q confluent_retry '$T_TMP/err'"
check "the secret never appears in output or logs" bash -c "! grep -rq 's3cr3t-VALUE' '$T_TMP/out' '$T_TMP/err'"
cf --help >"$T_TMP/help" 2>&1
check "--help does not print the secret from the environment" bash -c "! grep -q 's3cr3t-VALUE' '$T_TMP/help'"

# names are validated before sending
before=$(requests)
cf submit "$T_TMP/s1.sql" --name Bad_Name >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "an invalid name is refused (usage error)" 2 $rc
check "with a clear message" grep -q "contains 'B'" "$T_TMP/err"
cf status "$(printf 'a%.0s' $(seq 1 73))" >"$T_TMP/out" 2>"$T_TMP/err"
check "a 73-character name is refused (Confluent's limit is 72)" grep -q 'at most 72' "$T_TMP/err"
CONFLUENT_CATALOG= cf submit "$T_TMP/s1.sql" --name no-catalog >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "submit without a catalog is a usage error" 2 $rc
check "naming --catalog and CONFLUENT_CATALOG" grep -q -- '--catalog (or CONFLUENT_CATALOG)' "$T_TMP/err"
check_eq "and nothing was sent" "$before" "$(requests)"

# a slow delete: 202, then DELETING for two reads; delete waits until it is gone
code=$(curl -sS -o /dev/null -w '%{http_code}' -u FKEY:'s3cr3t-VALUE' -X DELETE "$API/s-2")
check_eq "DELETE answers 202" 202 "$code"
check_eq "the statement is DELETING after it" DELETING "$(curl -fsS -u FKEY:'s3cr3t-VALUE' "$API/s-2" | jq -r .status.phase)"
cf delete demo-upsert >"$T_TMP/out" 2>&1
check "delete" grep -q '^deleted=true' "$T_TMP/out"
check_eq "delete waited until the statement was gone" 404 \
  "$(curl -sS -o /dev/null -w '%{http_code}' -u FKEY:'s3cr3t-VALUE' "$API/demo-upsert")"
cf status demo-upsert >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a deleted statement is not found (status 3)" 3 $rc
cf delete demo-upsert >"$T_TMP/out" 2>&1
check "deleting again is not an error" grep -q '^deleted=true' "$T_TMP/out"
# what Confluent refuses, the stand-in refuses
post_phase() { # name sql [properties-json]: the phase after one more read
  curl -fsS -u FKEY:'s3cr3t-VALUE' -H 'Content-Type: application/json' -d \
    "$(jq -nc --arg n "$1" --arg s "$2" --argjson p "${3:-{\}}" '{name: $n, spec: {statement: $s, properties: $p}}')" "$API" >/dev/null
  curl -fsS -u FKEY:'s3cr3t-VALUE' "$API/$1" | jq -r '"\(.status.phase): \(.status.detail)"'; }
CD='{"sql.current-catalog":"demo-env","sql.current-database":"demo-cluster"}'
out=$(post_phase opt-bad "CREATE TABLE t (a INT) WITH ('kafka.topic' = 'x', 'value.format' = 'json-registry')" "$CD")
check "stand-in: an unknown table option fails the statement" grep -q "^FAILED: Unsupported options found for table: 'kafka.topic'" <<<"$out"
out=$(post_phase opt-good "CREATE TABLE t (a INT) WITH ('changelog.mode' = 'append', 'value.json-registry.wire-encoding' = 'x')" "$CD")
check_eq "stand-in: documented options are accepted" "COMPLETED: Command completed successfully." "$out"
out=$(post_phase unplaced "INSERT INTO t SELECT 1")
check "stand-in: unqualified names without sql.current-catalog/database fail" grep -q '^FAILED: .*sql.current-catalog' <<<"$out"
out=$(post_phase qualified 'INSERT INTO `env`.`cluster`.`t` SELECT 1')
check_eq "stand-in: fully qualified names need neither" "RUNNING: Statement is running." "$out"
# every template of sql/confluent passes the stand-in's checks
for mode in append upsert retract; do
  cf submit "$ROOT/sql/confluent/sources.sql" "$ROOT/sql/confluent/$mode.sql" --name "tmpl-$mode" \
    -v orders_topic="o-$mode" -v shipments_topic="s-$mode" -v output_topic="out-$mode" >"$T_TMP/out" 2>"$T_TMP/err"
  check "sql/confluent/$mode.sql (after sources.sql) is accepted by the stricter stand-in" test $? -eq 0 ||
    sed 's/^/  | /' "$T_TMP/err" | tail -3
done
echo "FAIL_ME" | sed 's/.*/INSERT INTO t SELECT * FROM FAIL_ME;/' >"$T_TMP/f.sql"
cf submit "$T_TMP/f.sql" --name failing >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a statement that FAILS makes submit fail" 1 $rc
check "with the status detail" grep -q "is FAILED: SQL validation failed" "$T_TMP/err"
