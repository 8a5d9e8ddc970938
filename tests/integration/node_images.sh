#!/usr/bin/env bash
# flinkpg's images as real pods on a real node (tests/peers/node.sh: kubelet,
# containerd + runc, CNI bridge, kube-proxy, CoreDNS), in namespaces that
# enforce the `restricted` Pod Security Standard:
#   - Kafka (flinkpg/kafka) and PostgreSQL (flinkpg/postgres) pods behind Services;
#   - the sink pod reaches both by their cluster DNS names, is probed by the
#     kubelet (readiness /readyz, liveness /healthz), applies a changelog
#     produced to Kafka, serves /metrics, and exits 0 on pod deletion (SIGTERM);
#   - the controller image as a Deployment with its ServiceAccount token
#     (in-cluster config through the kubernetes Service) reconciles a DemoRun:
#     in-cluster PostgreSQL StatefulSet, generator Job to completion, sink
#     Deployment available;
#   - a DemoRun whose sink image does not exist gets SinkReady=False naming
#     the image and the kubelet's ErrImagePull/ImagePullBackOff.
. "$(dirname "$0")/../lib/common.sh"

NODE="$ROOT/tests/peers/node.sh"

wait_for_cmd() { # seconds command...: poll every second
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}
table_is_expected() {
  q "CREATE TABLE IF NOT EXISTS items_expected (LIKE items)" >/dev/null &&
    q "TRUNCATE items_expected" >/dev/null &&
    psql -X -q -c "\\copy items_expected FROM '$T_TMP/expected.tsv'" >/dev/null &&
    [ "$(q "SELECT count(*) FROM items_expected")" -gt 0 ] &&
    [ "$(tables_differ items items_expected)" = 0 ]
}
export FLINKPG_PEERS_DIR=$T_TMP/peers
NSX=flinkpg-node-test      # the test's workloads
SYS=flinkpg-system         # the controller

defer node_teardown

# ---- images (make images) and the node ----
t0=$SECONDS
if ! "$ROOT/images/build.sh" >"$T_TMP/images.log" 2>&1; then
  echo "FAIL make images (images/build.sh):"; tail -n 30 "$T_TMP/images.log" | sed 's/^/  /'; exit 1
fi
echo "  images built or up to date in $((SECONDS - t0)) s"
grep -E '^ *(flinkpg-|pause|postgres|kafka)' "$T_TMP/images.log" | sed 's/^/  /' || true
t0=$SECONDS
if ! "$NODE" start >"$T_TMP/node-start.log" 2>&1; then
  echo "FAIL the real node did not start (tests/peers/node.sh start):"
  tail -n 40 "$T_TMP/node-start.log" | sed 's/^/  /'; exit 1
fi
eval "$("$NODE" env)"
mapfile -t archives < <("$ROOT/images/build.sh" --archives)
check "images loaded into the node's containerd" "$NODE" load "${archives[@]}"
echo "  node up and images loaded in $((SECONDS - t0)) s"
check_eq "node localhost Ready" True \
  "$(kubectl get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"

TAG=dev
IMG=flinkpg
for ns in $NSX $SYS; do
  kubectl create namespace $ns >/dev/null
  kubectl label namespace $ns flinkpg.test/node=1 \
    pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null
done

# The restricted profile, as every pod here declares it.
SECCTX='securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}'

# The admission check itself: a privileged pod is refused in these namespaces.
if kubectl -n $NSX run intruder --image=$IMG/pause:$TAG --privileged --restart=Never >"$T_TMP/intruder.log" 2>&1; then
  fail "restricted namespace admitted a privileged pod"
else
  check "restricted namespace refuses a privileged pod" grep -q 'violates PodSecurity "restricted' "$T_TMP/intruder.log"
fi

kubectl -n $NSX apply -f - >"$T_TMP/apply-peers.log" 2>&1 <<EOF || { fail "apply the peer pods"; cat "$T_TMP/apply-peers.log"; }
apiVersion: v1
kind: Secret
metadata: {name: pg}
stringData: {user: flinkpg, password: "s3cret-$$", database: flinkpg,
             uri: "postgresql://flinkpg:s3cret-$$@pg.$NSX.svc.cluster.local:5432/flinkpg"}
---
apiVersion: v1
kind: Pod
metadata: {name: pg, labels: {app: pg}}
spec:
  enableServiceLinks: false
  securityContext: {runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: postgres
    image: $IMG/postgres:$TAG
    env:
    - {name: POSTGRES_USER, valueFrom: {secretKeyRef: {name: pg, key: user}}}
    - {name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: pg, key: password}}}
    - {name: POSTGRES_DB, valueFrom: {secretKeyRef: {name: pg, key: database}}}
    - {name: PGDATA, value: /var/lib/postgresql/data/pgdata}
    ports: [{name: postgres, containerPort: 5432}]
    readinessProbe: {exec: {command: [pg_isready, -U, flinkpg]}, periodSeconds: 2}
    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 512Mi}}
    $SECCTX
    volumeMounts:
    - {name: data, mountPath: /var/lib/postgresql/data}
    - {name: run, mountPath: /var/run/postgresql}
    - {name: tmp, mountPath: /tmp}
  volumes: [{name: data, emptyDir: {}}, {name: run, emptyDir: {}}, {name: tmp, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: pg}
spec: {selector: {app: pg}, ports: [{name: postgres, port: 5432, targetPort: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: kafka, labels: {app: kafka}}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: kafka
    image: $IMG/kafka:$TAG
    env:
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: KAFKA_HEAP_OPTS, value: "-Xms128m -Xmx384m"}
    ports: [{name: kafka, containerPort: 9092}]
    readinessProbe: {tcpSocket: {port: kafka}, periodSeconds: 2}
    resources: {requests: {cpu: 200m, memory: 512Mi}, limits: {cpu: "1", memory: 1Gi}}
    $SECCTX
    volumeMounts: [{name: data, mountPath: /var/lib/kafka}, {name: tmp, mountPath: /tmp}]
  volumes: [{name: data, emptyDir: {}}, {name: tmp, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: kafka}
spec: {selector: {app: kafka}, ports: [{name: kafka, port: 9092, targetPort: kafka}]}
EOF
check "PostgreSQL pod Ready" kubectl -n $NSX wait --for=condition=Ready pod/pg --timeout=120s
check "Kafka pod Ready" kubectl -n $NSX wait --for=condition=Ready pod/kafka --timeout=180s
PG_IP=$(kubectl -n $NSX get pod pg -o jsonpath='{.status.podIP}')
PG_SVC=$(kubectl -n $NSX get svc pg -o jsonpath='{.spec.clusterIP}')
KAFKA_IP=$(kubectl -n $NSX get pod kafka -o jsonpath='{.status.podIP}')
export PGHOST=$PG_SVC PGPORT=5432 PGUSER=flinkpg PGPASSWORD="s3cret-$$" PGDATABASE=flinkpg
# from the host through the Service's ClusterIP: kube-proxy's rules at work
check "PostgreSQL answers through its Service (kube-proxy)" \
  wait_for_cmd 60 psql -X -q -c 'SELECT 1'
q "CREATE TABLE items (id bigint PRIMARY KEY, name text, amount numeric(12,2), version bigint)" >/dev/null

# ---- a changelog in Kafka (produced from the host to the Kafka pod) ----
BOOTSTRAP=$KAFKA_IP:9092
"$TOOLS/kproduce" -b "$BOOTSTRAP" -t items --synthetic upsert --count 3000 --keys 300 --partitions 1 \
  --seed 11 --expected "$T_TMP/expected.tsv" >"$T_TMP/kproduce.log" 2>&1 ||
  { fail "produce the changelog to the Kafka pod"; tail -n 5 "$T_TMP/kproduce.log"; }

# ---- the sink pod ----
kubectl -n $NSX apply -f - >"$T_TMP/apply-sink.log" 2>&1 <<EOF || { fail "apply the sink pod"; cat "$T_TMP/apply-sink.log"; }
apiVersion: v1
kind: Pod
metadata: {name: sink, labels: {app: sink}}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 20
  securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: sink
    image: $IMG/flinkpg-sink:$TAG
    env:
    - {name: FLINKPG_RUN, value: node-test}
    - {name: KAFKA_BOOTSTRAP_SERVERS, value: "kafka.$NSX.svc.cluster.local:9092"}
    - {name: SINK_TOPIC, value: items}
    - {name: SINK_GROUP, value: node-test-sink}
    - {name: SINK_ENCODING, value: upsert}
    - {name: SINK_TABLE, value: items}
    - {name: SINK_KEY_COLUMNS, value: id}
    - {name: POSTGRES_URL, valueFrom: {secretKeyRef: {name: pg, key: uri}}}
    - {name: HTTP_LISTEN, value: "0.0.0.0:8080"}
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 2}
    livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5}
    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: "1", memory: 256Mi}}
    $SECCTX
EOF
check "sink pod Ready (the kubelet's readiness probe on /readyz)" \
  kubectl -n $NSX wait --for=condition=Ready pod/sink --timeout=120s
check "the sink applied the whole changelog: the table equals the expected one" \
  wait_for_cmd 90 table_is_expected
SINK_IP=$(kubectl -n $NSX get pod sink -o jsonpath='{.status.podIP}')
curl -fsS --max-time 5 "http://$SINK_IP:8080/metrics" >"$T_TMP/metrics.txt" 2>&1
check "the sink pod serves /metrics" grep -q '^flinkpg_sink_' "$T_TMP/metrics.txt"
check_eq "liveness probe never failed (restarts)" 0 \
  "$(kubectl -n $NSX get pod sink -o jsonpath='{.status.containerStatuses[0].restartCount}')"
kubectl -n $NSX logs sink >"$T_TMP/sink-pod.log" 2>&1
check "kubectl logs of the sink pod: logfmt lines with the run name" grep -q 'run=node-test' "$T_TMP/sink-pod.log"
echo "  sink pod log (first lines):"; head -n 6 "$T_TMP/sink-pod.log" | cut -c1-200 | sed 's/^/  | /'

# SIGTERM through pod deletion: the container's exit code while it goes.
kubectl -n $NSX get pod sink -w -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}{"\n"}' \
  >"$T_TMP/sink-exit.txt" 2>/dev/null &
watch_pid=$!
kubectl -n $NSX logs -f sink >"$T_TMP/sink-final.log" 2>&1 &
logs_pid=$!
sleep 1
kubectl -n $NSX delete pod sink --wait=true --timeout=60s >/dev/null 2>&1
sleep 1; kill $watch_pid $logs_pid 2>/dev/null; wait $watch_pid $logs_pid 2>/dev/null
check_eq "sink exits 0 on pod deletion (SIGTERM)" 0 "$(grep -E '^[0-9]+$' "$T_TMP/sink-exit.txt" | tail -n 1)"
check "sink logged its shutdown" grep -q 'event=sink_stopped' "$T_TMP/sink-final.log"

# ---- the controller image, in-cluster, reconciling DemoRuns ----
kubectl apply -f "$ROOT/charts/flinkpg/crds/demoruns.flinkpg.io.yaml" >/dev/null &&
  kubectl wait --for condition=Established --timeout=30s crd/demoruns.flinkpg.io >/dev/null ||
  fail "DemoRun CRD established"
# The chart's controller (ServiceAccount, RBAC, Deployment, Service), rendered
# with this node's images; `helm install` itself is tests/integration/kube_demo.sh.
helm template flinkpg "$ROOT/charts/flinkpg" -n $SYS --set image.tag=$TAG \
  --set images.generator.tag=$TAG --set images.sink.tag=$TAG \
  --set images.postgres.repository=$IMG/postgres --set images.postgres.tag=$TAG \
  --set metrics.dashboard.enabled=false --skip-tests | kubectl apply -f - >"$T_TMP/ctl.log" 2>&1 ||
  { fail "apply the chart's controller"; cat "$T_TMP/ctl.log"; }
check "controller Deployment available (in-cluster config, ServiceAccount token)" \
  kubectl -n $SYS rollout status deployment/flinkpg-controller --timeout=120s

demorun() { # name sink-image
  kubectl -n $NSX apply -f - >>"$T_TMP/demoruns.log" 2>&1 <<EOF
apiVersion: flinkpg.io/v1alpha1
kind: DemoRun
metadata: {name: $1}
spec:
  mode: upsert
  kafka:
    bootstrapServers: kafka.$NSX.svc.cluster.local:9092
    securityProtocol: PLAINTEXT
    topics: {orders: $1-orders, shipments: $1-shipments, output: $1-out}
  flink:
    backend: gateway
    gateway: {url: "http://flink-sql-gateway.$NSX.svc.cluster.local:8083"}
  postgres:
    inCluster: {storageSize: 1Gi, database: flinkpg, image: "$IMG/postgres:$TAG"}
  generator: {seed: 7, orders: 200, rate: 1000}
  sink: {replicas: 1, batchSize: 500, keyColumns: [order_id, shipment_id], image: "$2"}
EOF
}
dcond() { kubectl -n $NSX get demorun "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}" 2>/dev/null; }
dcond_is() { [ "$(dcond "$1" "$2" status)" = "$3" ]; }

# No Flink here: the output topic the Flink INSERT would create is made by
# hand (kubectl exec into the Kafka pod: the kubelet's exec path at work).
check "kubectl exec: create run1's output topic in the Kafka pod" \
  kubectl -n $NSX exec kafka -- kafka-run-class org.apache.kafka.tools.TopicCommand \
    --bootstrap-server localhost:9092 --create --topic run1-out --partitions 1
demorun run1 "$IMG/flinkpg-sink:$TAG" || fail "apply DemoRun run1"
check "run1: PostgresReady (StatefulSet of flinkpg/postgres on a local volume)" wait_for_cmd 180 dcond_is run1 PostgresReady True
check "run1: GeneratorComplete (the generator image ran as a Job to completion)" wait_for_cmd 180 dcond_is run1 GeneratorComplete True
check "run1: SinkReady (sink Deployment available)" wait_for_cmd 120 dcond_is run1 SinkReady True
kubectl -n $NSX logs job/run1-generator >"$T_TMP/gen-pod.log" 2>&1
check "kubectl logs of the generator Job: logfmt with the run name" grep -q 'run=run1' "$T_TMP/gen-pod.log"

demorun run2 "$IMG/flinkpg-sink-does-not-exist:$TAG" || fail "apply DemoRun run2"
check "run2: SinkReady False with the kubelet's image pull reason" \
  wait_for_cmd 120 eval '[[ "$(dcond run2 SinkReady reason)" =~ ^(ErrImagePull|ImagePullBackOff)$ ]]'
msg=$(dcond run2 SinkReady message)
check "run2: the condition names the image" grep -qF "flinkpg-sink-does-not-exist:$TAG" <<<"$msg"
echo "  run2 SinkReady: $(dcond run2 SinkReady reason): $msg" | cut -c1-240

kubectl -n $SYS logs deployment/flinkpg-controller >"$T_TMP/ctl-pod.log" 2>&1
check "kubectl logs of the controller pod: logfmt, reconcile of run1" grep -q 'run=flinkpg-node-test/run1' "$T_TMP/ctl-pod.log"

# What went wrong, when something did: each pod that failed or restarted.
for p in $(kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.phase}/{.status.containerStatuses[0].restartCount}{"\n"}{end}'); do
  case "$p" in *=Running/0|*=Succeeded/*|*=Pending/*) continue ;; esac
  pod=${p%%=*}
  echo "  pod $pod (${p#*=}), last log lines:"
  kubectl -n "${pod%%/*}" logs "${pod#*/}" --tail=8 2>&1 | cut -c1-220 | sed 's/^/  | /'
  kubectl -n "${pod%%/*}" logs "${pod#*/}" --previous --tail=8 2>/dev/null | cut -c1-220 | sed 's/^/  |prev| /'
done

# Every pod of ours ran under the restricted profile, on the real node.
echo "  kubectl get pods -o wide:"
kubectl get pods -A -o wide 2>&1 | sed 's/^/  | /'
bad=$(kubectl get events -A --field-selector reason=FailedCreate -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null | grep -c PodSecurity || true)
check_eq "no pod of ours was refused by Pod Security admission" 0 "$bad"
