#!/usr/bin/env bash
# The Helm chart (charts/flinkpg) without a node: helm lint --strict, every
# values example rendered and accepted by a real kube-apiserver
# (kubectl apply --dry-run=server, Pod Security `restricted` warnings counted),
# bad values refused naming the value, the shapes each switch promises
# (leader election + PDB, namespaced Role, peers, demo), and
# manifests/install.yaml equal to what the chart renders.
# The chart on a real node (helm install, DemoRuns to PASS): kube_demo.sh.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
kube_up
CHART=$ROOT/charts/flinkpg

check_eq "Chart appVersion is the repository's VERSION" "$(cat "$ROOT/VERSION")" \
  "$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")"
check "helm lint --strict (defaults)" helm lint --strict "$CHART"

# Namespaces the examples render into, warning on anything `restricted` refuses.
for ns in flinkpg flinkpg-runs; do
  kubectl create namespace $ns >/dev/null 2>&1
  kubectl label --overwrite namespace $ns pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/warn=restricted >/dev/null
done
for f in "$CHART"/ci/*-values.yaml; do
  ex=$(basename "$f" -values.yaml)
  check "helm lint --strict -f ci/$ex" helm lint --strict "$CHART" -f "$f"
  if ! helm template flinkpg "$CHART" -n flinkpg -f "$f" >"$T_TMP/$ex.yaml" 2>"$T_TMP/$ex.err"; then
    fail "helm template -f ci/$ex: $(tail -n 3 "$T_TMP/$ex.err")"; continue
  fi
  # ServiceMonitor/PodMonitor need the Prometheus Operator's CRDs, which this
  # cluster does not have: they are checked for shape below, not applied.
  awk 'BEGIN{RS="---\n"; ORS=""} NF && !/\nkind: (ServiceMonitor|PodMonitor)\n/ {print "---\n" $0}' \
    "$T_TMP/$ex.yaml" >"$T_TMP/$ex.apply.yaml"
  if kubectl apply --dry-run=server -f "$T_TMP/$ex.apply.yaml" >"$T_TMP/$ex.dry" 2>&1; then
    pass "ci/$ex: every object accepted by the API server (dry-run=server, $(grep -c '^kind:' "$T_TMP/$ex.apply.yaml") objects)"
  else
    fail "ci/$ex: dry-run=server: $(grep -v ' (server dry run)$' "$T_TMP/$ex.dry" | head -n 5)"
  fi
  check_eq "ci/$ex: no Pod Security (restricted) warning" "" "$(grep -i 'PodSecurity' "$T_TMP/$ex.dry")"
done

# The warning check can fail: a container allowed to escalate is reported.
helm template flinkpg "$CHART" -n flinkpg --skip-tests --set securityContext.allowPrivilegeEscalation=true |
  kubectl apply --dry-run=server -f - >"$T_TMP/escalate.dry" 2>&1
check "a values change that breaks restricted is warned about (the check above can fail)" \
  grep -q 'would violate PodSecurity "restricted' "$T_TMP/escalate.dry"

# ---- what each switch renders ----
kinds() { grep '^kind:' "$1" | sort | uniq -c | awk '{print $3 "=" $1}' | paste -sd' '; }
check_eq "defaults: the controller's objects" \
  "ClusterRole=1 ClusterRoleBinding=1 ConfigMap=1 Deployment=1 Pod=1 Service=1 ServiceAccount=1" \
  "$(kinds "$T_TMP/default.yaml")"
check "defaults: one replica, no leader election" grep -q 'name: LEADER_ELECT, value: "false"' "$T_TMP/default.yaml"
check "defaults: images tagged with appVersion" \
  grep -q "image: docker.io/flinkpg/flinkpg-controller:$(cat "$ROOT/VERSION")" "$T_TMP/default.yaml"
check "defaults: the sink image the controller uses" \
  grep -q "name: SINK_IMAGE, value: \"docker.io/flinkpg/flinkpg-sink:$(cat "$ROOT/VERSION")\"" "$T_TMP/default.yaml"
check_eq "ha-namespaced: Role/RoleBinding in the watched namespace, lease Role, PDB" \
  "ConfigMap=1 Deployment=1 Pod=1 PodDisruptionBudget=1 Role=2 RoleBinding=2 Service=1 ServiceAccount=1" \
  "$(kinds "$T_TMP/ha-namespaced.yaml")"
check "ha-namespaced: leader election on with two replicas" grep -q 'name: LEADER_ELECT, value: "true"' "$T_TMP/ha-namespaced.yaml"
check "ha-namespaced: WATCH_NAMESPACE set" grep -q 'name: WATCH_NAMESPACE, value: "flinkpg-runs"' "$T_TMP/ha-namespaced.yaml"
check "ha-namespaced: pull secrets passed to the pods the controller creates" \
  grep -q 'name: IMAGE_PULL_SECRETS, value: "regcred"' "$T_TMP/ha-namespaced.yaml"
check "peers-demo: Kafka and Flink StatefulSets, credentials Secret, DemoRun" bash -c \
  "grep -q 'name: flinkpg-kafka-credentials' '$T_TMP/peers-demo.yaml' && [ \$(grep -c '^kind: StatefulSet' '$T_TMP/peers-demo.yaml') = 2 ] && grep -q '^kind: DemoRun' '$T_TMP/peers-demo.yaml'"
check "monitoring: ServiceMonitor and PodMonitor with the selecting label" bash -c \
  "grep -q '^kind: ServiceMonitor' '$T_TMP/monitoring.yaml' && grep -q '^kind: PodMonitor' '$T_TMP/monitoring.yaml' && grep -q 'release: prometheus' '$T_TMP/monitoring.yaml'"
sed -n '/flinkpg.json: |-/,/^---/p' "$T_TMP/default.yaml" | sed '1d;/^---/d;s/^    //' >"$T_TMP/dashboard.json"
check "dashboard ConfigMap holds JSON with the sink and controller panels" bash -c \
  "jq -e '[.panels[].targets[].expr] | (map(select(test(\"flinkpg_sink_lag|flinkpg_sink_records_total|flinkpg_sink_batch_seconds_bucket|flinkpg_sink_dead_letters_total|flinkpg_controller_reconciles_total\"))) | length) >= 6' '$T_TMP/dashboard.json'"

# ---- bad values: refused at install time, naming the value ----
bad() { # name expected-text --set...
  local name=$1 want=$2; shift 2
  if helm template flinkpg "$CHART" "$@" >"$T_TMP/bad.out" 2>&1; then
    fail "bad value accepted: $name"
  else
    check "bad value refused, named: $name" grep -qF -- "$want" "$T_TMP/bad.out"
  fi
}
bad "replicaCount=zwei" "/replicaCount" --set replicaCount=zwei
bad "logLevel=loud" "/logLevel" --set logLevel=loud
bad "image.pullPolicy=Sometimes" "/image/pullPolicy" --set image.pullPolicy=Sometimes
bad "demo.mode=sideways" "/demo/mode" --set demo.mode=sideways
bad "a misspelt key (replicas)" "'replicas' not allowed" --set replicas=2
bad "peers.kafka.storage.size=lots" "/peers/kafka/storage/size" --set peers.kafka.storage.size=lots
bad "demo without Kafka" "demo.kafka.bootstrapServers" --set demo.enabled=true
bad "watchNamespace=Bad_NS" "/watchNamespace" --set watchNamespace=Bad_NS

# ---- one source of truth ----
check "manifests/install.yaml is what the chart renders (run: make manifests)" \
  diff -u "$ROOT/manifests/install.yaml" <("$ROOT/manifests/generate.sh" --stdout)
if kubectl apply --dry-run=server -f "$ROOT/manifests/install.yaml" >"$T_TMP/install.dry" 2>&1; then
  pass "manifests/install.yaml accepted by the API server (dry-run=server)"
else
  fail "manifests/install.yaml dry-run: $(head -n 5 "$T_TMP/install.dry")"
fi
