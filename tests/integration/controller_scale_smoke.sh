#!/usr/bin/env bash
# The smoke version of `make bench-controller` (tests/bench/controller): 10
# DemoRuns at once on a real control plane with the Confluent API stand-in,
# then a steady window. The figures are printed; the checks are that every
# run got its children, that the steady window made no API request, and that
# the harness itself works (the full run is minutes, not part of CI).
source "$(dirname "$0")/../lib/common.sh"
out=$T_TMP/bench.out
FLINKPG_BIN=$BIN FLINKPG_TOOLS=$TOOLS BENCH_WINDOW=10 BENCH_RESYNC=5 \
  "$ROOT/tests/bench/controller" 10 >"$out" 2>"$T_TMP/bench.err"
rc=$?
sed -n '/^flinkpg-controller at scale/,$p' "$out" | sed 's/^/  /'
check_eq "bench-controller harness exits 0" 0 "$rc"
[ $rc -eq 0 ] || tail -n 20 "$T_TMP/bench.err"
row=$(awk '$1 == 10' "$out")
check "a row for N=10" test -n "$row"
# columns: N, children "s", med "/" max "s", reconciles, requests, req/reconcile, RSS "MB", CPU
read -r _ _ _ _ _ _ _ recs reqs _ <<<"$row"
check "the steady window saw reconciles" test "${recs:-0}" -gt 0
check_eq "the steady window made no API request" 0 "${reqs:-x}"
