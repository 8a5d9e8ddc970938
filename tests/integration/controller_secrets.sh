#!/usr/bin/env bash
# Secrets stay secret, and a rotated one is picked up -- over the controller
# on a real kube-apiserver (kwok runs the pods), a Confluent API stand-in and
# the test's real PostgreSQL.  Every Secret a DemoRun references holds a
# distinctive value: the Kafka SASL key (SASL_SSL), the Schema Registry key,
# the Flink API key, and an existing PostgreSQL Secret whose URI carries a
# password the controller really uses (its validation step logs in with it).
# With the controller at debug level, none of those values appears in its
# log, the stand-in's statements, any Event, the DemoRun's status, any
# ConfigMap, or the workloads and pods (env only by secretKeyRef).  Then the
# Kafka and PostgreSQL Secrets are rotated: the sink Deployment's template
# changes (its flinkpg.io/secret-versions annotation) and rolls, the run goes
# on, and the new values leak nowhere either.
# A second run takes CA bundles from Secrets (spec.kafka.tls, SCRAM-SHA-512,
# spec.postgres.tls against a TLS-only PostgreSQL of its own, PG_TLS=1): the
# sink and the generator mount them read-only (a path in the environment,
# never a bundle), the controller's own validation connection verifies the
# server with its private copy (PostgresReady True under verify-full), keeps
# no copy behind, and a rotated CA rolls the sink and is used at once (the
# wrong CA: PostgresReady False, certificate verify failed).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
kube_up

start_confluent_standin FKEY-LEAK7f 'LEAK7f-flink-secret'
ORG=0b1c2d3e-0000-4000-8000-123456789abc
API=$URL/sql/v1/organizations/$ORG/environments/env-abc/statements

# a role of the test PostgreSQL with a distinctive password, and its URI
db=$PGDATABASE
q "DROP ROLE IF EXISTS leak_role; CREATE ROLE leak_role LOGIN PASSWORD 'LEAK7f-pg-pass-1'" >/dev/null
pg_uri() { echo "postgresql://leak_role:$1@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/${db:-postgres}"; }
kubectl create secret generic kafka-creds --from-literal=api-key=LEAK7f-kafka-user \
  --from-literal=api-secret=LEAK7f-kafka-secret-1 >/dev/null
kubectl create secret generic sr-creds --from-literal=api-key=LEAK7f-sr-user \
  --from-literal=api-secret=LEAK7f-sr-secret >/dev/null
kubectl create secret generic flink-creds --from-literal=api-key=FKEY-LEAK7f \
  --from-literal=api-secret=LEAK7f-flink-secret >/dev/null
kubectl create secret generic pg-existing --from-literal=uri="$(pg_uri LEAK7f-pg-pass-1)" >/dev/null

cat >"$T_TMP/run.yaml" <<Y
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: sec}
spec:
  mode: retract
  kafka:
    bootstrapServers: "broker.example:9092"
    securityProtocol: SASL_SSL
    credentialsSecretRef: {name: kafka-creds}
    schemaRegistry: {url: "https://sr.example", credentialsSecretRef: {name: sr-creds}}
    topics: {orders: sec-o, shipments: sec-s, output: sec-out}
  flink:
    backend: confluent
    confluent: {region: us-east-1, cloud: aws, organization: $ORG, environment: env-abc,
                computePool: lfcp-pool1, principal: sa-x1, catalog: demo-env, database: demo-cluster,
                credentialsSecretRef: {name: flink-creds}}
  postgres: {existingSecretRef: {name: pg-existing}}
Y
LOG=$T_TMP/controller.log
CTL_TMP=$T_TMP/ctl-tmp # the controller's TMPDIR: where its private CA copies go
mkdir -p "$CTL_TMP"
TMPDIR=$CTL_TMP ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 3 --confluent-url "$URL" --log-level debug
kubectl apply -f "$T_TMP/run.yaml" >/dev/null
check "the run's statements run on the stand-in" wait_until 60 cond_is sec StatementsRunning True
check "the sink Deployment exists" wait_until 30 kubectl get deployment sec-sink
check "the controller logged in to PostgreSQL with the existing Secret's URI (PostgresReady)" \
  wait_until 60 cond_is sec PostgresReady True

leaks() { # every place a secret must never be: prints what matched
  {
    cat "$LOG" "$T_TMP/standin.log"
    curl -fsS -u FKEY-LEAK7f:LEAK7f-flink-secret "$API?page_size=100"
    kubectl get events.events.k8s.io -A -o yaml
    kubectl get demoruns -A -o yaml
    kubectl get configmaps -A -o yaml
    kubectl get deployments,jobs,statefulsets,replicasets,pods -A -o yaml
  } 2>/dev/null | grep -o 'LEAK7f-[a-z0-9-]*' | grep -v '^LEAK7f-$' | sort -u
}
sleep 4 # a few resyncs at debug level
check_eq "no Secret value in logs, statements, events, status, ConfigMaps or workloads" "" "$(leaks)"
check_eq "the sink gets every credential by secretKeyRef, none as a plain value" "" \
  "$(kubectl get deployment sec-sink -o json | jq -r '.spec.template.spec.containers[].env[] | select(.value != null) | select(.name | test("SECRET|PASSWORD|URL$|KEY$")) | .name' | grep -v '^SCHEMA_REGISTRY_URL$\|^SINK_KEY' )"
check_eq "the secret-bearing variables are references" "KAFKA_API_KEY=kafka-creds KAFKA_API_SECRET=kafka-creds POSTGRES_URL=pg-existing SCHEMA_REGISTRY_API_KEY=sr-creds SCHEMA_REGISTRY_API_SECRET=sr-creds" \
  "$(kubectl get deployment sec-sink -o json | jq -r '[.spec.template.spec.containers[].env[] | select(.valueFrom.secretKeyRef) | "\(.name)=\(.valueFrom.secretKeyRef.name)"] | sort | join(" ")')"

# ---- rotation ----
ann() { kubectl get deployment sec-sink -o jsonpath='{.spec.template.metadata.annotations.flinkpg\.io/secret-versions}'; }
v0=$(ann) g0=$(kubectl get deployment sec-sink -o jsonpath='{.metadata.generation}')
check "the sink's template carries the versions of the Secrets it reads" bash -c \
  "grep -q 'kafka-creds@[0-9]' <<<'$v0' && grep -q 'pg-existing@[0-9]' <<<'$v0' && grep -q 'sr-creds@[0-9]' <<<'$v0'"
kubectl create secret generic kafka-creds --from-literal=api-key=LEAK7f-kafka-user \
  --from-literal=api-secret=LEAK7f-kafka-secret-2 --dry-run=client -o yaml | kubectl apply -f - >/dev/null
t=$SECONDS
check "a rotated Kafka password changes the sink's template (the pods roll)" wait_until 30 bash -c "[ \"\$(kubectl get deployment sec-sink -o jsonpath='{.spec.template.metadata.annotations.flinkpg\\.io/secret-versions}')\" != '$v0' ]"
echo "  Kafka Secret rotated -> sink template changed in $((SECONDS - t)) s"
check "the Deployment's generation moved on (a rollout)" test "$(kubectl get deployment sec-sink -o jsonpath='{.metadata.generation}')" -gt "$g0"
v1=$(ann)
q "ALTER ROLE leak_role PASSWORD 'LEAK7f-pg-pass-2'" >/dev/null
kubectl create secret generic pg-existing --from-literal=uri="$(pg_uri LEAK7f-pg-pass-2)" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
check "a rotated PostgreSQL Secret rolls the sink too" wait_until 30 bash -c "[ \"\$(kubectl get deployment sec-sink -o jsonpath='{.spec.template.metadata.annotations.flinkpg\\.io/secret-versions}')\" != '$v1' ]"
check "the controller logs in with the new password (PostgresReady True again)" \
  wait_until 60 cond_is sec PostgresReady True
check "the run goes on: statements still running" cond_is sec StatementsRunning True
sleep 4
check_eq "and the new values leak nowhere either" "" "$(leaks)"

# ---- CA bundles from Secrets ----
TLS_DIR=$T_TMP/pg-tls
tlspg() { FLINKPG_PG_DIR=$TLS_DIR "$ROOT/tests/peers/postgres.sh" "$@"; }
defer "FLINKPG_PG_DIR='$TLS_DIR' '$ROOT/tests/peers/postgres.sh' destroy >/dev/null 2>&1"
PG_TLS=1 tlspg start >"$T_TMP/tls-start.log" 2>&1 ||
  { echo "FAIL the TLS PostgreSQL did not start:"; sed 's/^/  /' "$T_TMP/tls-start.log"; exit 1; }
read -r TLS_PORT CA OTHER_CA < <(eval "$(tlspg env)"; echo "$PGPORT $FLINKPG_PG_CA $FLINKPG_PG_OTHER_CA")
tq() { psql -X -A -t -q "host=127.0.0.1 port=$TLS_PORT user=flinkpg dbname=postgres sslmode=verify-full sslrootcert=$CA" -c "$1"; }
# the server takes TCP only with TLS: what connects below used TLS
hba=$(tq "SHOW hba_file")
{ echo "hostnossl all all all reject"; cat "$hba"; } >"$T_TMP/hba" && cat "$T_TMP/hba" >"$hba"
tq "SELECT pg_reload_conf()" >/dev/null
kubectl create secret generic pg-tls-uri --from-literal=uri="postgresql://flinkpg@127.0.0.1:$TLS_PORT/postgres" >/dev/null
kubectl create secret generic pg-ca --from-file=ca.crt="$CA" >/dev/null
kubectl create secret generic kafka-ca --from-file=ca.pem="$OTHER_CA" >/dev/null
sed -e 's/name: sec}/name: sectls}/' -e 's/sec-o, shipments: sec-s, output: sec-out/tls-o, shipments: tls-s, output: tls-out/' \
  -e 's/securityProtocol: SASL_SSL/securityProtocol: SASL_SSL\n    saslMechanism: SCRAM-SHA-512\n    tls: {caSecret: {name: kafka-ca, key: ca.pem}}/' \
  -e 's/postgres: {existingSecretRef: {name: pg-existing}}/postgres: {existingSecretRef: {name: pg-tls-uri}, tls: {caSecret: {name: pg-ca}}}/' \
  "$T_TMP/run.yaml" >"$T_TMP/tls.yaml"
kubectl apply -f "$T_TMP/tls.yaml" >/dev/null
check "the controller verifies the TLS PostgreSQL with the CA from Secret pg-ca (verify-full: PostgresReady)" \
  wait_until 60 cond_is sectls PostgresReady True
check "the TLS sink Deployment exists" wait_until 30 kubectl get deployment sectls-sink
for w in deployment/sectls-sink job/sectls-generator; do
  j=$(kubectl get "$w" -o json)
  check_eq "$w: the CA Secrets as read-only volumes of just their key, mode 0440" \
    "kafka-ca:kafka-ca:ca.pem>ca.crt:288 pg-ca:pg-ca:ca.crt>ca.crt:288" \
    "$(jq -r '[.spec.template.spec.volumes[] | select(.secret) | "\(.name):\(.secret.secretName):\(.secret.items[0].key)>\(.secret.items[0].path):\(.secret.defaultMode)"] | sort | join(" ")' <<<"$j")"
  check_eq "$w: mounted read-only under /etc/flinkpg" "/etc/flinkpg/kafka-ca:true /etc/flinkpg/pg-ca:true" \
    "$(jq -r '[.spec.template.spec.containers[0].volumeMounts[] | "\(.mountPath):\(.readOnly)"] | sort | join(" ")' <<<"$j")"
  check_eq "$w: paths, the mechanism and sslmode in the environment" \
    "KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SSL_CA_LOCATION=/etc/flinkpg/kafka-ca/ca.crt PGSSLMODE=verify-full PGSSLROOTCERT=/etc/flinkpg/pg-ca/ca.crt" \
    "$(jq -r '[.spec.template.spec.containers[0].env[] | select(.name | test("^PGSSL|^KAFKA_SSL|^KAFKA_SASL")) | "\(.name)=\(.value)"] | sort | join(" ")' <<<"$j")"
done
check_eq "no bundle in any workload, pod or ConfigMap of a run" "0" \
  "$( { kubectl get deployments,jobs,pods -A -o yaml; kubectl get configmaps -A -l flinkpg.io/run -o yaml; } | grep -c 'BEGIN CERTIFICATE')"
check "the controller kept no copy of a CA bundle (its private directory is empty, mode 700)" wait_until 10 bash -c \
  "d=\$(ls -d '$CTL_TMP'/flinkpg-controller-*) && [ -z \"\$(ls -A \$d)\" ] && [ \"\$(stat -c %a \$d)\" = 700 ]"
tann() { kubectl get deployment sectls-sink -o jsonpath='{.spec.template.metadata.annotations.flinkpg\.io/secret-versions}'; }
t0=$(tann)
check "the TLS sink's template carries the CA Secrets' versions" bash -c \
  "grep -q 'kafka-ca@[0-9]' <<<'$t0' && grep -q 'pg-ca@[0-9]' <<<'$t0'"
kubectl create secret generic pg-ca --from-file=ca.crt="$OTHER_CA" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
check "a rotated PostgreSQL CA rolls the sink" wait_until 30 bash -c "[ \"\$(kubectl get deployment sectls-sink -o jsonpath='{.spec.template.metadata.annotations.flinkpg\\.io/secret-versions}')\" != '$t0' ]"
check "the controller uses the new CA at once (a CA that signed nothing: PostgresReady False)" \
  wait_until 30 cond_is sectls PostgresReady False
check "... and says why" bash -c "kubectl get demorun sectls -o json | jq -r '.status.conditions[] | select(.type==\"PostgresReady\") | .message' | grep -q 'certificate verify failed'"
kubectl create secret generic pg-ca --from-file=ca.crt="$CA" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
check "the right CA again: PostgresReady True" wait_until 30 cond_is sectls PostgresReady True

kubectl delete demorun sec sectls --wait=false >/dev/null
check "the TLS run deletes cleanly" wait_until 60 bash -c "! kubectl get demorun sectls"
check "the run deletes cleanly" wait_until 60 bash -c "! kubectl get demorun sec"
q "DROP ROLE IF EXISTS leak_role" >/dev/null 2>&1
check_eq "nothing in the log after the delete either" "" "$(grep -o 'LEAK7f-[a-z0-9-]*' "$LOG" | sort -u)"
check "controller exits 0 on SIGTERM (ASan clean)" ctl_stop "$CTL_PID"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report in the controller log" || pass "no sanitizer report in the controller log"
