#!/usr/bin/env bash
# The product as users meet it, on the real node (tests/peers/node.sh):
# `helm install` charts/flinkpg with its Kafka and Flink peers into a namespace
# under the `restricted` Pod Security Standard, `helm test`, then the upsert and
# the retract samples plus a run with a naive sink policy, all as real pods
# (PostgreSQL StatefulSets on local volumes, generator Jobs, sink Deployments,
# the Flink statements submitted by the controller to the in-cluster SQL
# Gateway). While they run: the upsert run's sink pod is deleted, the retract
# run's PostgreSQL pod is deleted (the StatefulSet brings it back on the same
# volume) and the controller pod is deleted. Each correct run ends Completed,
# Validated=True, ROWS n/n, PASS, with zero duplicates and a batch log without
# gap or repeat; the naive run shows its damage. Then `helm upgrade` to a new
# image tag rolls the controller and the sinks it owns, and deleting the
# DemoRuns plus `helm uninstall` leaves nothing: no object, no claim, no
# running Flink job.
. "$(dirname "$0")/../lib/common.sh"

export FLINKPG_PEERS_DIR=$T_TMP/peers
DEMO="$ROOT/tests/demo/kube"
NODE="$ROOT/tests/peers/node.sh"
export NS=flinkpg   # exported: the checks below run some functions in `bash -c`
RATE=${KUBE_DEMO_RATE:-60}   # events/s of the samples here: slow enough that the faults land mid-run

defer node_teardown
wait_for() { # seconds command...: poll every 2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 2
  done
}
dcond() { kubectl -n $NS get demorun "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}" 2>/dev/null; }
dcond_is() { [ "$(dcond "$1" "$2" status)" = "$3" ]; }
djp() { kubectl -n $NS get demorun "$1" -o jsonpath="$2" 2>/dev/null; }
completed() { [ "$(djp "$1" '{.status.phase}')" = Completed ]; }
# A naive run never passes: its verdict is read once the generator is done and
# the numbers hold still for 20 s (the sink has caught up with Flink's commits).
settled_fail() {
  dcond_is "$1" GeneratorComplete True && dcond_is "$1" Validated False || return 1
  local a b
  a=$(djp "$1" '{.status.validation}'); sleep 20; b=$(djp "$1" '{.status.validation}')
  [ -n "$a" ] && [ "$a" = "$b" ]
}
pgq() { # run sql: psql in the run's PostgreSQL pod (local socket, trust)
  kubectl -n $NS exec "$1-postgres-0" -c postgres -- psql -X -A -t -q -U flinkpg -d flinkpg -c "$2" 2>/dev/null
}

# ---- images, node, helm install ----
t0=$SECONDS
if ! "$DEMO" up >"$T_TMP/up.log" 2>&1; then
  echo "FAIL tests/demo/kube up (images, node, helm install):"; tail -n 40 "$T_TMP/up.log" | sed 's/^/  /'; exit 1
fi
echo "  images, node and helm install in $((SECONDS - t0)) s"
eval "$("$NODE" env)"
echo "  helm install output:"
sed -n '/^NAME: flinkpg/,/^== /p' "$T_TMP/up.log" | grep -v '^== ' | head -n 40 | sed 's/^/  | /'
check_eq "helm release deployed" deployed "$(helm status flinkpg -n $NS -o json | jq -r .info.status)"
check "helm test: the controller answers /readyz through its Service" helm test flinkpg -n $NS --timeout 3m
check_eq "namespace enforces the restricted Pod Security Standard" restricted \
  "$(kubectl get ns $NS -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')"
check_eq "the Flink SQL Gateway answers in-cluster" 200 \
  "$(kubectl -n $NS exec flinkpg-flink-0 -c sql-gateway -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/8083; printf "GET /v1/info HTTP/1.0\r\n\r\n" >&3; head -n1 <&3' | awk '{print $2}')"

# ---- the samples (rate lowered so the faults land mid-run), and a naive run ----
for m in upsert retract; do
  sed "s/^    rate: .*/    rate: $RATE/" "$ROOT/manifests/samples/demorun-$m.yaml" | kubectl -n $NS apply -f - >/dev/null ||
    fail "apply sample demorun-$m"
done
sed -e "s/^    rate: .*/    rate: 300/" -e 's/name: demo-retract/name: naive-retract/' -e 's/retract-/naive-/g' \
  -e 's/^  sink:$/  sink:\n    policy: upsert-ignore-kind/' "$ROOT/manifests/samples/demorun-retract.yaml" |
  kubectl -n $NS apply -f - >/dev/null || fail "apply the naive DemoRun"

# ---- faults while the runs are in progress ----
if wait_for 300 dcond_is demo-upsert SinkReady True; then
  pod=$(kubectl -n $NS get pods -l app.kubernetes.io/instance=demo-upsert,app.kubernetes.io/component=sink -o jsonpath='{.items[0].metadata.name}')
  gen=$(dcond demo-upsert GeneratorComplete status)
  check "fault: delete the upsert run's sink pod ($pod) mid-run (GeneratorComplete=$gen)" \
    kubectl -n $NS delete pod "$pod" --wait=false
else
  fail "demo-upsert: SinkReady within 300 s: $(dcond demo-upsert SinkReady message)"
fi
if wait_for 300 dcond_is demo-retract PostgresReady True; then
  gen=$(dcond demo-retract GeneratorComplete status)
  check "fault: delete the retract run's PostgreSQL pod mid-run (GeneratorComplete=$gen)" \
    kubectl -n $NS delete pod demo-retract-postgres-0 --wait=false
fi
ctl=$(kubectl -n $NS get pods -l app.kubernetes.io/component=controller -o jsonpath='{.items[0].metadata.name}')
check "fault: delete the controller pod ($ctl) mid-run" kubectl -n $NS delete pod "$ctl" --wait=false
check "PostgreSQL pod back on the same volume" \
  wait_for 180 bash -c "[ \"\$(kubectl -n $NS get pod demo-retract-postgres-0 -o jsonpath='{.status.containerStatuses[0].ready}')\" = true ]"

# ---- verdicts ----
KAFKA_IP=$(kubectl -n $NS get pod flinkpg-kafka-0 -o jsonpath='{.status.podIP}')
for r in demo-upsert demo-retract; do
  wait_for 900 completed $r || fail "$r: not Completed within 900 s (phase $(djp $r '{.status.phase}'), $(dcond $r Validated message))"
done
wait_for 300 settled_fail naive-retract || fail "naive-retract: no settled verdict within 300 s"
echo "  kubectl get demoruns:"
kubectl -n $NS get demoruns 2>&1 | sed 's/^/  | /'
for r in demo-upsert demo-retract; do
  check_eq "$r: Completed" Completed "$(djp $r '{.status.phase}')"
  check_eq "$r: Validated=True" True "$(dcond $r Validated status)"
  check_eq "$r: verdict PASS" PASS "$(djp $r '{.status.validation.verdict}')"
  n=$(djp $r '{.status.validation.rowsExpected}')
  check_eq "$r: ROWS n/n (n=$n > 0)" "$n/$n" "$( [ "${n:-0}" -gt 0 ] && djp $r '{.status.rows}')"
  check_eq "$r: zero duplicate keys" 0 "$(djp $r '{.status.validation.duplicateKeys}')"
  # Every data record of the output topic (read_committed, from the host to the
  # Kafka pod) lies in exactly one committed batch of the sink's log. Offsets
  # alone have gaps: Flink's exactly-once producer leaves a transaction marker
  # after each checkpoint, which no consumer sees.
  topic=$(kubectl -n $NS get demorun $r -o jsonpath='{.spec.kafka.topics.output}')
  "$TOOLS/kconsume" -b "$KAFKA_IP:9092" -t "$topic" 2>"$T_TMP/kconsume.err" | awk '{print $1 "\t" $2}' >"$T_TMP/$r.offsets"
  cover=$(kubectl -n $NS exec -i $r-postgres-0 -c postgres -- psql -X -A -t -q -U flinkpg -d flinkpg \
    -c "CREATE TABLE IF NOT EXISTS test_offsets (p int, o bigint); TRUNCATE test_offsets" \
    -c "COPY test_offsets FROM STDIN" \
    -c "SELECT count(*) FILTER (WHERE n = 0) || ' ' || count(*) FILTER (WHERE n > 1) || ' ' || count(*) FROM (
          SELECT (SELECT count(*) FROM flinkpg_sink_batches b WHERE b.group_id = '$r-sink' AND b.partition = t.p
                  AND t.o BETWEEN b.first_offset AND b.last_offset) n FROM test_offsets t) x" <"$T_TMP/$r.offsets")
  n=$(wc -l <"$T_TMP/$r.offsets")
  check_eq "$r: each of the $n records of $topic in exactly one committed batch (no gap, no repeat)" "0 0 $n" \
    "$( [ "$n" -gt 0 ] && printf '%s' "$cover")"
done
echo "  batches of demo-upsert-sink (partition, first..last offset, from the sink's log table):"
pgq demo-upsert "SELECT partition, first_offset || '..' || last_offset FROM flinkpg_sink_batches
  WHERE group_id = 'demo-upsert-sink' ORDER BY partition, first_offset" | head -n 8 | sed 's/^/  | /'
check_eq "naive-retract (upsert-ignore-kind): Validated=False" False "$(dcond naive-retract Validated status)"
check "naive-retract: the damage is in the status (unexpected or wrong rows > 0)" bash -c \
  "[ \$(( $(djp naive-retract '{.status.validation.unexpected}') + $(djp naive-retract '{.status.validation.wrongValues}') )) -gt 0 ]"
echo "  naive-retract: $(djp naive-retract '{.status.validation}')"

# ---- the story of the run, in kubectl logs ----
kubectl -n $NS logs deploy/demo-upsert-sink >"$T_TMP/sink.log" 2>&1
kubectl -n $NS logs job/demo-upsert-generator >"$T_TMP/gen.log" 2>&1
kubectl -n $NS logs deploy/flinkpg-controller >"$T_TMP/ctl.log" 2>&1
check "kubectl logs deploy/demo-upsert-sink: logfmt with the run name" grep -q 'run=demo-upsert' "$T_TMP/sink.log"
check "kubectl logs job/demo-upsert-generator: logfmt with the run name" grep -q 'run=demo-upsert' "$T_TMP/gen.log"
check "kubectl logs deploy/flinkpg-controller: the runs reconciled" grep -q 'demo-upsert' "$T_TMP/ctl.log"
for f in sink gen ctl; do
  echo "  kubectl logs ($f), excerpt:"
  grep -E 'event=' "$T_TMP/$f.log" | grep -v 'level=debug' | head -n 8 | cut -c1-230 | sed 's/^/  | /'
done
check "no secret in the logs (the Kafka password)" bash -c \
  "! grep -qF \"\$(kubectl -n $NS get secret flinkpg-kafka-credentials -o jsonpath='{.data.api-secret}' | base64 -d)\" '$T_TMP/sink.log' '$T_TMP/gen.log' '$T_TMP/ctl.log'"

# ---- helm upgrade to a new image tag ----
NEW=0.0.0-upgrade
for i in flinkpg-controller flinkpg-sink flinkpg-generator; do
  ctr --address "$CONTAINERD_ADDRESS" -n k8s.io images tag --force "docker.io/flinkpg/$i:$(cat "$ROOT/VERSION")" \
    "docker.io/flinkpg/$i:$NEW" >/dev/null || fail "tag $i:$NEW in the node's containerd"
done
jobuids() { kubectl -n $NS get jobs -l app.kubernetes.io/component=generator -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid} {end}'; }
before=$(jobuids)
if helm upgrade flinkpg "$ROOT/charts/flinkpg" -n $NS --reuse-values --set image.tag=$NEW \
    --set images.sink.tag=$NEW --set images.generator.tag=$NEW --wait --timeout 5m >"$T_TMP/upgrade.log" 2>&1; then
  pass "helm upgrade to image tag $NEW"
else
  fail "helm upgrade: $(tail -n 5 "$T_TMP/upgrade.log")"
fi
check_eq "the controller runs the new tag" "docker.io/flinkpg/flinkpg-controller:$NEW" \
  "$(kubectl -n $NS get deploy flinkpg-controller -o jsonpath='{.spec.template.spec.containers[0].image}')"
sink_rolled() { [ "$(kubectl -n $NS get deploy "$1-sink" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "docker.io/flinkpg/flinkpg-sink:$NEW" ] &&
  kubectl -n $NS rollout status deploy/"$1-sink" --timeout=5s >/dev/null 2>&1; }
check "the controller rolled demo-upsert's sink to the new tag" wait_for 180 sink_rolled demo-upsert
check "the controller rolled demo-retract's sink to the new tag" wait_for 180 sink_rolled demo-retract
sleep 5
check_eq "the upgrade replaced no generator Job (they would produce every event again)" "$before" "$(jobuids)"
check_eq "runs kept after the upgrade: demo-upsert still Completed/PASS" Completed/PASS \
  "$(djp demo-upsert '{.status.phase}/{.status.validation.verdict}')"
check_eq "runs kept after the upgrade: demo-retract still Completed/PASS" Completed/PASS \
  "$(djp demo-retract '{.status.phase}/{.status.validation.verdict}')"

echo "  kubectl get pods -o wide:"
kubectl -n $NS get pods -o wide 2>&1 | sed 's/^/  | /'

# ---- teardown: DemoRuns (finalizer: Flink jobs), then helm uninstall ----
jobs_running() {
  kubectl -n $NS exec flinkpg-flink-0 -c jobmanager -- bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/8081; printf "GET /jobs/overview HTTP/1.0\r\n\r\n" >&3; cat <&3' 2>/dev/null |
    sed '1,/^\r$/d' | jq '[.jobs[] | select(.state == "RUNNING" or .state == "CREATED" or .state == "RESTARTING")] | length'
}
check_eq "Flink jobs running before the delete: one per run" 3 "$(jobs_running)"
check "delete the DemoRuns (finalizer)" kubectl -n $NS delete demoruns --all --timeout=180s
check_eq "no Flink job left running after the finalizers" 0 "$(jobs_running)"
check "helm uninstall" helm uninstall flinkpg -n $NS --wait --timeout 5m
# A kubectl that fails prints "?" (never 0): an unanswered query is not an empty namespace.
left() {
  local out
  out=$(kubectl get all,pvc,secrets,configmaps -n $NS -o name 2>/dev/null) || { echo "?"; return; }
  grep -v '^configmap/kube-root-ca.crt$' <<<"$out" | grep -c .
}
check "nothing left in the namespace (kubectl get all,pvc,secrets,configmaps)" wait_for 120 bash -c "[ \"\$($(declare -f left); left)\" = 0 ]"
[ "$(left)" = 0 ] || kubectl get all,pvc,secrets,configmaps -n $NS 2>&1 | sed 's/^/  | /'
bound() { kubectl get pv -o jsonpath='{range .items[?(@.status.phase=="Bound")]}{.metadata.name} {end}' 2>/dev/null || echo "?"; }
check "no volume left bound to a claim (the PV controller releases them)" wait_for 60 bash -c "[ -z \"\$($(declare -f bound); bound)\" ]"
[ -z "$(bound)" ] || echo "  still bound: $(bound)"
