#!/usr/bin/env bash
# Writes manifests/install.yaml from the chart: the plain-manifest install for
# those without Helm (release "flinkpg" in namespace "flinkpg", default values,
# the CRD included). The chart is the one source; tests/integration/chart.sh
# fails when this file differs from what the chart renders.
#   manifests/generate.sh            write manifests/install.yaml
#   manifests/generate.sh --stdout   print it instead
# Helm: from PATH, else the one tests/peers/kube.sh builds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v helm >/dev/null; then
  "$ROOT/tests/peers/kube.sh" build >&2
  eval "$("$ROOT/tests/peers/kube.sh" env)"
fi
render() {
  cat <<'H'
# flinkpg: the DemoRun CRD and the controller, rendered from charts/flinkpg with
# default values (release "flinkpg", namespace "flinkpg") by manifests/generate.sh.
# Do not edit: change the chart and run `make manifests`.
#   kubectl apply --server-side -f manifests/install.yaml
# The chart's optional parts (Kafka and Flink peers, ServiceMonitor, a sample
# DemoRun) need `helm install`; see the README's Kubernetes quick start.
---
apiVersion: v1
kind: Namespace
metadata:
  name: flinkpg
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
H
  helm template flinkpg "$ROOT/charts/flinkpg" --namespace flinkpg --include-crds --skip-tests
}
if [ "${1:-}" = --stdout ]; then
  render
else
  render >"$ROOT/manifests/install.yaml"
  echo "wrote manifests/install.yaml"
fi
