#!/usr/bin/env bash
# A real Kubernetes control plane for the tests, on 127.0.0.1, the way
# controller-runtime's envtest runs one, plus a kube-controller-manager, a
# kube-scheduler and kwok (which plays the kubelet of one fake node), so that
# the pods the real controllers create become Running/Ready and Job pods
# Succeed.
#
#   tests/peers/kube.sh build    build (Go module proxy only) and cache the binaries
#   tests/peers/kube.sh start    build if needed, then start everything (idempotent)
#   tests/peers/kube.sh stop     stop every process this script started (keeps state)
#   tests/peers/kube.sh status   one line per component; exit 1 unless all are up
#   tests/peers/kube.sh env      shell exports: eval "$(tests/peers/kube.sh env)"
#   tests/peers/kube.sh restart COMPONENT   stop and start one (e.g. apiserver)
#   tests/peers/kube.sh clean    stop, then remove all state (certs, etcd data, logs)
#
# Binaries: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
# (k8s.io/kubernetes), kwok, helm from the module in tests/peers/kube/, etcd
# (server/v3/embed, 3.5.x) from tests/peers/kube/etcd/. They are cached in
#   ${FLINKPG_CACHE:-$HOME/.cache/flinkpg}/kube/<version>/bin
# where <version> is the Kubernetes version plus a hash of those modules, so
# a change of any pin rebuilds.
# State and logs: ${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}/kube/
#   kubeconfig (admin, O=system:masters, file references), kubeconfig-embedded
#   (the same, inline *-data fields), pki/, etcd/, logs/<component>.log,
#   run/<component>.pid
#
# Environment (all optional): FLINKPG_KUBE_TIMEOUT (seconds a component may
# take to become ready, default 90), FLINKPG_KUBE_STOP_GRACE (seconds between
# SIGTERM and SIGKILL, default 10; an API server that still has watches open
# takes that long), FLINKPG_KUBE_APISERVER_PORT (16443),
# FLINKPG_KUBE_ETCD_PORT (12379; peer port is +1), FLINKPG_KUBE_BASE_PORT
# (16250: controller-manager +7, scheduler +9, kwok +0), FLINKPG_KUBE_NODES
# (fake nodes to create, default 1), FLINKPG_KUBE_ADDRESS (the address the API
# server binds and advertises, default 127.0.0.1; tests/peers/node.sh sets an
# address of a bridge it created, so that pods reach the API server through
# the kubernetes Service). GOFLAGS, GOCACHE, GOMODCACHE, GOPROXY are
# passed to go build (e.g. GOFLAGS=-p=1 to build one package at a time).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MOD="$HERE/kube"
K8S_VERSION=v1.36.3
BUILD_REV=1
CACHE_ROOT="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}/kube"
PEERS="${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}/kube"
TIMEOUT="${FLINKPG_KUBE_TIMEOUT:-90}"
STOP_GRACE="${FLINKPG_KUBE_STOP_GRACE:-10}"
API_PORT="${FLINKPG_KUBE_APISERVER_PORT:-16443}"
ETCD_PORT="${FLINKPG_KUBE_ETCD_PORT:-12379}"
BASE_PORT="${FLINKPG_KUBE_BASE_PORT:-16250}"
KWOK_PORT=$((BASE_PORT + 0))
KCM_PORT=$((BASE_PORT + 7))
SCHED_PORT=$((BASE_PORT + 9))
NODES="${FLINKPG_KUBE_NODES:-1}"
ADDRESS="${FLINKPG_KUBE_ADDRESS:-127.0.0.1}"
SERVICE_CIDR=10.96.0.0/16
POD_CIDR_KWOK=10.244.0.1/16   # kwok hands pod IPs out of this (first address + prefix)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm kubelet kube-proxy)

log() { printf 'kube.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- build ----

version_key() {
    # The pins (both modules and the etcd main), the link flags and
    # BUILD_REV (bump it when the build commands change) decide the key.
    local h
    h=$( (cat "$MOD/go.mod" "$MOD/go.sum" "$MOD/etcd/go.mod" "$MOD/etcd/go.sum" "$MOD/etcd/main.go"
          printf '%s\n' "$BUILD_REV" "$(ldflags_k8s)") | sha256sum | cut -c1-10)
    printf '%s-%s' "$K8S_VERSION" "$h"
}

ldflags_k8s() {
    local v=${K8S_VERSION#v} x=""
    local major=${v%%.*} minor=${v#*.}; minor=${minor%%.*}
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        x+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
        x+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    x+=" -X helm.sh/helm/v3/internal/version.version=$(mod_version helm.sh/helm/v3)"
    printf -- '-s -w%s' "$x"
}

# The version go.mod pins for a module (no network).
mod_version() {
    awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$MOD/go.mod"
}

bin_dir() { printf '%s/%s/bin' "$CACHE_ROOT" "$(version_key)"; }

have_bins() {
    local d=$1 b
    [ -f "$d/.complete" ] || return 1
    for b in "${BINARIES[@]}"; do [ -x "$d/$b" ] || return 1; done
}

cmd_build() {
    local bin; bin=$(bin_dir)
    if have_bins "$bin"; then
        log "binaries up to date in $bin"
        return 0
    fi
    command -v go >/dev/null || die "go is not installed (needed to build the control plane)"
    mkdir -p "$(dirname "$bin")"
    # One build at a time per cache (parallel test runs share it).
    exec 8>"$(dirname "$bin")/.build.lock"
    flock 8
    if have_bins "$bin"; then
        log "binaries up to date in $bin (built by a concurrent run)"
        flock -u 8; exec 8>&-
        return 0
    fi
    local tmp; tmp=$(mktemp -d "$(dirname "$bin")/bin.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    local t0=$SECONDS
    log "building kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy kwok helm ($K8S_VERSION) into $bin"
    # -mod=readonly: go.mod/go.sum are the checked-in pins, never rewritten.
    # CGO off: static binaries, as Kubernetes releases them.
    (cd "$MOD" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath -buildvcs=false" \
        nice -n 10 go build -ldflags "$(ldflags_k8s)" -o "$tmp/" \
            k8s.io/kubernetes/cmd/kube-apiserver \
            k8s.io/kubernetes/cmd/kube-controller-manager \
            k8s.io/kubernetes/cmd/kube-scheduler \
            k8s.io/kubernetes/cmd/kubectl \
            k8s.io/kubernetes/cmd/kubelet \
            k8s.io/kubernetes/cmd/kube-proxy \
            sigs.k8s.io/kwok/cmd/kwok \
            helm.sh/helm/v3/cmd/helm) || die "go build of the kube module failed"
    log "building etcd (embed, $(awk '$1=="require" && $2=="go.etcd.io/etcd/server/v3" {print $3}' "$MOD/etcd/go.mod"))"
    (cd "$MOD/etcd" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath -buildvcs=false" \
        nice -n 10 go build -ldflags "-s -w" -o "$tmp/etcd" .) || die "go build of etcd failed"
    chmod 755 "$tmp"
    touch "$tmp/.complete"
    rm -rf "$bin"
    mv "$tmp" "$bin"
    trap - EXIT
    flock -u 8; exec 8>&-
    log "built in $((SECONDS - t0))s: $(cd "$bin" && du -sh . | cut -f1) in $bin"
}

# ---------------------------------------------------------------- certs ----

pki() {
    local d="$PEERS/pki"
    [ -f "$d/.complete" ] && return 0
    command -v openssl >/dev/null || die "openssl is not installed"
    rm -rf "$d"; mkdir -p "$d"; chmod 700 "$d"
    (
        cd "$d"
        exec 2>openssl.log
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
            -subj "/CN=flinkpg-test-ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
        # sign NAME SUBJECT EXTENSIONS: NAME.key + NAME.crt signed by the CA
        sign() {
            local name=$1 subj=$2 ext=$3
            openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj"
            printf '%s\n' "$ext" >"$name.ext"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 3650 -out "$name.crt" -extfile "$name.ext"
            rm -f "$name.csr" "$name.ext"
        }
        local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
        sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$ADDRESS,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        sign admin "/O=system:masters/CN=flinkpg-admin" "$client"
        # The API server's identity towards kubelets (logs, exec, port-forward).
        sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
        sign kube-controller-manager "/CN=system:kube-controller-manager" "$client"
        sign kube-scheduler "/CN=system:kube-scheduler" "$client"
        # kwok plays every kubelet: it patches node and pod status, renews
        # leases and deletes pods. Simplest faithful grant: admin.
        sign kwok "/O=system:masters/CN=kwok" "$client"
        # Service-account token signing key pair.
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
        openssl pkey -in sa.key -pubout -out sa.pub
    ) || die "certificate generation failed; see $d/openssl.log"
    touch "$d/.complete"
}

kubeconfig() { # file user
    local f=$1 u=$2 d="$PEERS/pki"
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: flinkpg-test
  cluster:
    server: https://$ADDRESS:$API_PORT
    certificate-authority: $d/ca.crt
users:
- name: $u
  user:
    client-certificate: $d/$u.crt
    client-key: $d/$u.key
contexts:
- name: flinkpg-test
  context:
    cluster: flinkpg-test
    user: $u
    namespace: default
current-context: flinkpg-test
EOF
    chmod 600 "$f"
}

# The same admin credentials with everything inline (certificate-authority-data,
# client-certificate-data, client-key-data), for clients that read those.
kubeconfig_embedded() { # file
    local f=$1 d="$PEERS/pki"
    b64() { base64 -w0 <"$1"; }
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: flinkpg-test
  cluster:
    server: https://$ADDRESS:$API_PORT
    certificate-authority-data: $(b64 "$d/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$d/admin.crt")
    client-key-data: $(b64 "$d/admin.key")
contexts:
- name: flinkpg-test
  context:
    cluster: flinkpg-test
    user: admin
    namespace: default
current-context: flinkpg-test
EOF
    chmod 600 "$f"
}

# -------------------------------------------------------------- process ----

pidfile() { printf '%s/run/%s.pid' "$PEERS" "$1"; }

# pid of a running component started by us, or nothing. The pid file is only
# trusted while that pid still runs our binary (pids get reused).
running_pid() {
    local f pid exe; f=$(pidfile "$1")
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    # (setsid: started a moment ago, not yet exec'ed into the binary)
    case "$exe" in */"$1"|*/"$1 (deleted)"|*/setsid) printf '%s' "$pid" ;; *) return 1 ;; esac
}

spawn() { # name args...
    local name=$1; shift
    local bin; bin=$(bin_dir)
    mkdir -p "$PEERS/run" "$PEERS/logs"
    {
        printf '\n=== %s start %s\n' "$name" "$(date -Is)"
        printf '%q ' "$bin/$name" "$@"; printf '\n'
    } >>"$PEERS/logs/$name.log"
    # setsid: its own session, so a Ctrl-C on the caller does not kill it and
    # stop can signal exactly this process.
    # 8>&- 9>&-: the daemon must not inherit (and so hold) the script's locks.
    setsid "$bin/$name" "$@" >>"$PEERS/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
    echo $! >"$(pidfile "$name")"
}

stop_one() {
    local name=$1 pid i
    pid=$(running_pid "$name") || { rm -f "$(pidfile "$name")"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((STOP_GRACE * 10))); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        log "$name ($pid) still running ${STOP_GRACE}s after SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$(pidfile "$name")"
    printf '\n=== %s stopped %s\n' "$name" "$(date -Is)" >>"$PEERS/logs/$name.log"
}

# ------------------------------------------------------------ readiness ----

ca_curl() { # url [client-cert-name]
    local args=(-sS --max-time 5 --cacert "$PEERS/pki/ca.crt")
    [ -n "${2:-}" ] && args+=(--cert "$PEERS/pki/$2.crt" --key "$PEERS/pki/$2.key")
    curl "${args[@]}" "$1"
}

probe() {
    case "$1" in
        etcd) curl -sS --max-time 5 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' ;;
        kube-apiserver) [ "$(ca_curl "https://$ADDRESS:$API_PORT/readyz" admin)" = ok ] ;;
        # Serving certs of these two are self-signed: skip verification,
        # /healthz is always allowed without authentication.
        kube-controller-manager) [ "$(curl -sSk --max-time 5 "https://127.0.0.1:$KCM_PORT/healthz")" = ok ] ;;
        kube-scheduler) [ "$(curl -sSk --max-time 5 "https://127.0.0.1:$SCHED_PORT/healthz")" = ok ] ;;
        kwok) [ "$(curl -sS --max-time 5 "http://127.0.0.1:$KWOK_PORT/healthz")" = ok ] ;;
        *) return 1 ;;
    esac
}

wait_ready() { # name [what]
    local name=$1 deadline=$((SECONDS + TIMEOUT))
    while ! probe "$name" >/dev/null 2>&1; do
        if ! running_pid "$name" >/dev/null; then
            fail_component "$name" "exited"
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail_component "$name" "not ready after ${TIMEOUT}s"
        fi
        sleep 0.3
    done
}

fail_component() {
    log "error: $1 $2. Last lines of $PEERS/logs/$1.log:"
    tail -n 40 "$PEERS/logs/$1.log" >&2 || true
    exit 1
}

kctl() { "$(bin_dir)/kubectl" --kubeconfig "$PEERS/kubeconfig" "$@"; }

# --------------------------------------------------------------- start ----

start_etcd() {
    running_pid etcd >/dev/null && return 0
    mkdir -p "$PEERS/etcd"
    spawn etcd --data-dir "$PEERS/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))"
}

start_apiserver() {
    running_pid kube-apiserver >/dev/null && return 0
    local p="$PEERS/pki"
    mkdir -p "$PEERS/apiserver-certs"
    # The audit log: one line per request (Metadata level), so that tests can
    # count what a client asked (the controller's "0 requests per steady
    # reconcile").  Leases and health probes are left out.
    cat >"$PEERS/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/openapi*", "/api", "/apis*"]
- level: Metadata
POLICY
    spawn kube-apiserver \
        --audit-policy-file="$PEERS/audit-policy.yaml" --audit-log-path="$PEERS/audit.log" \
        --audit-log-maxsize=200 --audit-log-maxbackup=1 \
        --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
        --bind-address="$ADDRESS" --advertise-address="$ADDRESS" --secure-port="$API_PORT" \
        --cert-dir="$PEERS/apiserver-certs" \
        --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
        --client-ca-file="$p/ca.crt" \
        --service-account-issuer="https://$ADDRESS:$API_PORT" \
        --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$p/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority="$p/ca.crt" \
        --service-account-key-file="$p/sa.pub" \
        --service-account-signing-key-file="$p/sa.key" \
        --authorization-mode=RBAC \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --allow-privileged=true \
        --shutdown-watch-termination-grace-period=2s \
        --profiling=false \
        --v=1
}

start_kcm() {
    running_pid kube-controller-manager >/dev/null && return 0
    local p="$PEERS/pki" k="$PEERS/kube-controller-manager.kubeconfig"
    mkdir -p "$PEERS/kcm-certs"
    # --controllers='*': every controller that is on by default, among them
    # garbage-collector, statefulset, deployment, replicaset, job, cronjob,
    # ttl-after-finished, serviceaccount, serviceaccount-token, namespace,
    # endpointslice, node-lifecycle, persistentvolume-binder.
    spawn kube-controller-manager \
        --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$PEERS/kcm-certs" \
        --service-account-private-key-file="$p/sa.key" \
        --root-ca-file="$p/ca.crt" \
        --use-service-account-credentials=true \
        --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --controllers='*' \
        --enable-hostpath-provisioner=true \
        --leader-elect=false \
        --profiling=false \
        --v=1
}

start_scheduler() {
    running_pid kube-scheduler >/dev/null && return 0
    local k="$PEERS/kube-scheduler.kubeconfig"
    spawn kube-scheduler \
        --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
        --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
        --leader-elect=false \
        --profiling=false \
        --v=1
}

start_kwok() {
    running_pid kwok >/dev/null && return 0
    spawn kwok \
        --kubeconfig="$PEERS/kwok.kubeconfig" \
        --config="$MOD/kwok-stages.yaml" \
        --manage-all-nodes=false \
        --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --node-lease-duration-seconds=40 \
        --cidr="$POD_CIDR_KWOK" \
        --node-ip=127.0.0.1 \
        --server-address="127.0.0.1:$KWOK_PORT"
}

fake_nodes() {
    local i
    for i in $(seq 0 $((NODES - 1))); do
        kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
    done
}

# There is no storage here, but a StatefulSet's volumeClaimTemplates need
# bound claims before its pods are scheduled. The controller-manager's
# in-tree hostPath provisioner (--enable-hostpath-provisioner, meant for
# exactly this: single-node tests) provisions a PV for each claim of the
# default StorageClass below (an empty directory under /tmp/hostpath_pv/ that
# nothing ever mounts) and deletes it when the claim goes.
storage_class() {
    # Only when missing: its fields are immutable, and a real node
    # (tests/peers/node.sh) replaces it with a class of its own.
    kctl get storageclass standard >/dev/null 2>&1 && return 0
    kctl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
}

wait_for() { # description command...
    local what=$1 deadline=$((SECONDS + TIMEOUT)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { log "error: $what not reached after ${TIMEOUT}s"; return 1; }
        sleep 0.5
    done
}

nodes_ready() {
    local i
    for i in $(seq 0 $((NODES - 1))); do
        [ "$(kctl get node "kwok-node-$i" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] || return 1
    done
}

cmd_start() {
    command -v curl >/dev/null || die "curl is not installed"
    cmd_build
    mkdir -p "$PEERS"
    pki
    kubeconfig "$PEERS/kubeconfig" admin
    kubeconfig_embedded "$PEERS/kubeconfig-embedded"
    local c
    for c in kube-controller-manager kube-scheduler kwok; do kubeconfig "$PEERS/$c.kubeconfig" "$c"; done
    local t0=$SECONDS
    start_etcd;       wait_ready etcd
    start_apiserver;  wait_ready kube-apiserver
    start_kcm;        wait_ready kube-controller-manager
    start_scheduler;  wait_ready kube-scheduler
    start_kwok;       wait_ready kwok
    fake_nodes
    storage_class
    wait_for "fake node Ready (kwok, see $PEERS/logs/kwok.log)" nodes_ready ||
        fail_component kwok "did not make the fake node Ready"
    # Pods are rejected until the namespace's default ServiceAccount exists.
    wait_for "ServiceAccount default/default (kube-controller-manager)" \
        kctl get serviceaccount default -n default ||
        fail_component kube-controller-manager "did not create the default ServiceAccount"
    log "control plane ready in $((SECONDS - t0))s; KUBECONFIG=$PEERS/kubeconfig"
}

# Processes of ours whose pid file is gone (say the state directory was
# removed under them): our binary, and our state directory on the command line.
orphans() {
    local bin p exe; bin=$(bin_dir)
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case "$exe" in "$bin"/*) ;; *) continue ;; esac
        tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qF -- "$PEERS/" || continue
        printf '%s %s\n' "${p#/proc/}" "$(basename "${exe% (deleted)}")"
    done
}

cmd_stop() {
    local pid name
    if [ -d "$PEERS/run" ]; then
        # The API server's clients first (together), then it, then etcd: with
        # no watch left open the API server exits in about a second.
        stop_one kwok & stop_one kube-scheduler & stop_one kube-controller-manager &
        wait
        stop_one kube-apiserver
        stop_one etcd
    fi
    orphans | while read -r pid name; do
        log "stopping orphaned $name ($pid)"
        mkdir -p "$PEERS/run" "$PEERS/logs"
        echo "$pid" >"$(pidfile "$name")"
        stop_one "$name"
    done
    log "stopped"
}

cmd_restart() {
    local name=${1:-}
    case "$name" in
        apiserver) name=kube-apiserver ;;
        controller-manager|kcm) name=kube-controller-manager ;;
        scheduler) name=kube-scheduler ;;
    esac
    case " ${COMPONENTS[*]} " in *" $name "*) ;; *) die "restart: unknown component '${1:-}' (one of: ${COMPONENTS[*]})" ;; esac
    stop_one "$name"
    cmd_start
}

cmd_status() {
    local c pid ok=0 state
    for c in "${COMPONENTS[@]}"; do
        if pid=$(running_pid "$c"); then
            if probe "$c" >/dev/null 2>&1; then state="ready"; else state="running, not ready"; ok=1; fi
            printf '%-24s pid %-8s %s  rss %s\n' "$c" "$pid" "$state" \
                "$(awk '/VmRSS/ {printf "%d MiB", $2/1024}' "/proc/$pid/status" 2>/dev/null)"
        else
            printf '%-24s stopped\n' "$c"; ok=1
        fi
    done
    return $ok
}

cmd_env() {
    local bin; bin=$(bin_dir)
    printf 'export KUBECONFIG=%q\n' "$PEERS/kubeconfig"
    # shellcheck disable=SC2016 # $PATH is for the shell that evals this
    printf 'export PATH=%q:"$PATH"\n' "$bin"
    printf 'export FLINKPG_KUBE_BIN=%q\n' "$bin"
    printf 'export FLINKPG_KUBE_DIR=%q\n' "$PEERS"
    printf 'export FLINKPG_KUBE_SERVER=%q\n' "https://$ADDRESS:$API_PORT"
    printf 'export FLINKPG_KUBE_CA=%q\n' "$PEERS/pki/ca.crt"
    printf 'export FLINKPG_KUBE_AUDIT=%q\n' "$PEERS/audit.log"
}

cmd_clean() {
    cmd_stop
    rm -rf "$PEERS"
    log "removed $PEERS"
}

# start/stop/restart/clean of one state directory never overlap.
state_lock() {
    mkdir -p "$(dirname "$PEERS")"
    exec 9>"$PEERS.lock"
    flock 9
}

case "${1:-}" in
    build) cmd_build ;;
    start) state_lock; cmd_start ;;
    stop) state_lock; cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    restart) shift; state_lock; cmd_restart "$@" ;;
    clean) state_lock; cmd_clean ;;
    bin-dir) bin_dir; echo ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
