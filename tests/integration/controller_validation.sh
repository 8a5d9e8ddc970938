#!/usr/bin/env bash
# The controller's look at a run's result: once the generator's Job is complete
# and the sink is ready, it compares orders_shipments with
# expected_orders_shipments in the run's PostgreSQL (here the test's real
# server, through spec.postgres.existingSecretRef) and writes the numbers into
# status.validation, status.rows and the Validated condition.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
new_db
kube_up

PW=vAl1dPw$$
kubectl create secret generic pgtest \
  --from-literal=uri="postgresql://$PGUSER:$PW@127.0.0.1:$PGPORT/$PGDATABASE" >/dev/null
kubectl apply -f - >/dev/null <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: val}
spec:
  mode: append
  kafka: {bootstrapServers: "k:9092", topics: {}}
  flink: {backend: gateway, gateway: {url: "http://127.0.0.1:9"}}
  postgres: {existingSecretRef: {name: pgtest}}
Y
LOG=$T_TMP/controller.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 2 --http-listen 127.0.0.1:0
reason() { jp "demorun/$1" "{.status.conditions[?(@.type==\"$2\")].reason}"; }
msg() { jp "demorun/$1" "{.status.conditions[?(@.type==\"$2\")].message}"; }
reason_is() { [ "$(reason "$1" "$2")" = "$3" ]; }

check "GeneratorComplete True (kwok completes the Job)" wait_until 60 cond_is val GeneratorComplete True
check "SinkReady True" wait_until 60 cond_is val SinkReady True
check "existing server that answers: PostgresReady True/ExternalServerReachable" \
  wait_until 30 reason_is val PostgresReady ExternalServerReachable
check_eq "existing server that answers: PostgresReady status" "True" "$(cond val PostgresReady)"
# ---- the tables do not exist yet: Unknown, with PostgreSQL's reason ----
check "no tables yet: Validated Unknown/ValidationError" wait_until 20 bash -c \
  "[ \"\$(kubectl get demorun val -o jsonpath='{.status.conditions[?(@.type==\"Validated\")].reason}')\" = ValidationError ]"
check_eq "no tables yet: Validated status" "Unknown" "$(cond val Validated)"
check "no tables yet: the message says which table is missing" bash -c "grep -q 'does not exist' <<<'$(msg val Validated)'"
check_eq "no tables yet: no numbers in the status" "" "$(jp demorun/val '{.status.validation}')"

# ---- damaged: one row missing, one wrong value ----
for t in expected_orders_shipments orders_shipments; do
  psql -X -q -v ON_ERROR_STOP=1 -v table=$t -f "$ROOT/sql/postgres/orders_shipments.sql" >/dev/null
done
q "INSERT INTO expected_orders_shipments (order_id, shipment_id, customer, product, quantity, amount, order_status)
   VALUES (1,0,'ann','pen',1,1.50,'NEW'), (2,0,'bob','ink',2,3.00,'NEW'),
          (3,0,'cy','pad',3,4.50,'PAID'), (4,0,'di','cap',4,6.00,'PAID')" >/dev/null
# one transaction: a resync between the two would validate a half-damaged table
q "INSERT INTO orders_shipments SELECT * FROM expected_orders_shipments WHERE order_id <> 4;
   UPDATE orders_shipments SET amount = 99.99 WHERE order_id = 2" >/dev/null
check "damaged: Validated False/Fail" wait_until 20 bash -c \
  "[ \"\$(kubectl get demorun val -o jsonpath='{.status.conditions[?(@.type==\"Validated\")].status}/{.status.conditions[?(@.type==\"Validated\")].reason}')\" = False/Fail ]"
check_eq "damaged: status.validation numbers" "4 3 1 0 1 0 FAIL" \
  "$(jp demorun/val '{.status.validation.rowsExpected} {.status.validation.rowsPresent} {.status.validation.missing} {.status.validation.unexpected} {.status.validation.wrongValues} {.status.validation.duplicateKeys} {.status.validation.verdict}')"
check_eq "damaged: status.rows" "3/4" "$(jp demorun/val '{.status.rows}')"
check "damaged: the condition's message carries the numbers" bash -c \
  "grep -q 'missing=1 unexpected=0 wrong_values=1' <<<'$(msg val Validated)'"
kubectl get demoruns >"$T_TMP/get.txt"
check "kubectl get demoruns: ROWS and VERDICT shown" grep -Eq '^val +append +Running +3/4 +FAIL' "$T_TMP/get.txt"
check "a failed validation is a Warning event" bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=val,reason=Fail -o jsonpath='{.items[*].type}' | grep -q Warning"
check "Ready does not wait for validation (it is about the run's parts)" bash -c "! grep -q Validated <<<'$(msg val Ready)'"
{ echo "\$ kubectl get demoruns"; cat "$T_TMP/get.txt"; echo; echo "\$ kubectl describe demorun val"; kubectl describe demorun val; } >"${FLINKPG_CTL_SNAPSHOT:-$T_TMP/snapshot.txt}"

# ---- repaired: PASS, and then the controller stops asking ----
q "INSERT INTO orders_shipments SELECT * FROM expected_orders_shipments WHERE order_id = 4;
   UPDATE orders_shipments SET amount = 3.00 WHERE order_id = 2" >/dev/null
check "repaired: Validated True/Pass" wait_until 20 bash -c \
  "[ \"\$(kubectl get demorun val -o jsonpath='{.status.conditions[?(@.type==\"Validated\")].status}/{.status.conditions[?(@.type==\"Validated\")].reason}')\" = True/Pass ]"
check_eq "repaired: status.validation numbers" "4 4 0 0 0 0 PASS" \
  "$(jp demorun/val '{.status.validation.rowsExpected} {.status.validation.rowsPresent} {.status.validation.missing} {.status.validation.unexpected} {.status.validation.wrongValues} {.status.validation.duplicateKeys} {.status.validation.verdict}')"
check_eq "repaired: status.rows" "4/4" "$(jp demorun/val '{.status.rows}')"
check "repaired: kubectl get demoruns shows PASS" bash -c "kubectl get demoruns | grep -Eq '^val +append +[A-Za-z]+ +4/4 +PASS'"
n0=$(grep -c 'event=validate run=default/val' "$LOG")
sleep 5
check_eq "after PASS no more queries (two resyncs later)" "$n0" "$(grep -c 'event=validate run=default/val' "$LOG")"
check_eq "after PASS the verdict stands" "True/PASS" "$(cond val Validated)/$(jp demorun/val '{.status.validation.verdict}')"

# ---- an unreachable server: Unknown, not a crash, the URI never shown ----
kubectl create secret generic pgdown --from-literal=uri="postgresql://$PGUSER:$PW@127.0.0.1:9/$PGDATABASE" >/dev/null
kubectl get demorun val -o json | sed 's/"name": "val"/"name": "valdown"/; s/"pgtest"/"pgdown"/' |
  python3 -c 'import json,sys; d=json.load(sys.stdin); d["metadata"]={"name":"valdown"}; d.pop("status",None); print(json.dumps(d))' |
  kubectl apply -f - >/dev/null
check "unreachable PostgreSQL: Validated Unknown/ValidationError" wait_until 60 bash -c \
  "[ \"\$(kubectl get demorun valdown -o jsonpath='{.status.conditions[?(@.type==\"Validated\")].status}/{.status.conditions[?(@.type==\"Validated\")].reason}')\" = Unknown/ValidationError ]"
check "unreachable PostgreSQL: the message says connecting failed" bash -c "grep -q 'connecting to PostgreSQL' <<<'$(msg valdown Validated)'"
check_eq "unreachable PostgreSQL: PostgresReady False/ExternalServerUnreachable" "False/ExternalServerUnreachable" \
  "$(cond valdown PostgresReady)/$(jp demorun/valdown '{.status.conditions[?(@.type=="PostgresReady")].reason}')"
check "the password is in no log line, status or event" bash -c \
  "! grep -q '$PW' '$LOG' && ! kubectl get demoruns,events.events.k8s.io -o yaml | grep -q '$PW'"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report in the controller log" || pass "no sanitizer report in the controller log"
