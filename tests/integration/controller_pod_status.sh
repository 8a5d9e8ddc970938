#!/usr/bin/env bash
# A pod that will not come up by itself is named in the DemoRun's status
# (controller/podstatus.h): a sink image that does not exist gives SinkReady
# False with the kubelet's ImagePullBackOff / ErrImagePull, a message naming
# the pod, the container and the image, one Warning event, and Ready saying
# what it waits for.  kwok plays the kubelet here and pulls nothing, so the
# test writes the pod status the kubelet would write (phase Running, not
# Pending, so that kwok's pod-ready stage leaves it alone); a real node's
# pull failure is tests/integration's images test.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/controller.sh"
kube_up

LOG=$T_TMP/ctl.log
ctl_bg "$LOG" --kubeconfig "$KUBECONFIG" --resync-seconds 0
sed -e 's/name: demo-append/name: badimg/' -e 's/^  sink:$/  sink:\n    image: flinkpg\/nope:dev/' \
  "$ROOT/manifests/samples/demorun-append.yaml" | kubectl apply -f - >/dev/null
check_eq "the DemoRun's sink image reaches the Deployment" "flinkpg/nope:dev" \
  "$(wait_until 30 bash -c "[ -n \"\$(kubectl get deploy badimg-sink -o name)\" ]"; jp deploy/badimg-sink '{.spec.template.spec.containers[0].image}')"
sinkpod() { kubectl get pods -l app.kubernetes.io/instance=badimg,app.kubernetes.io/component=sink -o jsonpath='{.items[0].metadata.name}'; }
check "kwok runs the sink pod" wait_until 60 bash -c "[ \"\$(kubectl get pods -l app.kubernetes.io/instance=badimg,app.kubernetes.io/component=sink -o jsonpath='{.items[0].status.phase}')\" = Running ]"
check "PostgresReady True (kwok runs its pod)" wait_until 60 cond_is badimg PostgresReady True
POD=$(sinkpod)
set_waiting() { # reason message ready
  kubectl patch pod "$POD" --subresource=status --type=merge -p "$(jq -nc --arg r "$1" --arg m "$2" --arg rd "$3" '{status: {phase: "Running",
    conditions: [{type: "PodScheduled", status: "True"}, {type: "Initialized", status: "True"},
                 {type: "ContainersReady", status: $rd}, {type: "Ready", status: $rd}],
    containerStatuses: [{name: "sink", image: "flinkpg/nope:dev", imageID: "", ready: ($rd == "True"), restartCount: 0,
      state: (if $r == "" then {running: {startedAt: "2026-01-01T00:00:00Z"}} else {waiting: {reason: $r, message: $m}} end)}]}}')" >/dev/null
}
reason() { jp demorun/badimg "{.status.conditions[?(@.type==\"$1\")].reason}"; }
message() { jp demorun/badimg "{.status.conditions[?(@.type==\"$1\")].message}"; }
warnings() { kubectl get events.events.k8s.io --field-selector regarding.name=badimg,type=Warning -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -c "$1"; }

# ---- ContainerCreating passes by itself: not reported ----
set_waiting ContainerCreating "" False
check "ContainerCreating: SinkReady False" wait_until 20 cond_is badimg SinkReady False
sleep 2
check_eq "ContainerCreating: the reason stays Progressing" "Progressing" "$(reason SinkReady)"

# ---- ImagePullBackOff ----
set_waiting ImagePullBackOff 'Back-off pulling image "flinkpg/nope:dev"' False
check "ImagePullBackOff becomes SinkReady's reason" wait_until 20 bash -c "[ \"\$(kubectl get demorun badimg -o jsonpath='{.status.conditions[?(@.type==\"SinkReady\")].reason}')\" = ImagePullBackOff ]"
check_eq "SinkReady's message names pod, container, image and the kubelet's message" \
  "pod $POD container sink image \"flinkpg/nope:dev\": ImagePullBackOff: Back-off pulling image \"flinkpg/nope:dev\"" \
  "$(message SinkReady)"
# (the sample's Flink SQL Gateway is not reachable here: Ready names both)
check_eq "Ready says what it waits for" "waiting for StatementsRunning (BackendUnreachable), SinkReady (ImagePullBackOff)" "$(message Ready)"
check "one Warning event ImagePullBackOff" wait_until 10 bash -c "$(declare -f warnings); [ \"\$(warnings ImagePullBackOff)\" = 1 ]"
check "the controller logs it" grep -q "event=pod_stuck run=default/badimg condition=SinkReady reason=ImagePullBackOff" "$LOG"

# ---- the kubelet's retry (ErrImagePull) is followed, without a second Warning ----
set_waiting ErrImagePull 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/flinkpg/nope:dev": not found' False
check "the status follows the pod (ErrImagePull: the pod is watched)" wait_until 20 bash -c "[ \"\$(kubectl get demorun badimg -o jsonpath='{.status.conditions[?(@.type==\"SinkReady\")].reason}')\" = ErrImagePull ]"
check_eq "no Warning for the retry" "0" "$(warnings ErrImagePull)"

# ---- fixed: the pod runs, the condition recovers ----
set_waiting "" "" True
check "a running pod clears the reason" wait_until 30 bash -c "[ \"\$(kubectl get demorun badimg -o jsonpath='{.status.conditions[?(@.type==\"SinkReady\")].reason}')\" != ErrImagePull ]"
check "no request was forbidden or failed for pods" bash -c "! grep -q 'pods_list_failed' '$LOG'"
kubectl delete demorun badimg --wait=false >/dev/null
check "controller stops cleanly" ctl_stop "$CTL_PID"
grep -q 'AddressSanitizer\|runtime error' "$LOG" && fail "sanitizer report" || pass "no sanitizer report"
