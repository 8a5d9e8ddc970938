# Helpers for the controller tests (tests/integration/controller_*.sh), sourced
# after tests/lib/common.sh.
#
#   kube_up                 start a private control plane (fails loudly), apply the CRD
#   ctl_bg LOG ARGS...      start flinkpg-controller in the background; CTL_PID
#   ctl_stop PID            SIGTERM, wait, and report ASan failures
#   wait_until SECS CMD...  poll CMD every 0.3 s
#   jp OBJ PATH             kubectl get -o jsonpath

K_PEERS=$T_TMP/peers
export FLINKPG_PEERS_DIR=$K_PEERS
CTL_PIDS=()

kube_down() {
  local p
  for p in "${CTL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${CTL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  FLINKPG_KUBE_STOP_GRACE=3 "$ROOT/tests/peers/kube.sh" stop >/dev/null 2>&1 || true
}
defer kube_down

kube_up() {
  if ! "$ROOT/tests/peers/kube.sh" start >"$T_TMP/kube-start.log" 2>&1; then
    echo "FAIL the Kubernetes control plane did not start (tests/peers/kube.sh start):"
    tail -n 20 "$T_TMP/kube-start.log" | sed 's/^/  /'
    exit 1
  fi
  eval "$("$ROOT/tests/peers/kube.sh" env)"
  kubectl apply -f "$ROOT/charts/flinkpg/crds/demoruns.flinkpg.io.yaml" >/dev/null &&
    kubectl wait --for condition=Established --timeout=30s crd/demoruns.flinkpg.io >/dev/null ||
    { echo "FAIL the DemoRun CRD was not established"; exit 1; }
}

ctl_bg() {
  local log=$1; shift
  "$BIN/flinkpg-controller" --sql-dir "$ROOT/sql" "$@" >>"$log" 2>&1 &
  CTL_PID=$!
  CTL_PIDS+=("$CTL_PID")
}

ctl_stop() {
  local pid=$1 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  return $rc
}

wait_until() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.3
  done
}

jp() { kubectl get "$1" -o "jsonpath=$2" 2>/dev/null; }
cond() { jp "demorun/$1" "{.status.conditions[?(@.type==\"$2\")].status}"; }
cond_is() { [ "$(cond "$1" "$2")" = "$3" ]; }
