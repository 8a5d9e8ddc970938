#!/usr/bin/env bash
# Each program's --help and a wrong flag, as a new user meets them: the help
# once, no empty "(default: )", an unknown flag named once with one hint.
source "$(dirname "$0")/../lib/common.sh"
for p in controller generator sink statements; do
  b=$BIN/flinkpg-$p
  "$b" --help >"$T_TMP/$p.help" 2>&1
  check_eq "flinkpg-$p --help: exit 0, printed once" "0 1" "$? $(grep -c '^Usage:' "$T_TMP/$p.help")"
  check_eq "flinkpg-$p --help: no empty default shown" 0 "$(grep -c '(default: )' "$T_TMP/$p.help")"
  "$b" --frobnicate >"$T_TMP/$p.bad" 2>&1
  check_eq "flinkpg-$p --frobnicate: exit 2" 2 "$?"
  check_eq "flinkpg-$p --frobnicate: one line naming the flag, one hint" \
    "flinkpg-$p: unknown option --frobnicate (see --help)" "$(cat "$T_TMP/$p.bad")"
  "$b" --version >"$T_TMP/$p.version" 2>&1
  check_eq "flinkpg-$p --version: exit 0, the version first" "0 flinkpg-$p $(cat "$ROOT/VERSION")" \
    "$? $(head -n 1 "$T_TMP/$p.version")"
  check "flinkpg-$p --version: the libraries it runs with (jansson everywhere)" grep -q '^jansson 2\.' "$T_TMP/$p.version"
done
check "flinkpg-sink --version: librdkafka and libpq, not libcurl" \
  bash -c "grep -q '^librdkafka ' '$T_TMP/sink.version' && grep -q '^libpq ' '$T_TMP/sink.version' && ! grep -q libcurl '$T_TMP/sink.version'"
# run with nothing at all: one usage line with the hint (a pod's environment counts as something)
for p in generator sink statements; do
  env -i PATH="$PATH" "$BIN/flinkpg-$p" >"$T_TMP/$p.noargs" 2>&1
  check_eq "flinkpg-$p with no arguments: exit 2, one usage line with the hint" \
    "2 1 1" "$? $(grep -c . "$T_TMP/$p.noargs") $(grep -c "^usage: flinkpg-$p .*(flinkpg-$p --help: every option)$" "$T_TMP/$p.noargs")"
done
check_eq "flinkpg-statements --help: one usage, each subcommand with its arguments" "1 1 1" \
  "$(grep -c '^Usage:' "$T_TMP/statements.help") $(grep -c 'stop JOB-ID|NAME \[--savepoint\]' "$T_TMP/statements.help") $(grep -ci '^usage:' "$T_TMP/statements.help")"
IMAGE_PULL_POLICY=Sometimes "$BIN/flinkpg-controller" >"$T_TMP/ipp" 2>&1
check_eq "a pull policy that can never work: exit 2 at once, naming flag and variable" \
  '2 flinkpg-controller: IMAGE_PULL_POLICY (environment): "Sometimes" is not one of Always, IfNotPresent, Never' \
  "$? $(cat "$T_TMP/ipp")"
"$BIN/flinkpg-controller" --sql-dir "$T_TMP/no-such-dir" >"$T_TMP/sqldir" 2>&1
check_eq "SQL templates missing: exit 2 at once, naming the folder and the file" \
  "2 flinkpg-controller: --sql-dir (or FLINKPG_SQL_DIR) \"$T_TMP/no-such-dir\": cannot read flink/sources.sql: No such file or directory" \
  "$? $(cat "$T_TMP/sqldir")"
# as kubectl: no --kubeconfig, no KUBECONFIG, not in a pod -> ~/.kube/config
mkdir -p "$T_TMP/home/.kube"
printf 'apiVersion: v1\nkind: Config\nclusters: []\n' >"$T_TMP/home/.kube/config"
HOME=$T_TMP/home KUBECONFIG= KUBERNETES_SERVICE_HOST= "$BIN/flinkpg-controller" --sql-dir "$ROOT/sql" >"$T_TMP/home.log" 2>&1
check "no --kubeconfig nor KUBECONFIG: ~/.kube/config is read" grep -qF "$T_TMP/home/.kube/config: kubeconfig" "$T_TMP/home.log"
HOME=$T_TMP/nohome KUBECONFIG= KUBERNETES_SERVICE_HOST= "$BIN/flinkpg-controller" --sql-dir "$ROOT/sql" >"$T_TMP/nohome.log" 2>&1
check "no kubeconfig anywhere: the message says every way to give one" grep -q 'pass --kubeconfig, set KUBECONFIG or create ~/.kube/config' "$T_TMP/nohome.log"
# an API server that does not answer: one warning for all eight watches, naming the server;
# the start line says what is watched
cat >"$T_TMP/dead.kubeconfig" <<'K'
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
K
timeout -s TERM 4 "$BIN/flinkpg-controller" --kubeconfig "$T_TMP/dead.kubeconfig" --sql-dir "$ROOT/sql" >"$T_TMP/dead.log" 2>&1
check_eq "API server not answering: one list_failed warning in 4 s (8 watches)" 1 \
  "$(grep -c 'level=warn .*event=list_failed' "$T_TMP/dead.log")"
check "the warning names the server" grep -q 'event=list_failed server="\?https://127.0.0.1:1' "$T_TMP/dead.log"
check "the start line says which namespaces are watched" grep -q 'event=starting .*watch=all-namespaces' "$T_TMP/dead.log"
timeout -s TERM 2 "$BIN/flinkpg-controller" --kubeconfig "$T_TMP/dead.kubeconfig" --sql-dir "$ROOT/sql" \
  --namespace team-a >"$T_TMP/dead2.log" 2>&1
check "with --namespace the start line names it" grep -q 'event=starting .*watch=team-a' "$T_TMP/dead2.log"
# --probe checks nothing else (a helm test pod has no SQL templates to look at)
"$BIN/flinkpg-controller" --probe http://127.0.0.1:1/readyz --sql-dir "$T_TMP/no-such-dir" >"$T_TMP/probe" 2>&1
check_eq "--probe alone: exit 1 for a server that does not answer, not 2 for the SQL folder" \
  "1 1" "$? $(grep -c '^probe url=http://127.0.0.1:1/readyz status=0' "$T_TMP/probe")"
