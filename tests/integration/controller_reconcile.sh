#!/usr/bin/env bash
# The controller against a real kube-apiserver (tests/peers/kube.sh): the CRD
# and its admission validation, the objects each sample gets, conditions as
# kwok makes pods ready, idempotency, a hand edit reverted, a spec change
# applied in place, and deletion through the finalizer and the garbage
# collector.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
kube_up

# ---- admission: invalid DemoRuns are rejected with the field named ----
base() { # mode extra-yaml (appended under spec)
  cat <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: bad}
spec:
  mode: $1
  kafka: {bootstrapServers: "k:9092", topics: {}}
  flink: {backend: gateway, gateway: {url: "http://gw:8083"}}
  postgres: {inCluster: {}}
$2
Y
}
reject() { # name want-substring yaml
  local out
  if out=$(printf '%s\n' "$3" | kubectl apply -f - 2>&1); then
    fail "invalid DemoRun accepted: $1"; kubectl delete demorun bad --wait=false >/dev/null 2>&1
  elif grep -qF -- "$2" <<<"$out"; then pass "rejected, message names the field: $1"
  else fail "rejected without naming $2: $1"$'\n'"  got: $out"; fi
}
check "a valid minimal DemoRun passes admission" bash -c "$(declare -f base); base append '' | kubectl apply --dry-run=server -f -"
reject "unknown mode" "spec.mode" "$(base sideways '')"
reject "upsert without key columns (CEL)" "spec.sink.keyColumns" "$(base upsert '')"
reject "confluent backend without its ids (CEL)" "spec.flink.confluent" \
  "$(base append '' | sed 's|flink: {backend: gateway, gateway: {url: "http://gw:8083"}}|flink: {backend: confluent}|')"
reject "confluent compute pool pattern" "spec.flink.confluent.computePool" \
  "$(base append '' | sed 's|flink: {.*|flink: {backend: confluent, confluent: {region: us-east-1, cloud: aws, organization: 0b1c2d3e-0000-4000-8000-123456789abc, environment: env-abc, computePool: pool1, principal: sa-x1, catalog: e, database: c, credentialsSecretRef: {name: f}}}|')"
reject "confluent without a Schema Registry (its tables are json-registry)" "spec.kafka.schemaRegistry" \
  "$(base append '' | sed 's|flink: {.*|flink: {backend: confluent, confluent: {region: us-east-1, cloud: aws, organization: 0b1c2d3e-0000-4000-8000-123456789abc, environment: env-abc, computePool: lfcp-pool1, principal: sa-x1, catalog: e, database: c, credentialsSecretRef: {name: f}}}|')"
reject "confluent without catalog/database (the templates' table names are unqualified)" "spec.flink.confluent.catalog" \
  "$(base append '' | sed 's|flink: {.*|flink: {backend: confluent, confluent: {region: us-east-1, cloud: aws, organization: 0b1c2d3e-0000-4000-8000-123456789abc, environment: env-abc, computePool: lfcp-pool1, principal: sa-x1, credentialsSecretRef: {name: f}}}|')"
reject "both inCluster and existingSecretRef (CEL)" "spec.postgres" \
  "$(base append '' | sed 's|postgres: {inCluster: {}}|postgres: {inCluster: {}, existingSecretRef: {name: pg}}|')"
reject "neither inCluster nor existingSecretRef (CEL)" "spec.postgres" \
  "$(base append '' | sed 's|postgres: {inCluster: {}}|postgres: {}|')"
reject "generator orders out of range" "spec.generator.orders" "$(base append '  generator: {orders: 0}')"
reject "sink replicas out of range" "spec.sink.replicas" "$(base append '  sink: {replicas: 99}')"
reject "gateway url not http(s)" "spec.flink.gateway.url" \
  "$(base append '' | sed 's|http://gw:8083|ftp://gw|')"
reject "SASL without credentials (CEL)" "spec.kafka.credentialsSecretRef" \
  "$(base append '' | sed 's|kafka: {bootstrapServers: "k:9092"|kafka: {securityProtocol: SASL_SSL, bootstrapServers: "k:9092"|')"
# TLS material from Secrets (spec.kafka.tls, spec.kafka.saslMechanism, spec.postgres.tls)
EXISTING='postgres: {existingSecretRef: {name: pg}'
check "a DemoRun with both CA Secrets, SCRAM and sslMode passes admission" bash -c \
  "$(declare -f base); base append '' | sed 's|kafka: {bootstrapServers: \"k:9092\"|kafka: {securityProtocol: SASL_SSL, saslMechanism: SCRAM-SHA-256, credentialsSecretRef: {name: c}, tls: {caSecret: {name: kca}}, bootstrapServers: \"k:9092\"|; s|postgres: {inCluster: {}}|$EXISTING, tls: {caSecret: {name: pca, key: root.pem}, sslMode: verify-ca}}|' | kubectl apply --dry-run=server -f -"
reject "postgres sslMode not one of libpq's" "spec.postgres.tls.sslMode" \
  "$(base append '' | sed "s|postgres: {inCluster: {}}|$EXISTING, tls: {sslMode: verify}}|")"
reject "a CA with sslMode disable (CEL)" "spec.postgres.tls.sslMode" \
  "$(base append '' | sed "s|postgres: {inCluster: {}}|$EXISTING, tls: {caSecret: {name: pca}, sslMode: disable}}|")"
reject "postgres tls on the in-cluster server (CEL)" "spec.postgres.tls" \
  "$(base append '' | sed 's|postgres: {inCluster: {}}|postgres: {inCluster: {}, tls: {sslMode: require}}|')"
reject "a Kafka CA without TLS (CEL)" "spec.kafka.tls" \
  "$(base append '' | sed 's|kafka: {bootstrapServers: "k:9092"|kafka: {tls: {caSecret: {name: kca}}, bootstrapServers: "k:9092"|')"
reject "a SASL mechanism without SASL (CEL)" "spec.kafka.saslMechanism" \
  "$(base append '' | sed 's|kafka: {bootstrapServers: "k:9092"|kafka: {saslMechanism: SCRAM-SHA-256, bootstrapServers: "k:9092"|')"
reject "an unknown SASL mechanism" "spec.kafka.saslMechanism" \
  "$(base append '' | sed 's|kafka: {bootstrapServers: "k:9092"|kafka: {securityProtocol: SASL_SSL, saslMechanism: GSSAPI, credentialsSecretRef: {name: c}, bootstrapServers: "k:9092"|')"
reject "a CA Secret key that is no Secret key" "spec.kafka.tls.caSecret.key" \
  "$(base append '' | sed 's|kafka: {bootstrapServers: "k:9092"|kafka: {securityProtocol: SSL, tls: {caSecret: {name: kca, key: ../ca}}, bootstrapServers: "k:9092"|')"
reject "two topics with the same name (CEL)" "spec.kafka.topics" \
  "$(base append '' | sed 's|topics: {}|topics: {orders: a, shipments: a}|')"
reject "bootstrap servers without a port" "spec.kafka.bootstrapServers" \
  "$(base append '' | sed 's|"k:9092"|"kafka"|')"
reject "storage size not a quantity" "spec.postgres.inCluster.storageSize" \
  "$(base append '' | sed 's|inCluster: {}|inCluster: {storageSize: lots}|')"
reject "missing kafka" "spec.kafka" "$(base append '' | grep -v '  kafka:')"

# ---- the samples, reconciled ----
for m in append upsert retract; do
  check "sample demorun-$m applies" kubectl apply -f "$ROOT/manifests/samples/demorun-$m.yaml"
done
LOG=$T_TMP/controller.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3 --http-listen 127.0.0.1:0
children() { # run: "kind name" lines of everything labelled with the run
  kubectl get secrets,services,configmaps,statefulsets,deployments,jobs -l "flinkpg.io/run=$1" \
    -o jsonpath='{range .items[*]}{.kind} {.metadata.name}{"\n"}{end}' | sort
}
for m in append upsert retract; do
  r=demo-$m
  want="ConfigMap $r-sql
Deployment $r-sink
Job $r-generator
Secret $r-postgres
Service $r-postgres
StatefulSet $r-postgres"
  wait_until 30 bash -c "[ \"\$(kubectl get secrets,services,configmaps,statefulsets,deployments,jobs -l flinkpg.io/run=$r -o name | wc -l)\" = 6 ]"
  check_eq "$r: exactly the expected children" "$want" "$(children $r)"
  uid=$(jp demorun/$r '{.metadata.uid}')
  refs=$(kubectl get secrets,services,configmaps,statefulsets,deployments,jobs -l "flinkpg.io/run=$r" \
    -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].uid}/{.metadata.ownerReferences[0].controller}{"\n"}{end}' | sort -u)
  check_eq "$r: every child has a controller ownerReference to the DemoRun" "DemoRun/$r/$uid/true" "$refs"
  check_eq "$r: finalizer added" "flinkpg.io/cleanup" "$(jp demorun/$r '{.metadata.finalizers[*]}')"
done

# ---- specs of the children ----
r=demo-retract
check_eq "statefulset: claims deleted with it" "Delete" "$(jp sts/$r-postgres '{.spec.persistentVolumeClaimRetentionPolicy.whenDeleted}')"
check_eq "statefulset: volume claim template size" "1Gi" "$(jp sts/$r-postgres '{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}')"
check_eq "statefulset: claim bound (hostPath provisioner)" "Bound" "$(wait_until 30 bash -c "[ \"\$(kubectl get pvc data-$r-postgres-0 -o jsonpath='{.status.phase}')\" = Bound ]"; jp pvc/data-$r-postgres-0 '{.status.phase}')"
for w in sts/$r-postgres deploy/$r-sink job/$r-generator; do
  sc=$(jp $w '{.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}/{.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation}/{.spec.template.spec.containers[0].securityContext.capabilities.drop[0]}/{.spec.template.spec.securityContext.runAsNonRoot}/{.spec.template.spec.securityContext.seccompProfile.type}')
  check_eq "$w: hardened pod (read-only root, no escalation, drop ALL, non-root, RuntimeDefault)" "true/false/ALL/true/RuntimeDefault" "$sc"
  res=$(jp $w '{.spec.template.spec.containers[0].resources.requests.cpu}/{.spec.template.spec.containers[0].resources.limits.memory}')
  check "$w: requests and limits set" test -n "${res#/}" -a "${res#*/}" != "" -a "${res%/*}" != ""
done
env_of() { jp "$1" "{.spec.template.spec.containers[0].env[?(@.name==\"$2\")].value}"; }
check_eq "sink (retract, gateway): debezium encoding" "debezium" "$(env_of deploy/$r-sink SINK_ENCODING)"
check_eq "sink: output topic from the spec" "retract-orders-enriched" "$(env_of deploy/$r-sink SINK_TOPIC)"
check_eq "sink: PostgreSQL URL from the Secret, not inline" "$r-postgres/uri" \
  "$(jp deploy/$r-sink '{.spec.template.spec.containers[0].env[?(@.name=="POSTGRES_URL")].valueFrom.secretKeyRef.name}/{.spec.template.spec.containers[0].env[?(@.name=="POSTGRES_URL")].valueFrom.secretKeyRef.key}')"
check_eq "upsert sink: key columns" "order_id,shipment_id" "$(env_of deploy/demo-upsert-sink SINK_KEY_COLUMNS)"
check_eq "upsert sink: creates the demo table when missing" "true" "$(env_of deploy/demo-upsert-sink SINK_CREATE_TABLE)"
check_eq "upsert sink: waits for PostgreSQL as long as it takes (SINK_CONNECT_TIMEOUT=0)" "0" "$(env_of deploy/demo-upsert-sink SINK_CONNECT_TIMEOUT)"
check "upsert sink: the demo's columns (as sql/postgres/orders_shipments.sql)" \
  grep -q 'amount numeric(12,2), .*shipment_updated_at timestamptz$' <<<"$(env_of deploy/demo-upsert-sink SINK_COLUMNS)"
check_eq "pods without service links" "false" "$(jp deploy/demo-upsert-sink '{.spec.template.spec.enableServiceLinks}')"
check_eq "generator: seed and orders from the spec" "42/1000" "$(env_of job/$r-generator GEN_SEED)/$(env_of job/$r-generator GEN_ORDERS)"
check_eq "generator: topics under the generator's own variable names" "retract-orders" "$(env_of job/$r-generator ORDERS_TOPIC)"
check_eq "generator: knobs one to one as the generator's flags (amendPct 20, cancelPct 5, maxShipments 2)" "20/5/2" \
  "$(env_of job/$r-generator GEN_AMEND_PCT)/$(env_of job/$r-generator GEN_CANCEL_PCT)/$(env_of job/$r-generator GEN_MAX_SHIPMENTS)"
check_eq "generator: writes the expected table beside the target, URL from the Secret" "orders_shipments $r-postgres/uri" \
  "$(env_of job/$r-generator GEN_TARGET_TABLE) $(jp job/$r-generator '{.spec.template.spec.containers[0].env[?(@.name=="POSTGRES_URL")].valueFrom.secretKeyRef.name}/{.spec.template.spec.containers[0].env[?(@.name=="POSTGRES_URL")].valueFrom.secretKeyRef.key}')"
check "configmap: rendered SQL with the run's topics" bash -c "kubectl get cm $r-sql -o jsonpath='{.data.sources\.sql}' | grep -q \"'topic' = 'retract-orders'\""
# the samples use SASL_PLAINTEXT: credentials are added at submission, never stored
check_eq "configmap: the only placeholder left is the SASL options' (no credentials stored)" '${kafka_options}' \
  "$(kubectl get cm $r-sql -o yaml | grep -o '\${[a-z_]*}' | sort -u)"

# ---- conditions and phase as kwok makes the pods ready ----
for m in append upsert retract; do
  r=demo-$m
  check "$r: PostgresReady becomes True" wait_until 60 cond_is $r PostgresReady True
  check "$r: SinkReady becomes True" wait_until 60 cond_is $r SinkReady True
  check "$r: GeneratorComplete becomes True (Job succeeded)" wait_until 60 cond_is $r GeneratorComplete True
  check_eq "$r: StatementsRunning honestly False (the sample's Gateway is not reachable here)" "False/BackendUnreachable" \
    "$(cond $r StatementsRunning)/$(jp demorun/$r '{.status.conditions[?(@.type=="StatementsRunning")].reason}')"
  check "$r: Validated Unknown/ValidationError (the in-cluster PostgreSQL is not reachable from here)" wait_until 20 bash -c \
    "[ \"\$(kubectl get demorun $r -o jsonpath='{.status.conditions[?(@.type==\"Validated\")].status}/{.status.conditions[?(@.type==\"Validated\")].reason}')\" = Unknown/ValidationError ]"
  check_eq "$r: Ready False while statements are not running" "False" "$(cond $r Ready)"
  check "$r: phase Running" wait_until 20 bash -c "[ \"\$(kubectl get demorun $r -o jsonpath='{.status.phase}')\" = Running ]"
  check_eq "$r: observedGeneration" "$(jp demorun/$r '{.metadata.generation}')" "$(jp demorun/$r '{.status.observedGeneration}')"
done
kubectl get demoruns >"$T_TMP/get.txt"
check_eq "kubectl get demoruns: printer columns" "NAME MODE PHASE ROWS VERDICT AGE" "$(head -1 "$T_TMP/get.txt" | tr -s ' ')"
check "kubectl get demoruns: mode and phase shown" grep -Eq '^demo-upsert +upsert +Running' "$T_TMP/get.txt"
check "events.k8s.io events recorded (Applied, PodReady)" bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=demo-append -o jsonpath='{.items[*].reason}' | grep -q Applied && kubectl get events.events.k8s.io --field-selector regarding.name=demo-append -o jsonpath='{.items[*].reason}' | grep -q PodReady"
{ echo "\$ kubectl get demoruns"; cat "$T_TMP/get.txt"; echo; echo "\$ kubectl describe demorun demo-retract"; kubectl describe demorun demo-retract; } >"${FLINKPG_CTL_SNAPSHOT:-$T_TMP/snapshot.txt}"

# ---- idempotent: resyncs change nothing ----
rvs() { kubectl get secrets,services,configmaps,statefulsets,deployments,jobs,demoruns -l "flinkpg.io/run=demo-append" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'; echo "$(jp demorun/demo-append '{.metadata.resourceVersion}')"; }
ltt=$(jp demorun/demo-append '{.status.conditions[?(@.type=="PostgresReady")].lastTransitionTime}')
before=$(rvs); sleep 7; after=$(rvs)
check_eq "idempotent: two resyncs later no object (nor the status) was written" "$before" "$after"
check_eq "lastTransitionTime unchanged while the status holds" "$ltt" "$(jp demorun/demo-append '{.status.conditions[?(@.type=="PostgresReady")].lastTransitionTime}')"

# ---- a hand edit is reverted ----
kubectl scale deploy demo-append-sink --replicas=3 >/dev/null
check "hand edit of the sink's replicas reverted" wait_until 20 bash -c "[ \"\$(kubectl get deploy demo-append-sink -o jsonpath='{.spec.replicas}')\" = 1 ]"
kubectl patch cm demo-append-sql --type merge -p '{"data":{"sources.sql":"-- edited"}}' >/dev/null
check "hand edit of the rendered SQL reverted" wait_until 20 bash -c "kubectl get cm demo-append-sql -o jsonpath='{.data.sources\.sql}' | grep -q 'CREATE TABLE'"

# ---- a spec change: the Job is replaced, nothing else recreated ----
uids() { echo "$(jp sts/demo-append-postgres '{.metadata.uid}') $(jp deploy/demo-append-sink '{.metadata.uid}') $(jp secret/demo-append-postgres '{.metadata.uid}') $(jp secret/demo-append-postgres '{.data.password}')"; }
u0=$(uids); job0=$(jp job/demo-append-generator '{.metadata.uid}')
kubectl patch demorun demo-append --type merge -p '{"spec":{"generator":{"orders":2500},"sink":{"batchSize":250}}}' >/dev/null
check "spec change: generator Job recreated with orders=2500" wait_until 30 bash -c \
  "[ \"\$(kubectl get job demo-append-generator -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name==\"GEN_ORDERS\")].value}')\" = 2500 ]"
check "spec change: the Job is a new object" test "$(jp job/demo-append-generator '{.metadata.uid}')" != "$job0"
check "spec change: sink batch size updated in place" wait_until 20 bash -c \
  "[ \"\$(kubectl get deploy demo-append-sink -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name==\"SINK_BATCH_SIZE\")].value}')\" = 250 ]"
check_eq "spec change: StatefulSet, Deployment, Secret (and password) not recreated" "$u0" "$(uids)"
check "spec change: observedGeneration follows" wait_until 20 bash -c \
  "[ \"\$(kubectl get demorun demo-append -o jsonpath='{.status.observedGeneration}')\" = \"\$(kubectl get demorun demo-append -o jsonpath='{.metadata.generation}')\" ]"

# ---- what a running pipeline is built from cannot change (CEL transition rules) ----
immutable() { # name want-substring patch
  local out
  if out=$(kubectl patch demorun demo-append --type merge -p "$3" 2>&1); then fail "change accepted: $1"
  elif grep -qF -- "$2" <<<"$out"; then pass "change rejected, message names the field: $1"
  else fail "change rejected without naming $2: $1"$'\n'"  got: $out"; fi
}
immutable "spec.mode" "spec.mode is immutable" '{"spec":{"mode":"retract"}}'
immutable "spec.kafka.topics" "spec.kafka.topics is immutable" '{"spec":{"kafka":{"topics":{"output":"elsewhere"}}}}'
immutable "spec.flink" "spec.flink is immutable" '{"spec":{"flink":{"gateway":{"url":"http://other:8083"}}}}'

# ---- suspend ----
kubectl patch demorun demo-retract --type merge -p '{"spec":{"suspend":true}}' >/dev/null
check "suspend: sink scaled to zero" wait_until 20 bash -c "[ \"\$(kubectl get deploy demo-retract-sink -o jsonpath='{.spec.replicas}')\" = 0 ]"
check "suspend: phase Suspended" wait_until 20 bash -c "[ \"\$(kubectl get demorun demo-retract -o jsonpath='{.status.phase}')\" = Suspended ]"

# ---- delete: the finalizer runs, the garbage collector removes the children ----
kubectl delete demorun demo-upsert --wait=false >/dev/null
check "delete: the DemoRun goes (finalizer removed)" wait_until 30 bash -c "! kubectl get demorun demo-upsert"
check "delete: garbage collector removed every child" wait_until 60 bash -c \
  "[ -z \"\$(kubectl get secrets,services,configmaps,statefulsets,deployments,jobs -l flinkpg.io/run=demo-upsert -o name)\" ]"
check "delete: the PostgreSQL claim removed too" wait_until 60 bash -c "! kubectl get pvc data-demo-upsert-postgres-0"
check "delete: cleanup event recorded" bash -c \
  "kubectl get events.events.k8s.io --field-selector regarding.name=demo-upsert -o jsonpath='{.items[*].reason}' | grep -q StatementsDeleted"
check "other runs untouched by the delete" kubectl get sts demo-append-postgres demo-retract-postgres

port=$(grep -o 'event=http_listening .*port=[0-9]*' "$LOG" | head -1 | sed 's/.*=//')
check "metrics: reconciles counted" bash -c "curl -sf 127.0.0.1:$port/metrics | grep -q 'flinkpg_controller_reconciles_total{result=\"ok\"}'"
check "readyz: 200 once the watches are synced" curl -sf "127.0.0.1:$port/readyz"
check "one log line per reconcile names the run" grep -q 'event=reconcile run=default/demo-append result=' "$LOG"
check "an unreachable Gateway is a reconcile error, retried with backoff" grep -q 'event=reconcile run=default/demo-append result=error.*statements: asking the JobManager' "$LOG"
check "no secret in the log" bash -c "! grep -q \"\$(kubectl get secret demo-append-postgres -o jsonpath='{.data.password}' | base64 -d)\" '$LOG'"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report in the controller log" || pass "no sanitizer report in the controller log"
