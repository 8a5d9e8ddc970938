#!/usr/bin/env bash
# The controller's gateway backend against the real Apache Flink SQL Gateway
# and JobManager (tests/peers/flink.sh) and a real Kafka (tests/peers/kafka.sh,
# SASL/PLAIN), on a real kube-apiserver:
#   - an upsert DemoRun gets sql/flink/ rendered with its topics and the Kafka
#     credentials of its Secret, submitted once, running under the run's job
#     name, its id in status.statements, and StatementsRunning True;
#   - fed by flinkpg-generator and read by flinkpg-sink (run here: the pods are
#     kwok's and run nothing), the job the controller submitted fills a table
#     that sql/validate.sql says equals the expected one, and the controller
#     (PostgreSQL through spec.postgres.existingSecretRef) reports Validated
#     PASS and Ready in the DemoRun's status;
#   - resyncs and a controller restart do not submit the job again;
#   - deleting the DemoRun cancels its job before the DemoRun goes;
#   - a job cancelled by hand shows as StatementsRunning False/StatementFailed.
# The peers run in the test's own directory and are stopped at the end.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
source "$(dirname "$0")/../lib/e2e.sh"
defer e2e_peers_down
defer e2e_cleanup
kube_up
e2e_peers_up
new_db
e2e_inputs
OUT=$E2E_ID-out
e2e_topic "$OUT"
e2e_target orders_shipments keyed
kubectl create secret generic pgtest \
  --from-literal=uri="postgresql://$PGUSER:gw$$@127.0.0.1:$PGPORT/$PGDATABASE" >/dev/null

kubectl create secret generic kcreds --from-literal=api-key=flinkpg \
  --from-literal=api-secret=flinkpg-secret >/dev/null
run() { # name
  kubectl apply -f - >/dev/null <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: $1}
spec:
  mode: upsert
  kafka:
    bootstrapServers: "$KAFKA_SASL"
    securityProtocol: SASL_PLAINTEXT
    credentialsSecretRef: {name: kcreds}
    topics: {orders: $ORDERS_TOPIC, shipments: $SHIPMENTS_TOPIC, output: $OUT}
  flink: {backend: gateway, gateway: {url: "$FLINK_GATEWAY_URL", restUrl: "$FLINK_REST_URL"}}
  postgres: {existingSecretRef: {name: pgtest}}
  sink: {keyColumns: [order_id, shipment_id]}
Y
}
job_of() { jp "demorun/$1" '{.status.statements[0].id}'; }
job_state() { curl -fsS "$FLINK_REST_URL/jobs/$1" | jq -r .state; }
job_is() { [ "$(job_state "$1")" = "$2" ]; }
stmt_reason() { jp "demorun/$1" '{.status.conditions[?(@.type=="StatementsRunning")].reason}'; }
submitted() { grep -c "event=job_submitted run=default/$1 " "$LOG"; }

LOG=$T_TMP/controller.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3
run gw-up
check "StatementsRunning becomes True once every task of the job runs" \
  wait_until 180 cond_is gw-up StatementsRunning True
JOB=$(job_of gw-up)
[ -n "$JOB" ] && JOB_IDS+=("$JOB")
check "status.statements holds the Flink job id" bash -c "grep -Eq '^[0-9a-f]{32}$' <<<'$JOB'"
check_eq "the JobManager runs it under the run's job name" "flinkpg-gw-up-upsert RUNNING" \
  "$(curl -fsS "$FLINK_REST_URL/jobs/$JOB" | jq -r '"\(.name) \(.state)"')"
check "the SQL ConfigMap keeps the credentials as a placeholder" bash -c \
  "kubectl get configmap gw-up-sql -o yaml | grep -q '\${kafka_options}' && ! kubectl get configmap gw-up-sql -o yaml | grep -q flinkpg-secret"

# the job the controller submitted, fed and drained by our programs
e2e_sink gw "$OUT" orders_shipments upsert changelog
E2E_ORDERS=60 e2e_generate
q "CREATE VIEW expected_orders_shipments AS SELECT * FROM expected" # the controller's names
v=$(e2e_wait_exact orders_shipments 150)
check "the controller's job fills a table equal to the expected one ($v)" e2e_is_exact "$v"
rows=$(e2e_field "$v" rows_expected)
check "the controller reports Validated True" wait_until 30 cond_is gw-up Validated True
check_eq "with the same numbers in status.validation" "$rows/$rows/0/0/0/0/PASS" \
  "$(jp demorun/gw-up '{.status.validation.rowsExpected}/{.status.validation.rowsPresent}/{.status.validation.missing}/{.status.validation.unexpected}/{.status.validation.wrongValues}/{.status.validation.duplicateKeys}/{.status.validation.verdict}')"
check "and the run is Ready" wait_until 30 cond_is gw-up Ready True
kubectl get demoruns >"$T_TMP/get.txt"
check "kubectl get demoruns: ROWS $rows/$rows, VERDICT PASS" grep -Eq "^gw-up +upsert +[A-Za-z]+ +$rows/$rows +PASS" "$T_TMP/get.txt"
{ echo "\$ kubectl get demoruns"; cat "$T_TMP/get.txt"; echo; echo "\$ kubectl describe demorun gw-up"; kubectl describe demorun gw-up; } >"${FLINKPG_CTL_GW_SNAPSHOT:-$T_TMP/snapshot.txt}"
check_eq "the job still runs" RUNNING "$(job_state "$JOB")"

sleep 7 # two resyncs
check_eq "submitted once across resyncs" 1 "$(submitted gw-up)"
ctl_stop "$CTL_PID"
LOG1=$LOG LOG=$T_TMP/controller2.log # the restarted controller's own log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3
check "after a controller restart the run is reconciled again (twice)" wait_until 30 bash -c \
  "[ \$(grep -c 'event=reconcile run=default/gw-up ' '$LOG') -ge 2 ]"
check "it went by the job id recorded in the status (no adoption by name)" bash -c \
  "grep 'event=reconcile run=default/gw-up ' '$LOG' | grep -q . && ! grep -q 'event=job_adopted' '$LOG'"
check_eq "a restarted controller does not submit again" 0 "$(submitted gw-up)"
check_eq "and keeps the same job" "$JOB" "$(job_of gw-up)"
check_eq "which still runs" RUNNING "$(job_state "$JOB")"

kubectl delete demorun gw-up --wait=false >/dev/null
check "deleting the DemoRun: it goes" wait_until 60 bash -c "! kubectl get demorun gw-up"
check "its job was cancelled by the finalizer" wait_until 30 job_is "$JOB" CANCELED
check "the log says so" grep -q "event=job_stopped run=default/gw-up .*job_id=$JOB" "$LOG"

# a job that dies under a live DemoRun is reported, not silently resubmitted
run gw-two
check "a second run's job runs" wait_until 180 cond_is gw-two StatementsRunning True
JOB2=$(job_of gw-two)
[ -n "$JOB2" ] && JOB_IDS+=("$JOB2")
curl -fsS -X PATCH "$FLINK_REST_URL/jobs/$JOB2?mode=cancel" >/dev/null
check "cancelled by hand: StatementsRunning False, StatementFailed" wait_until 30 bash -c \
  "[ \"\$(kubectl get demorun gw-two -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].status}/{.status.conditions[?(@.type==\"StatementsRunning\")].reason}')\" = False/StatementFailed ]"
check "the message names the job and its state" bash -c \
  "kubectl get demorun gw-two -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].message}' | grep -q 'flinkpg-gw-two-upsert ($JOB2) is CANCELED'"
check_eq "a Warning event StatementFailed" Warning "$(kubectl get events.events.k8s.io \
  --field-selector regarding.name=gw-two,reason=StatementFailed -o jsonpath='{.items[0].type}')"
check_eq "not resubmitted" 1 "$(submitted gw-two)"
kubectl delete demorun gw-two --wait=false >/dev/null
check "a run whose job is gone is deleted too" wait_until 60 bash -c "! kubectl get demorun gw-two"

check "no Kafka secret or PostgreSQL password in the controller logs" bash -c "! grep -q 'flinkpg-secret\|gw$$' '$LOG1' '$LOG'"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG1" "$LOG" && fail "sanitizer report in the controller log" ||
  pass "no sanitizer report in the controller log"
