#!/usr/bin/env bash
# A real Kubernetes node for the tests: containerd + runc + CNI (a bridge and
# a network this script creates), a kubelet registered with the real
# kube-apiserver of tests/peers/kube.sh, kube-proxy (nftables) for Services,
# and CoreDNS for <svc>.<ns>.svc.cluster.local. Pods really run here: their
# images are loaded into the node's containerd from OCI archives (make images),
# nothing is pulled from a registry.
#
#   tests/peers/node.sh start      build if needed, start control plane + node (idempotent)
#   tests/peers/node.sh load FILE.oci.tar...   import images into the node's containerd
#   tests/peers/node.sh env        shell exports (KUBECONFIG, PATH, FLINKPG_NODE_*)
#   tests/peers/node.sh status     one line per component; exit 1 unless all are up
#   tests/peers/node.sh stop       delete every pod, stop the node and the control plane,
#                                  remove containers, mounts, netns, bridge, cgroups, rules
#   tests/peers/node.sh clean      stop, then remove all state
#
# The node has its own control plane (state under $FLINKPG_PEERS_DIR/node-kube,
# ports 17443/13379/17250.. unless set), because its API server must bind an
# address that pods can reach: the bridge's gateway address, which is also the
# node IP, the kubernetes Service's endpoint and the cluster DNS address. The
# kubelet serves on 127.0.0.1 (node name "localhost", as the API server dials
# nodes by host name). Needs root, containerd, runc, containernetworking-plugins
# and nftables (tests/install-deps.sh installs them).
#
# Environment (all optional): FLINKPG_NODE_BRIDGE (flinkpg0),
# FLINKPG_NODE_SUBNET (10.244.0 - a /24 for pods; .1 is the gateway),
# FLINKPG_NODE_PAUSE_IMAGE (docker.io/flinkpg/pause:dev),
# FLINKPG_NODE_TIMEOUT (seconds a component may take, default 90).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_PEERS="${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}"
STATE="$ROOT_PEERS/node"
BRIDGE="${FLINKPG_NODE_BRIDGE:-flinkpg0}"
NET24="${FLINKPG_NODE_SUBNET:-10.244.0}"
GW="$NET24.1"
POD_CIDR="$NET24.0/24"
SERVICE_CIDR=10.96.0.0/16
PAUSE_IMAGE="${FLINKPG_NODE_PAUSE_IMAGE:-docker.io/flinkpg/pause:dev}"
TIMEOUT="${FLINKPG_NODE_TIMEOUT:-90}"
KUBELET_PORT=10250
NS=k8s.io
CNI_NET=flinkpg-node
CACHE_ROOT="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}"

# The node's control plane: kube.sh with its own state, ports and address.
export FLINKPG_PEERS_DIR_KUBE="$ROOT_PEERS/node-kube"
kube() {
    FLINKPG_PEERS_DIR="$FLINKPG_PEERS_DIR_KUBE" \
    FLINKPG_KUBE_ADDRESS="$GW" FLINKPG_KUBE_NODES=0 \
    FLINKPG_KUBE_APISERVER_PORT="${FLINKPG_NODE_APISERVER_PORT:-17443}" \
    FLINKPG_KUBE_ETCD_PORT="${FLINKPG_NODE_ETCD_PORT:-13379}" \
    FLINKPG_KUBE_BASE_PORT="${FLINKPG_NODE_BASE_PORT:-17250}" \
        "$HERE/kube.sh" "$@"
}
KPEERS="$FLINKPG_PEERS_DIR_KUBE/kube"

log() { printf 'node.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin_dir() { kube bin-dir; }
kctl() { "$(bin_dir)/kubectl" --kubeconfig "$KPEERS/kubeconfig" "$@"; }
ctr_() { ctr --address "$STATE/containerd.sock" -n "$NS" "$@"; }

# ------------------------------------------------------------ coredns ----

coredns_key() {
    (cat "$HERE/kube/coredns/go.mod" "$HERE/kube/coredns/go.sum" "$HERE/kube/coredns/main.go") |
        sha256sum | cut -c1-10
}
coredns_bin() { printf '%s/coredns/%s/coredns' "$CACHE_ROOT" "$(coredns_key)"; }

build_coredns() {
    local b; b=$(coredns_bin)
    [ -x "$b" ] && return 0
    mkdir -p "$(dirname "$b")"
    log "building CoreDNS (Go module proxy) into $(dirname "$b")"
    (cd "$HERE/kube/coredns" && CGO_ENABLED=0 GOTOOLCHAIN=local \
        GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath -buildvcs=false" \
        nice -n 10 go build -ldflags "-s -w" -o "$b.tmp" .) || die "go build of CoreDNS failed"
    mv "$b.tmp" "$b"
}

# -------------------------------------------------------------- certs ----

node_pki() {
    local d="$STATE/pki" ca="$KPEERS/pki"
    [ -f "$d/.complete" ] && return 0
    rm -rf "$d"; mkdir -p "$d"; chmod 700 "$d"
    (
        cd "$d"
        exec 2>openssl.log
        sign() { # name subject extensions
            openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
            printf '%s\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
                -CAserial "$d/ca.srl" -days 3650 -out "$1.crt" -extfile "$1.ext"
            rm -f "$1.csr" "$1.ext"
        }
        local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
        sign kubelet "/O=system:nodes/CN=system:node:localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:$GW"
        sign kube-proxy "/CN=system:kube-proxy" "$client"
        sign coredns "/CN=system:coredns" "$client"
    ) || die "node certificates failed; see $d/openssl.log"
    touch "$d/.complete"
}

kubeconfig() { # file cert-name
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: node
  cluster: {server: "https://$GW:${FLINKPG_NODE_APISERVER_PORT:-17443}", certificate-authority: "$KPEERS/pki/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$STATE/pki/$2.crt", client-key: "$STATE/pki/$2.key"}
contexts:
- name: node
  context: {cluster: node, user: $2}
current-context: node
EOF
    chmod 600 "$1"
}

# ------------------------------------------------------------ process ----

pidfile() { printf '%s/run/%s.pid' "$STATE" "$1"; }

running_pid() { # name exe-basename
    local f pid exe; f=$(pidfile "$1")
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    # (setsid: started a moment ago, not yet exec'ed into the binary)
    case "$exe" in */"$1"|*/"$1 (deleted)"|*/setsid) printf '%s' "$pid" ;; *) return 1 ;; esac
}

spawn() { # name binary args...
    local name=$1 exe=$2; shift 2
    mkdir -p "$STATE/run" "$STATE/logs"
    { printf '\n=== %s start %s\n' "$name" "$(date -Is)"; printf '%q ' "$exe" "$@"; printf '\n'; } \
        >>"$STATE/logs/$name.log"
    setsid "$exe" "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
    echo $! >"$(pidfile "$name")"
}

stop_one() { # name [grace]
    local name=$1 grace=${2:-10} pid i
    pid=$(running_pid "$name") || { rm -f "$(pidfile "$name")"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((grace * 10))); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    rm -f "$(pidfile "$name")"
}

wait_until() { # description command...
    local what=$1 deadline=$((SECONDS + TIMEOUT)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { log "error: $what not reached after ${TIMEOUT}s"; return 1; }
        sleep 0.3
    done
}

fail_component() { # name why
    log "error: $1 $2. Last lines of $STATE/logs/$1.log:"
    tail -n 40 "$STATE/logs/$1.log" >&2 || true
    exit 1
}

# ------------------------------------------------------------ network ----

# The bridge carries the gateway address before any pod exists: the API
# server, CoreDNS and the node IP live on it. The CNI bridge plugin adopts it.
network_up() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge || die "cannot create bridge $BRIDGE"
        echo "$BRIDGE" >"$STATE/bridge.created"
    elif [ ! -f "$STATE/bridge.created" ] && [ -z "$(ip -o link show master "$BRIDGE" 2>/dev/null)" ]; then
        # Our bridge's name with no port on it: left by an earlier node that
        # did not stop cleanly. Adopt it, so that stop removes it.
        log "adopting bridge $BRIDGE left without ports by an earlier node"
        echo "$BRIDGE" >"$STATE/bridge.created"
    fi
    # replace, not add: idempotent when the address is already there.
    ip addr replace "$GW/24" dev "$BRIDGE" || die "cannot put $GW/24 on bridge $BRIDGE"
    ip link set "$BRIDGE" up
    # Pods route through the host: forwarding on (the old value is restored).
    [ -f "$STATE/ip_forward.saved" ] || cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.saved"
    echo 1 >/proc/sys/net/ipv4/ip_forward
    mkdir -p "$STATE/cni/net.d"
    cat >"$STATE/cni/net.d/10-flinkpg.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$GW", "rangeStart": "$NET24.10"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# CNI plugin processes (/usr/lib/cni/*) whose containerd is gone: their
# parent is no longer a containerd (they were re-parented to a reaper).
orphan_cni_plugins() {
    local p exe pp
    for p in $(pgrep -f '^(/usr/lib/cni/|/opt/cni/bin/)' 2>/dev/null); do
        exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
        case "$exe" in /usr/lib/cni/* | /opt/cni/bin/*) ;; *) continue ;; esac
        pp=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        case "$(readlink "/proc/$pp/exe" 2>/dev/null)" in */containerd) continue ;; esac
        echo "$p"
    done
}

stop_orphan_cni_plugins() {
    local i p
    for i in $(seq 1 50); do
        [ -n "$(orphan_cni_plugins)" ] || return 0
        sleep 0.1
    done
    for p in $(orphan_cni_plugins); do
        log "killing orphaned CNI plugin pid $p ($(readlink "/proc/$p/exe" 2>/dev/null))"
        kill -KILL "$p" 2>/dev/null || true
    done
    sleep 0.2
}

network_down() {
    # Network namespaces of sandboxes that containerd did not remove.
    local n
    for n in $(cat "$STATE/netns.list" 2>/dev/null); do
        [ -e "/var/run/netns/$n" ] && ip netns delete "$n" 2>/dev/null || true
    done
    rm -f "$STATE/netns.list"
    # A CNI plugin that containerd had started when it was stopped runs on as
    # an orphan; an ADD in flight would re-create the bridge after we remove it.
    stop_orphan_cni_plugins
    if [ -f "$STATE/bridge.created" ]; then
        local i
        for i in 1 2 3 4 5; do
            ip link show "$BRIDGE" >/dev/null 2>&1 || break
            ip link delete "$BRIDGE" 2>/dev/null || true
            sleep 0.2
        done
        if ip link show "$BRIDGE" >/dev/null 2>&1; then
            log "error: bridge $BRIDGE still present after 5 deletes"
        else
            rm -f "$STATE/bridge.created"
        fi
    fi
    if [ -f "$STATE/ip_forward.saved" ]; then
        cat "$STATE/ip_forward.saved" >/proc/sys/net/ipv4/ip_forward || true
        rm -f "$STATE/ip_forward.saved"
    fi
    # libcni caches each attachment's result here, named after the network.
    rm -f /var/lib/cni/results/"$CNI_NET"-* 2>/dev/null || true
}

# ---------------------------------------------------------- containerd ----

start_containerd() {
    running_pid containerd >/dev/null && return 0
    mkdir -p "$STATE/containerd/root" "$STATE/containerd/state"
    # restrict_oom_score_adj: runc cannot write a negative oom_score_adj here.
    cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$STATE/containerd.sock"
[ttrpc]
  address = "$STATE/containerd.sock.ttrpc"
[debug]
  address = "$STATE/containerd-debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
    spawn containerd "$(command -v containerd)" --config "$STATE/containerd/config.toml"
    wait_until "containerd answering" ctr_ version || fail_component containerd "did not answer"
}

# ------------------------------------------------------------- kubelet ----

start_kubelet() {
    running_pid kubelet >/dev/null && return 0
    local d="$STATE/kubelet"
    mkdir -p "$d/root"
    kubeconfig "$d/kubeconfig" kubelet
    printf 'nameserver %s\nsearch cluster.local\n' "$GW" >"$d/resolv.conf"
    cat >"$d/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$STATE/containerd.sock
tlsCertFile: $STATE/pki/kubelet.crt
tlsPrivateKeyFile: $STATE/pki/kubelet.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $KPEERS/pki/ca.crt}
authorization: {mode: AlwaysAllow}
clusterDNS: [$GW]
clusterDomain: cluster.local
resolvConf: $d/resolv.conf
podCIDR: $POD_CIDR
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
shutdownGracePeriod: 0s
EOF
    spawn kubelet "$(bin_dir)/kubelet" \
        --config="$d/config.yaml" --kubeconfig="$d/kubeconfig" \
        --root-dir="$d/root" --cert-dir="$d/pki" \
        --hostname-override=localhost --node-ip="$GW" \
        --v=1
}

node_ready() {
    [ "$(kctl get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# ---------------------------------------------------------- kube-proxy ----

start_kube_proxy() {
    running_pid kube-proxy >/dev/null && return 0
    local d="$STATE/kube-proxy"
    mkdir -p "$d"
    kubeconfig "$d/kubeconfig" kube-proxy
    cat >"$d/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
hostnameOverride: localhost
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
clientConnection: {kubeconfig: $d/kubeconfig}
nftables: {masqueradeAll: true}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
nodePortAddresses: ["$GW/32"]
EOF
    spawn kube-proxy "$(bin_dir)/kube-proxy" --config="$d/config.yaml" --v=1
}

# ------------------------------------------------------------- coredns ----

start_coredns() {
    running_pid coredns >/dev/null && return 0
    local d="$STATE/coredns"
    mkdir -p "$d"
    kubeconfig "$d/kubeconfig" coredns
    cat >"$d/Corefile" <<EOF
.:53 {
    bind $GW
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $d/kubeconfig node
        pods insecure
        ttl 5
    }
    cache 5
}
EOF
    spawn coredns "$(coredns_bin)" -conf "$d/Corefile"
}

# ------------------------------------------------------------- control ----

rbac() {
    # The test API server has no Node authorizer: the node's group gets the
    # system:node role (what the Node authorizer would allow, and more).
    # CoreDNS reads Services, EndpointSlices, Pods, Namespaces.
    kctl apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flinkpg-test-nodes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: flinkpg-test-coredns}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flinkpg-test-coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flinkpg-test-coredns}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:coredns}]
EOF
}

# Storage: kube.sh's default class uses the controller-manager's hostPath
# provisioner, whose directories are root's with mode 0750, so a non-root pod
# (PostgreSQL runs as uid 999) cannot write them. On this real node the
# default class is the static "local" kind bare-metal clusters use: a few
# pre-made PersistentVolumes (directories under the node's state, mode 1777)
# that claims bind to when their pod is scheduled.
storage() {
    local n=${FLINKPG_NODE_PVS:-8} i
    if [ "$(kctl get storageclass standard -o jsonpath='{.provisioner}' 2>/dev/null)" != kubernetes.io/no-provisioner ]; then
        kctl delete storageclass standard --ignore-not-found >/dev/null
        kctl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF
    fi
    for i in $(seq 1 "$n"); do
        mkdir -p "$STATE/pv/pv$i"; chmod 1777 "$STATE/pv/pv$i"
        kctl get pv "node-pv$i" >/dev/null 2>&1 && continue
        kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: node-pv$i}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  local: {path: "$STATE/pv/pv$i"}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [localhost]}]
EOF
    done
}

# A Released volume (its claim was deleted) is wiped and made Available again,
# as a local-volume provisioner would.
recycle_pvs() {
    local pv i
    for pv in $(kctl get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
        case "$pv" in node-pv*) ;; *) continue ;; esac
        i=${pv#node-pv}
        find "$STATE/pv/pv$i" -mindepth 1 -delete 2>/dev/null || true
        kctl patch pv "$pv" --type=json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null 2>&1 || true
    done
}

check_host() {
    [ "$(id -u)" -eq 0 ] || die "a real node needs root (containerd, runc, bridges, cgroups)"
    local c
    for c in containerd ctr runc ip nft openssl curl; do
        command -v "$c" >/dev/null || die "$c is not installed (tests/install-deps.sh installs it)"
    done
    [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
        die "CNI plugins missing in /usr/lib/cni (package containernetworking-plugins)"
}

cmd_start() {
    check_host
    mkdir -p "$STATE"
    local t0=$SECONDS
    build_coredns
    # The API server binds the gateway address: bring the bridge up first.
    network_up
    kube start >"$STATE/kube-start.log" 2>&1 || { cat "$STATE/kube-start.log" >&2; die "control plane did not start"; }
    node_pki
    rbac
    storage
    recycle_pvs
    start_containerd
    # Sandboxes need the pause image before the kubelet reports Ready pods.
    if ! ctr_ images check "name==$PAUSE_IMAGE" 2>/dev/null | grep -q "$PAUSE_IMAGE"; then
        log "warning: sandbox image $PAUSE_IMAGE is not loaded yet (node.sh load build/images/pause.oci.tar)"
    fi
    # Which cni-* namespaces are ours is told by what appears after this.
    ls /var/run/netns 2>/dev/null | sort >"$STATE/netns.before" || true
    start_kubelet
    start_kube_proxy
    start_coredns
    wait_until "node localhost Ready (see $STATE/logs/kubelet.log)" node_ready ||
        fail_component kubelet "did not make the node Ready"
    wait_until "CoreDNS ready" curl -fsS --max-time 2 http://127.0.0.1:18181/ready ||
        fail_component coredns "not ready"
    wait_until "kube-proxy healthy" curl -fsS --max-time 2 http://127.0.0.1:10256/healthz ||
        fail_component kube-proxy "not healthy"
    log "node ready in $((SECONDS - t0))s; KUBECONFIG=$KPEERS/kubeconfig"
}

# import OCI archives; each image is tagged docker.io/<name> as well, the name
# a pod spec's "flinkpg/x:tag" normalises to.
cmd_load() {
    local f
    [ $# -gt 0 ] || die "load: give one or more OCI archives"
    for f in "$@"; do
        [ -f "$f" ] || die "load: no such file: $f"
        ctr_ images import --all-platforms --no-unpack "$f" >"$STATE/import.log" 2>&1 ||
            { cat "$STATE/import.log" >&2; die "ctr images import $f failed"; }
    done
    # Names podman gives (localhost/flinkpg/x:tag) are re-tagged docker.io/flinkpg/x:tag.
    ctr_ images ls -q | while read -r f; do
        case "$f" in
            localhost/*) ctr_ images tag --force "$f" "docker.io/${f#localhost/}" >/dev/null ;;
        esac
    done
    # The kubelet's CRI sees only unpacked images on the snapshotter.
    ctr_ images ls -q | grep -v '^sha256:' | while read -r f; do
        ctr_ images unpack --snapshotter overlayfs "$f" >/dev/null 2>&1 || true
    done
}

cmd_env() {
    kube env
    printf 'export FLINKPG_NODE_DIR=%q\n' "$STATE"
    printf 'export FLINKPG_NODE_IP=%q\n' "$GW"
    printf 'export CONTAINERD_ADDRESS=%q\n' "$STATE/containerd.sock"
}

cmd_status() {
    local c pid ok=0
    for c in containerd kubelet kube-proxy coredns; do
        if pid=$(running_pid "$c"); then printf '%-12s pid %s\n' "$c" "$pid"
        else printf '%-12s stopped\n' "$c"; ok=1; fi
    done
    kube status || ok=1
    return $ok
}

unmount_under() { # dir
    local m
    { findmnt -rn -o TARGET 2>/dev/null | grep -F "$1/" || true; } | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    findmnt -rn -o TARGET 2>/dev/null | grep -qxF "$1" && { umount "$1" 2>/dev/null || umount -l "$1" || true; }
    return 0
}

remove_cgroups() {
    local c d
    for c in /sys/fs/cgroup/*/; do
        for d in "${c}kubepods" "${c}k8s.io"; do
            [ -d "$d" ] || continue
            find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        done
    done
    # Cgroups the kubelet creates for itself in the v1 hierarchies.
    return 0
}

cmd_stop() {
    [ -d "$STATE" ] || { kube stop >/dev/null 2>&1 || true; return 0; }
    # 1. Workloads while the kubelet still runs: it stops their containers.
    if running_pid kubelet >/dev/null && [ -f "$KPEERS/kubeconfig" ]; then
        kctl delete namespace -l flinkpg.test/node=1 --wait=false >/dev/null 2>&1 || true
        kctl delete pods --all -A --grace-period=5 --wait=false >/dev/null 2>&1 || true
        local deadline=$((SECONDS + 40))
        while [ $SECONDS -lt $deadline ] &&
              [ -n "$(kctl get pods -A --field-selector spec.nodeName=localhost -o name 2>/dev/null)" ]; do
            sleep 1
        done
    fi
    # 2. The node's daemons.
    stop_one coredns 5
    stop_one kube-proxy 5
    running_pid kube-proxy >/dev/null ||
        "$(bin_dir)/kube-proxy" --cleanup --proxy-mode=nftables >/dev/null 2>&1 || true
    stop_one kubelet 10
    # 3. Containers left behind (tasks first), then containerd and its shims.
    if running_pid containerd >/dev/null; then
        local id
        for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
        sleep 0.5
        for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true; done
        for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
    fi
    stop_one containerd 10
    local p
    for p in $(pgrep -f "containerd-shim-runc-v2 -namespace $NS -address $STATE/containerd.sock" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null || true
    done
    # 4. Mounts, network namespaces, bridge, cgroups.
    unmount_under "$STATE"
    if [ -f "$STATE/netns.before" ]; then
        comm -13 "$STATE/netns.before" <(ls /var/run/netns 2>/dev/null | sort) | grep '^cni-' >"$STATE/netns.list" || true
    fi
    network_down
    remove_cgroups
    # 5. The control plane.
    kube stop >/dev/null 2>&1 || true
    log "stopped"
}

cmd_clean() {
    cmd_stop
    unmount_under "$STATE"
    rm -rf "$STATE" "$FLINKPG_PEERS_DIR_KUBE"
    log "removed $STATE and $FLINKPG_PEERS_DIR_KUBE"
}

state_lock() {
    mkdir -p "$ROOT_PEERS"
    exec 9>"$STATE.lock"
    flock 9
}

case "${1:-}" in
    build) kube build; build_coredns ;;
    start) state_lock; cmd_start ;;
    recycle) recycle_pvs ;;
    load) shift; cmd_load "$@" ;;
    stop) state_lock; cmd_stop ;;
    clean) state_lock; cmd_clean ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
