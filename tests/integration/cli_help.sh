#!/usr/bin/env bash
# Each program's --help and a wrong flag, as a new user meets them: the help
# once, no empty "(default: )", an unknown flag named once with one hint.
source "$(dirname "$0")/../lib.sh"
for p in controller generator sink statements; do
  b=$BIN/flinkpg-$p
  "$b" --help >"$T_TMP/$p.help" 2>&1
  check_eq "flinkpg-$p --help: exit 0, printed once" "0 1" "$? $(grep -c '^Usage:' "$T_TMP/$p.help")"
  check_eq "flinkpg-$p --help: no empty default shown" 0 "$(grep -c '(default: )' "$T_TMP/$p.help")"
  "$b" --frobnicate >"$T_TMP/$p.bad" 2>&1
  check_eq "flinkpg-$p --frobnicate: exit 2" 2 "$?"
  check_eq "flinkpg-$p --frobnicate: one line naming the flag, one hint" \
    "flinkpg-$p: unknown option --frobnicate (see --help)" "$(cat "$T_TMP/$p.bad")"
done
IMAGE_PULL_POLICY=Sometimes "$BIN/flinkpg-controller" >"$T_TMP/ipp" 2>&1
check_eq "a pull policy that can never work: exit 2 at once, naming flag and variable" \
  '2 flinkpg-controller: --image-pull-policy (or IMAGE_PULL_POLICY) must be Always, IfNotPresent or Never, not "Sometimes"' \
  "$? $(cat "$T_TMP/ipp")"
