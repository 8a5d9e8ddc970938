#!/usr/bin/env bash
# The smoke version of `make race` (tests/bench/race/run with RACE_SMOKE=1): 10,000
# changes over 1,000 keys on the real KRaft broker, drained by every contender —
# flinkpg-sink (default and tuned), Debezium's JDBC sink on Kafka Connect (reduction
# buffer on and off), Flink's JDBC sink on the session cluster — each final table
# checked against the expected one; Debezium over a retract topic checked against
# what --policy upsert-ignore-kind predicts; 1, 2 and 3 sinks in one group exact,
# their committed offset ranges tiling every partition.  Correctness only: the
# figures are make race's.
source "$(dirname "$0")/../lib/common.sh"
new_db
FLINKPG_BIN=$BIN FLINKPG_TOOLS=$TOOLS RACE_SMOKE=1 RACE_TIMEOUT=${RACE_TIMEOUT:-180} \
  "$ROOT/tests/bench/race/run" 2>"$T_TMP/race.log"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL tests/bench/race/run exited $rc"; tail -n 20 "$T_TMP/race.log"; }
