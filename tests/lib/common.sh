# Shared helpers for the shell tests.  Source it; each check prints one line,
# PASS or FAIL, which tests/run counts.
#
#   check_eq NAME WANT GOT       equality
#   check NAME CMD...            the command succeeds
#   q SQL                        psql, unaligned, tuples only, stops on error
#   start_mockkafka TOPIC[:N]... starts a mock cluster; sets BOOTSTRAP, MOCKKAFKA_PID
#                                (kill -USR1 takes its brokers down, -USR2 back up)
#   sink ARGS...                 the sink binary under test (ASan build by default)
#   sink_bg LOG ARGS...          the same in the background; SINK_PID is its pid
#   tables_differ A B            rows in one table and not the other (0 = equal)
#   batch_log_gaps GROUP         committed batches that do not tile their partition (0 = none)
#   start_confluent_standin KEY SECRET [ARGS...]
#                                tests/tools/confluent_standin on a free port; sets URL
#   defer CMD...                 run CMD at exit; deferred commands run in reverse order,
#                                the shared cleanup (test processes in T_PIDS, T_TMP) last
#
# The other helpers, sourced after this one: tests/lib/controller.sh (a private
# control plane and the controller), tests/lib/e2e.sh (real Kafka + Flink),
# tests/lib/peers.sh (what the peer scripts in tests/peers/ share).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${FLINKPG_BIN:-$ROOT/build/asan/bin}
TOOLS=${FLINKPG_TOOLS:-$ROOT/build/asan/tools}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/flinkpg-test.XXXXXX")
T_PIDS=()

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }

check_eq() {
  local name=$1 want=$2 got=$3
  if [ "$want" == "$got" ]; then pass "$name"; else fail "$name"$'\n'"  want: $want"$'\n'"  got:  $got"; fi
}

check() {
  local name=$1 rc; shift
  "$@" >"$T_TMP/check.out" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then pass "$name"; else fail "$name (exit $rc): $(tail -n 5 "$T_TMP/check.out")"; fi
}

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

start_mockkafka() {
  local f=$T_TMP/bootstrap.$RANDOM
  "$TOOLS/mockkafka" --max-seconds 900 --bootstrap-file "$f" "$@" >/dev/null 2>"$T_TMP/mockkafka.log" &
  T_PIDS+=($!)
  local i
  for i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
  [ -s "$f" ] || { echo "FAIL mock kafka cluster did not start: $(cat "$T_TMP/mockkafka.log")"; exit 1; }
  BOOTSTRAP=$(cat "$f")
  MOCKKAFKA_PID=${T_PIDS[-1]}
}

start_confluent_standin() {
  local pf=$T_TMP/standin.port key=$1 secret=$2 i
  shift 2
  "$TOOLS/confluent_standin" --port 0 --port-file "$pf" --key "$key" --secret "$secret" "$@" \
    2>"$T_TMP/standin.log" &
  T_PIDS+=($!)
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || { echo "FAIL stand-in did not start: $(cat "$T_TMP/standin.log")"; exit 1; }
  URL=http://127.0.0.1:$(cat "$pf")
}

kproduce() { "$TOOLS/kproduce" -b "$BOOTSTRAP" "$@"; }

sink() { "$BIN/flinkpg-sink" -b "$BOOTSTRAP" "$@"; }
# In the background, with SINK_PID the sink's own pid (not a subshell's), so
# signals reach it.  Output goes to the file named first.
sink_bg() { local log=$1; shift; "$BIN/flinkpg-sink" -b "$BOOTSTRAP" "$@" 2>>"$log" & SINK_PID=$!; }

cleanup() {
  local p
  for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T_TMP" >&2; else rm -rf "$T_TMP"; fi
}
# The cleanup stack: what a test starts, it defers the stopping of, instead
# of writing its own trap.
T_DEFERRED=()
defer() { T_DEFERRED+=("$*"); }
run_deferred() {
  local i
  for ((i = ${#T_DEFERRED[@]} - 1; i >= 0; i--)); do eval "${T_DEFERRED[i]}" || true; done
}
defer cleanup
trap run_deferred EXIT

# Table equality and the batch log, shared by the crash and outage tests.
tables_differ() {  # A B: rows in one and not the other, both ways
  q "SELECT count(*) FROM ((SELECT * FROM $1 EXCEPT SELECT * FROM $2) UNION ALL (SELECT * FROM $2 EXCEPT SELECT * FROM $1)) d"
}
batch_log_gaps() {  # GROUP: batches whose first offset does not follow the previous one
  q "SELECT count(*) FROM (
       SELECT first_offset, lag(last_offset) OVER (PARTITION BY partition ORDER BY first_offset) AS prev
       FROM flinkpg_sink_batches WHERE group_id = '$1') r
     WHERE prev IS NOT NULL AND first_offset <> prev + 1"
}

# The real node of tests/peers/node.sh (FLINKPG_PEERS_DIR): stop and remove it,
# then fail on anything of it left behind. KEEP_NODE=1 keeps it for a look.
node_teardown() {
  if [ -n "${KEEP_NODE:-}" ]; then
    echo "kept the node: FLINKPG_PEERS_DIR=$FLINKPG_PEERS_DIR $ROOT/tests/peers/node.sh clean" >&2
    return 0
  fi
  "$ROOT/tests/peers/node.sh" clean >"$T_TMP/node-stop.log" 2>&1 ||
    { echo "FAIL node teardown"; tail -n 20 "$T_TMP/node-stop.log"; }
  if ip link show "${FLINKPG_NODE_BRIDGE:-flinkpg0}" >/dev/null 2>&1; then echo "FAIL bridge left behind"; fi
  if pgrep -f "$FLINKPG_PEERS_DIR/" >/dev/null; then
    echo "FAIL processes left behind: $(pgrep -af "$FLINKPG_PEERS_DIR/" | head -3)"
  fi
  if findmnt -rn -o TARGET | grep -qF "$FLINKPG_PEERS_DIR/"; then echo "FAIL mounts left behind"; fi
}

# A fresh database per test file, so tests never see each other's tables.
new_db() {
  local db="t_$(basename "$0" .sh | tr -c 'a-z0-9\n' '_')_$$"
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
  export PGDATABASE=$db
}
