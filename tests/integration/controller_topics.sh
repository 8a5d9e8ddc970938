#!/usr/bin/env bash
# spec.deleteTopicsOnCleanup against a real Kafka (tests/peers/kafka.sh, in the
# test's own peers directory): the finalizer deletes the run's three topics
# (PLAINTEXT, and SASL_PLAINTEXT with the credentials Secret); an unreachable
# Kafka gets Warning events, bounded retries, and does not block the deletion.
# KAFKA_PORT / KAFKA_SASL_PORT / KAFKA_CONTROLLER_PORT move the broker off its
# default ports (19092-19094).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
KP=${KAFKA_PORT:-19092}; KSP=${KAFKA_SASL_PORT:-19093}
kafka_down() { FLINKPG_PEERS_DIR=$K_PEERS "$ROOT/tests/peers/kafka.sh" stop >/dev/null 2>&1 || true; }
defer kafka_down
kube_up
if ! "$ROOT/tests/peers/kafka.sh" start >"$T_TMP/kafka-start.log" 2>&1; then
  echo "FAIL Kafka did not start (tests/peers/kafka.sh start):"; tail -n 20 "$T_TMP/kafka-start.log" | sed 's/^/  /'; exit 1
fi
topics() { "$ROOT/tests/peers/kafka.sh" topics 2>/dev/null | grep '^tk-' | sort | tr '\n' ' '; }
for t in tk-p-orders tk-p-ship tk-p-out tk-s-orders tk-s-ship tk-s-out; do
  "$ROOT/tests/peers/kafka.sh" topic $t 1 >/dev/null 2>&1 || fail "creating topic $t"
done
check_eq "six topics to start with" "tk-p-orders tk-p-out tk-p-ship tk-s-orders tk-s-out tk-s-ship " "$(topics)"

run() { # name bootstrap protocol prefix extra
  kubectl apply -f - >/dev/null <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: $1}
spec:
  mode: append
  deleteTopicsOnCleanup: true
  kafka: {bootstrapServers: "$2", securityProtocol: $3, topics: {orders: $4-orders, shipments: $4-ship, output: $4-out}$5}
  flink: {backend: gateway, gateway: {url: "http://127.0.0.1:9"}}
  postgres: {inCluster: {}}
Y
}
kubectl create secret generic kcreds --from-literal=api-key=flinkpg --from-literal=api-secret=flinkpg-secret >/dev/null
run tk-plain "127.0.0.1:$KP" PLAINTEXT tk-p ""
run tk-sasl "127.0.0.1:$KSP" SASL_PLAINTEXT tk-s ", credentialsSecretRef: {name: kcreds}"
run tk-down "127.0.0.1:9" PLAINTEXT tk-d ""
LOG=$T_TMP/controller.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3 --http-listen 127.0.0.1:0
for r in tk-plain tk-sasl tk-down; do
  check "$r: finalizer added" wait_until 30 bash -c "kubectl get demorun $r -o jsonpath='{.metadata.finalizers}' | grep -q cleanup"
done
reasons() { kubectl get events.events.k8s.io --field-selector "regarding.name=$1" -o jsonpath='{range .items[*]}{.type}/{.reason} {end}'; }

kubectl delete demorun tk-plain --wait=false >/dev/null
check "PLAINTEXT: the DemoRun goes" wait_until 60 bash -c "! kubectl get demorun tk-plain"
check_eq "PLAINTEXT: its three topics are gone, the others stay" "tk-s-orders tk-s-out tk-s-ship " "$(topics)"
check "PLAINTEXT: TopicsDeleted event" bash -c "grep -q Normal/TopicsDeleted <<<'$(reasons tk-plain)'"

kubectl delete demorun tk-sasl --wait=false >/dev/null
check "SASL_PLAINTEXT: the DemoRun goes" wait_until 60 bash -c "! kubectl get demorun tk-sasl"
check_eq "SASL_PLAINTEXT: its three topics are gone too" "" "$(topics)"

kubectl delete demorun tk-down --wait=false >/dev/null
check "unreachable Kafka: a TopicDeleteFailed Warning" wait_until 60 bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=tk-down,reason=TopicDeleteFailed -o jsonpath='{.items[*].type}' | grep -q Warning"
check "unreachable Kafka: the DemoRun is let go after bounded retries" wait_until 120 bash -c "! kubectl get demorun tk-down"
check "unreachable Kafka: a TopicsNotDeleted Warning says to delete them by hand" bash -c \
  "grep -q Warning/TopicsNotDeleted <<<'$(reasons tk-down)'"
check "no Kafka secret in the log" bash -c "! grep -q flinkpg-secret '$LOG'"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report in the controller log" || pass "no sanitizer report in the controller log"
