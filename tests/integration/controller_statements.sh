#!/usr/bin/env bash
# The controller submits a DemoRun's Flink statements (confluent backend)
# against tests/tools/confluent_standin (written from Confluent's published
# "SQL API v1" spec; Confluent Cloud cannot run here) on a real
# kube-apiserver: statements created in order and observed on the stand-in,
# StatementsRunning True once they run, a FAILED statement reported with its
# detail, 429/503 retried, the credentials never logged, and deletion that
# removes the statements before the finalizer lets the DemoRun go.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
kube_up

start_confluent_standin FKEY 'cf-s3cr3t-VALUE'
ORG=0b1c2d3e-0000-4000-8000-123456789abc
API=$URL/sql/v1/organizations/$ORG/environments/env-abc/statements
inject() { curl -fsS -X POST "$URL/_standin/inject?status=$1&count=$2${3:+&retry_after=$3}" >/dev/null; }
on_standin() { # "name phase" of the statements on the stand-in of run prefix $1 (<prefix>-<file>-<n>)
  curl -fsS -u FKEY:cf-s3cr3t-VALUE "$API?page_size=100" |
    jq -r --arg p "$1" '.data[] | select(.name | test("^" + $p + "(sources|append|upsert|retract)-[0-9]+$")) | "\(.name) \(.status.phase)"' | sort
}

kubectl create secret generic flink-creds --from-literal=api-key=FKEY \
  --from-literal=api-secret=cf-s3cr3t-VALUE >/dev/null
run() { # name [extra yaml under spec.flink]
  cat <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: $1}
spec:
  mode: append
  kafka: {bootstrapServers: "k:9092", schemaRegistry: {url: "http://sr:8081"}, topics: {orders: $1-o, shipments: $1-s, output: $1-out}}
  flink:
    backend: confluent
    confluent: {region: us-east-1, cloud: aws, organization: $ORG, environment: env-abc,
                computePool: lfcp-pool1, principal: sa-x1, catalog: demo-env, database: demo-cluster,
                credentialsSecretRef: {name: flink-creds}}
$2
  postgres: {inCluster: {}}
Y
}
LOG=$T_TMP/controller.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3 --confluent-url "$URL"
run demo-cf | kubectl apply -f - >/dev/null
P=flinkpg-default-demo-cf-
stmt_reason() { jp "demorun/$1" '{.status.conditions[?(@.type=="StatementsRunning")].reason}'; }

check "StatementsRunning becomes True once the stand-in says RUNNING" wait_until 60 cond_is demo-cf StatementsRunning True
check_eq "the statements exist on the stand-in, named after the run, DDL completed, INSERT running" \
  "${P}append-1 COMPLETED
${P}append-2 COMPLETED
${P}append-3 COMPLETED
${P}append-4 RUNNING
${P}sources-1 COMPLETED
${P}sources-2 COMPLETED" "$(on_standin $P)"
check_eq "status.statements lists them in order with their phases" "${P}sources-1=COMPLETED ${P}sources-2=COMPLETED ${P}append-1=COMPLETED ${P}append-2=COMPLETED ${P}append-3=COMPLETED ${P}append-4=RUNNING" \
  "$(jp demorun/demo-cf '{range .status.statements[*]}{.name}={.phase} {end}' | sed 's/ $//')"
check "the catalog and database were sent as properties" bash -c \
  "curl -fsS -u FKEY:cf-s3cr3t-VALUE '$API/${P}append-4' | jq -e '.spec.properties[\"sql.current-database\"] == \"demo-cluster\"'"
check "the INSERT carries the run's topics" bash -c \
  "curl -fsS -u FKEY:cf-s3cr3t-VALUE '$API/${P}append-4' | jq -r .spec.statement | grep -q 'INSERT INTO .demo-cf-out'"
check "created through the compute pool and principal of the spec" bash -c \
  "curl -fsS -u FKEY:cf-s3cr3t-VALUE '$API/${P}append-4' | jq -e '.spec.compute_pool_id == \"lfcp-pool1\" and .spec.principal == \"sa-x1\"'"
check_eq "the generator Job writes the registry format Confluent's json-registry tables read" "registry http://sr:8081" \
  "$(kubectl get jobs -o json | jq -r '.items[] | select(.metadata.ownerReferences[0].name == "demo-cf") | .spec.template.spec.containers[0].env | map({(.name): .value}) | add | "\(.GEN_FORMAT) \(.SCHEMA_REGISTRY_URL)"')"
check "each statement created once (resyncs only read)" bash -c "sleep 4; [ \$(grep -c 'event=statement_created run=default/demo-cf ' '$LOG') = 6 ]"

# ---- 429 / 503 from the API are retried ----
inject 429 2 1
check "429 twice: retried, honouring Retry-After" wait_until 20 bash -c "[ \$(grep -c 'event=confluent_retry.*status=429' '$LOG') -ge 2 ]"
inject 503 1
check "503 retried" wait_until 20 grep -q 'event=confluent_retry.*status=503' "$LOG"
sleep 4
check_eq "after the retries StatementsRunning is still True" "True/Running" "$(cond demo-cf StatementsRunning)/$(stmt_reason demo-cf)"
inject 503 1000
check "a backend that keeps failing: StatementsRunning False, BackendUnreachable" wait_until 60 bash -c \
  "[ \"\$(kubectl get demorun demo-cf -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].reason}')\" = BackendUnreachable ]"
check "the reconcile is an error retried by the work queue" grep -q 'event=reconcile run=default/demo-cf result=error.*statements:' "$LOG"
inject 503 0
check "back to Running when the API answers again" wait_until 60 cond_is demo-cf StatementsRunning True

# ---- a FAILED statement ----
run demo-cf-fail '    statementOverrides:
    - name: append
      sql: "INSERT INTO `demo-cf-fail-out` SELECT * FROM FAIL_ME;"' | kubectl apply -f - >/dev/null
check "a FAILED statement: StatementsRunning False with reason StatementFailed" wait_until 60 bash -c \
  "[ \"\$(kubectl get demorun demo-cf-fail -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].reason}')\" = StatementFailed ]"
check "the message carries the statement and the API's detail" bash -c \
  "kubectl get demorun demo-cf-fail -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].message}' | grep -q \"flinkpg-default-demo-cf-fail-append-1 is FAILED: SQL validation failed: Object 'FAIL_ME' not found\""
check "phase Failed" wait_until 20 bash -c "[ \"\$(kubectl get demorun demo-cf-fail -o jsonpath='{.status.phase}')\" = Failed ]"
check "a Warning event StatementFailed" wait_until 20 bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=demo-cf-fail -o jsonpath='{range .items[*]}{.type}/{.reason} {end}' | grep -q Warning/StatementFailed"
# ---- DEGRADED: running but unhealthy -- its own reason and a Warning, not a failure ----
run demo-cf-sick '    statementOverrides:
    - name: append
      sql: "INSERT INTO `demo-cf-sick-out` SELECT * FROM DEGRADE_ME;"' | kubectl apply -f - >/dev/null
check "a DEGRADED statement: reason StatementDegraded" wait_until 60 bash -c \
  "[ \"\$(kubectl get demorun demo-cf-sick -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].reason}')\" = StatementDegraded ]"
check_eq "StatementsRunning stays True (it runs)" True "$(cond demo-cf-sick StatementsRunning)"
check "the message names the statement and the detail" bash -c \
  "kubectl get demorun demo-cf-sick -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].message}' | grep -q 'flinkpg-default-demo-cf-sick-append-1 is DEGRADED: The statement is running but unhealthy'"
check "a Warning event StatementDegraded" wait_until 20 bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=demo-cf-sick -o jsonpath='{range .items[*]}{.type}/{.reason} {end}' | grep -q Warning/StatementDegraded"
check "the run is not Failed" bash -c "[ \"\$(kubectl get demorun demo-cf-sick -o jsonpath='{.status.phase}')\" != Failed ]"

# ---- a statement of the run's name that holds other SQL: a conflict, not adopted ----
curl -fsS -u FKEY:cf-s3cr3t-VALUE -H 'Content-Type: application/json' -d \
  '{"name":"flinkpg-default-demo-cf-taken-sources-1","spec":{"statement":"SELECT 42","properties":{"sql.current-catalog":"x","sql.current-database":"y"}}}' "$API" >/dev/null
run demo-cf-taken | kubectl apply -f - >/dev/null
check "a name held by other SQL: StatementFailed" wait_until 60 bash -c \
  "[ \"\$(kubectl get demorun demo-cf-taken -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].reason}')\" = StatementFailed ]"
check "saying it exists with other SQL" bash -c \
  "kubectl get demorun demo-cf-taken -o jsonpath='{.status.conditions[?(@.type==\"StatementsRunning\")].message}' | grep -q 'flinkpg-default-demo-cf-taken-sources-1: .*already exists with other SQL'"
check_eq "and the other statement is left as it was" "SELECT 42" \
  "$(curl -fsS -u FKEY:cf-s3cr3t-VALUE "$API/flinkpg-default-demo-cf-taken-sources-1" | jq -r .spec.statement)"
kubectl delete demorun demo-cf-sick demo-cf-taken --wait=false >/dev/null
check "the degraded and conflicting runs delete" wait_until 60 bash -c "! kubectl get demorun demo-cf-sick demo-cf-taken 2>/dev/null | grep -q demo"

{ echo "\$ kubectl describe demorun demo-cf"; kubectl describe demorun demo-cf; } >"${FLINKPG_CTL_STMT_SNAPSHOT:-$T_TMP/describe.txt}"

# ---- delete: statements first, then the finalizer ----
inject 503 1000
kubectl delete demorun demo-cf --wait=false >/dev/null
sleep 6
check "while the API cannot delete, the finalizer holds the DemoRun" kubectl get demorun demo-cf
check "a StatementDeleteFailed warning says why" wait_until 20 bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=demo-cf -o jsonpath='{.items[*].reason}' | grep -q StatementDeleteFailed"
inject 503 0
check "delete: the DemoRun goes once its statements are deleted" wait_until 60 bash -c "! kubectl get demorun demo-cf"
check_eq "delete: no statement of the run left on the stand-in" "" "$(on_standin $P)"
check "delete: the other run's statements untouched" test -n "$(on_standin ${P}fail-)"
check "delete: the finalizer waited while the statements were DELETING" grep -q 'event=statements_deleting run=default/demo-cf ' "$LOG"
check "delete: statements deleted before the finalizer was removed (log order)" bash -c \
  "awk '/statement_deleted run=default\/demo-cf /{d=NR} /run=default\/demo-cf result=ok.*finalizer-removed/{f=NR} END{exit !(d && f && d < f)}' '$LOG'"
kubectl delete demorun demo-cf-fail --wait=false >/dev/null
check "delete of the failed run removes its statements too" wait_until 60 bash -c "! kubectl get demorun demo-cf-fail"
check_eq "nothing left on the stand-in" "" "$(on_standin 'flinkpg-.*')"

# ---- steady state: a reconcile that finds nothing to change asks nothing ----
# Three runs whose statements run; the controller resyncs every 3 s. Once
# settled, the API server's audit log counts the controller's requests about
# them (objectRef names start with "steady-") over several resyncs: the
# informer caches answer every read, unchanged applies and status are skipped.
for i in 1 2 3; do run "steady-$i" | kubectl apply -f - >/dev/null; done
steady_ok() { local i; for i in 1 2 3; do cond_is "steady-$i" StatementsRunning True || return 1; done; }
check "steady: three runs with running statements" wait_until 90 steady_ok
sleep 8 # the writes of getting there (their watch events re-queue the runs) settle
ctl_requests() { # requests of the controller about steady-* runs, watches aside
  grep '"stage":"ResponseComplete"' "$FLINKPG_KUBE_AUDIT" | grep '"userAgent":"flinkpg-controller' |
    grep -v '"verb":"watch"' | grep -c '"name":"steady-' ; }
reconciles() { grep -c 'event=reconcile run=default/steady-' "$LOG"; }
q0=$(ctl_requests) r0=$(reconciles)
sleep 12
q1=$(ctl_requests) r1=$(reconciles)
echo "  getting there: $q0 API requests; steady state: $((r1 - r0)) reconciles, $((q1 - q0)) API requests (audit log)"
check "steady: the audit log sees the controller's requests (getting there took some)" test "$q0" -gt 0
check "steady: the runs were reconciled meanwhile (at least 9 times)" test $((r1 - r0)) -ge 9
check_eq "steady: 0 API requests per steady-state reconcile" 0 "$((q1 - q0))"
[ $((q1 - q0)) -eq 0 ] || grep '"userAgent":"flinkpg-controller' "$FLINKPG_KUBE_AUDIT" | grep '"name":"steady-' |
  tail -n 5 | jq -c '{verb, uri: .requestURI}' 2>/dev/null | sed 's/^/  | /'
kubectl delete demorun steady-1 steady-2 steady-3 --wait=false >/dev/null
check "steady: the runs delete cleanly" wait_until 60 bash -c "! kubectl get demoruns -o name | grep -q steady-"

check "the Flink API secret is in no log line" bash -c "! grep -q 'cf-s3cr3t-VALUE' '$LOG'"
check "nor in any event" bash -c "! kubectl get events.events.k8s.io -o yaml | grep -q 'cf-s3cr3t-VALUE'"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report in the controller log" || pass "no sanitizer report in the controller log"
