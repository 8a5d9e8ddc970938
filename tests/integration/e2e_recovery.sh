#!/usr/bin/env bash
# End to end across Flink's failure handling, on real Kafka and Flink, while
# flinkpg-generator is still producing (paced with --rate, in the background):
#   - retract job stopped with a savepoint mid-stream (flinkpg-statements stop
#     --savepoint), more input arrives while it is down, resumed from the
#     savepoint under the same job name: sql/validate.sql says PASS;
#   - upsert job whose TaskManager is SIGKILLed mid-stream and started again:
#     Flink restores its last checkpoint and replays, its Kafka transactions
#     since then are aborted, and the sink (read_committed, offsets in
#     PostgreSQL) still ends with exactly the expected table.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/e2e.sh"
defer e2e_peers_down
defer '"$ROOT/tests/peers/flink.sh" tm-start >/dev/null 2>&1'
defer e2e_cleanup
t0=$SECONDS
e2e_peers_up
new_db
e2e_target rc_savepoint keyed
e2e_target rc_tmkill keyed
RT=$E2E_ID-retract UP=$E2E_ID-upsert
e2e_topic "$RT"
e2e_topic "$UP"
e2e_inputs
e2e_submit retract "$RT" "$E2E_ID-sp" || exit 1
SP_JOB=$JOB_ID
e2e_submit upsert "$UP" "$E2E_ID-kill" || exit 1
KILL_JOB=$JOB_ID
e2e_sink rc_savepoint "$RT" rc_savepoint debezium changelog
e2e_sink rc_tmkill "$UP" rc_tmkill upsert changelog
e2e_generate_bg --rate 40     # about 1000 events: some 25 s of input
sleep 5
check "the generator is still producing when the retract job is stopped" e2e_generate_running

"$BIN/flinkpg-statements" stop "$SP_JOB" --savepoint >"$E2E_TMP/stop.out" 2>"$E2E_TMP/stop.err"
sp=$(sed -n 's/^savepoint=//p' "$E2E_TMP/stop.out")
check "the retract job stops with a savepoint ($sp)" test -n "$sp"

check "the generator is still producing after the savepoint (input arrives while the job is down)" e2e_generate_running
"$ROOT/tests/peers/flink.sh" tm-kill >/dev/null 2>&1
e2e_log "TaskManager killed mid-stream"
check "the generator was still producing when the TaskManager was killed" e2e_generate_running
sleep 3
# Once, under a fully loaded CI machine, tm-start exited non-zero without a
# word; the peer script gets three attempts, each failure logged.
tm_start() {
  local i
  for i in 1 2 3; do
    "$ROOT/tests/peers/flink.sh" tm-start && return 0
    echo "tm-start attempt $i failed (exit $?)" >&2
    sleep 2
  done
  return 1
}
check "the TaskManager starts again" tm_start
e2e_submit retract "$RT" "$E2E_ID-sp" --from-savepoint "$sp" || exit 1
check "the retract job resumed from the savepoint" bash -c "curl -fsS '$FLINK_REST_URL/jobs/$JOB_ID/checkpoints' | grep -q '\"is_savepoint\":true'"
check "the generator finished and wrote the expected table" e2e_generate_wait

v=$(e2e_wait_exact rc_savepoint 180); check_eq "stop with savepoint + resume: exact ($v)" 0 $?
v=$(e2e_wait_exact rc_tmkill 180); check_eq "TaskManager killed and restarted: exact ($v)" 0 $?
check "the upsert job restarted after the kill" bash -c "curl -fsS '$FLINK_REST_URL/jobs/$KILL_JOB/exceptions' | grep -q 'root-exception\"\\s*:\\s*\"'"
e2e_sink_stop rc_savepoint
e2e_sink_stop rc_tmkill
echo "  after savepoint/resume: $(e2e_kinds rc_savepoint)"
echo "  after TaskManager kill: $(e2e_kinds rc_tmkill)"
e2e_log "e2e_recovery took $((SECONDS - t0)) s"
