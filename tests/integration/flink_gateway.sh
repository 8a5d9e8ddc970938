#!/usr/bin/env bash
# flinkpg-statements (common/flinkgw.c) against the real Flink SQL Gateway:
# Flink's own error message comes back, unknown placeholders never reach
# Flink, a job is submitted, listed, stopped with a savepoint and resumed
# from it, and job status is read from the JobManager.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/e2e.sh"
defer e2e_peers_down
defer e2e_cleanup
e2e_peers_up
st() { "$BIN/flinkpg-statements" "$@"; }
# job_reaches JOB STATE: the JobManager reports STATE within 30 s
job_reaches() {
  local i
  for i in $(seq 1 60); do
    st status "$1" 2>/dev/null | grep -q "^state=$2" && return 0
    sleep 0.5
  done
  return 1
}

echo "SELECT * FROM no_such_table;" >"$T_TMP/bad.sql"
st submit "$T_TMP/bad.sql" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "a bad statement fails with status 1" 1 $rc
check "the error carries Flink's message" grep -q "Object 'no_such_table' not found" "$T_TMP/err"
check "the error names the file and statement" grep -q "bad.sql, statement 1 of 1" "$T_TMP/err"

echo "SELECT '\${missing}';" >"$T_TMP/ph.sql"
st submit "$T_TMP/ph.sql" -v other=1 >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "an unknown placeholder fails" 1 $rc
check "and says which" grep -q 'unknown placeholder ${missing}' "$T_TMP/err"
check "before a session is opened" bash -c "! grep -q flink_session_opened '$T_TMP/err'"

st status 0123456789abcdef0123456789abcdef >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
check_eq "status of an unknown job fails" 1 $rc
check "with the JobManager's answer" grep -q 'HTTP 404' "$T_TMP/err"
st status not-a-job >/dev/null 2>"$T_TMP/err"
check "a malformed job id is refused before sending" grep -q 'not a Flink job id' "$T_TMP/err"
st --gateway-url http://127.0.0.1:1 submit "$T_TMP/bad.sql" >/dev/null 2>"$T_TMP/err"
check "an unreachable gateway is reported with libcurl's message" grep -qi 'refused\|connect' "$T_TMP/err"

# a real job: the upsert statement over a few events, stopped with a
# savepoint and resumed from it
# (flinkpg-generator's first 30 events; its expected table goes to a fresh database)
new_db
e2e_inputs
E2E_ORDERS=5 e2e_generate --count 30
e2e_submit upsert "$E2E_ID-out" "$E2E_ID-sp" || exit 1
check "submit printed a job id" test -n "$JOB_ID"
st status "$JOB_ID" >"$T_TMP/out" 2>&1
check "status says RUNNING" grep -q '^state=RUNNING' "$T_TMP/out"
st list >"$T_TMP/out" 2>&1
check "list shows the job with its name" grep -q "$JOB_ID RUNNING.*$E2E_ID-sp" "$T_TMP/out"
st stop "$JOB_ID" --savepoint >"$T_TMP/out" 2>"$T_TMP/err"
check "stop --savepoint prints the savepoint path" grep -q '^savepoint=file:' "$T_TMP/out"
sp=$(sed -n 's/^savepoint=//p' "$T_TMP/out")
check "the savepoint exists on disk" test -e "${sp#file:}/_metadata"
check "the job is FINISHED after stop with savepoint" job_reaches "$JOB_ID" FINISHED
e2e_submit upsert "$E2E_ID-out" "$E2E_ID-sp" --from-savepoint "$sp" || exit 1
check "resume from the savepoint starts a new job" test -n "$JOB_ID"
check "which restored from it" bash -c "curl -fsS '$FLINK_REST_URL/jobs/$JOB_ID/checkpoints' | grep -q '\"restored\"'"
st delete "$JOB_ID" >/dev/null 2>&1
check "delete cancels the job" job_reaches "$JOB_ID" CANCELED
