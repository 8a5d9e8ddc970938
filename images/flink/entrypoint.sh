#!/bin/bash
# Entrypoint of the flinkpg/flink test image: an Apache Flink 1.20 session cluster
# and its SQL Gateway, from the Maven Central jars tests/peers/flink.sh resolves.
#
#   flink-entrypoint.sh jobmanager | taskmanager | sql-gateway | standalone | help
#
#   jobmanager   StandaloneSessionClusterEntrypoint (REST + web UI, RPC, blob server)
#   taskmanager  TaskManagerRunner, registers with JOBMANAGER_HOST:RPC_PORT
#   sql-gateway  SqlGateway (REST endpoint), submits to JOBMANAGER_HOST:REST_PORT
#   standalone   jobmanager + taskmanager in this one container (small demos; with
#                STANDALONE_GATEWAY=true the sql-gateway too); the first to exit
#                stops the others and its status is the container's
#
# Environment (a port must be a number: anything else, such as the
# FLINK_JOBMANAGER_PORT=tcp://10.0.0.1:8081 a Service link injects, is ignored):
#   JOBMANAGER_HOST        the JobManager's name as the others reach it (its Service):
#                          jobmanager.rpc.address everywhere (the JobManager's RPC
#                          endpoint only accepts messages sent to that name) and
#                          rest.address of the gateway; set the same value in all
#                          three. Default flink-jobmanager (standalone: localhost)
#   BIND_ADDRESS           address every listener binds (default 0.0.0.0)
#   REST_PORT              JobManager REST / web UI (8081)
#   RPC_PORT               JobManager RPC (6123)
#   BLOB_PORT              JobManager blob server (6124; expose it on the Service)
#   TASKMANAGER_RPC_PORT   TaskManager RPC (6122)
#   TASKMANAGER_DATA_PORT  TaskManager data exchange (0 = any free port)
#   GATEWAY_PORT           SQL Gateway REST (8083)
#   TASKMANAGER_HOST       address the TaskManager announces (default $POD_IP; unset:
#                          the address it reaches the JobManager from)
#   TASK_SLOTS             taskmanager.numberOfTaskSlots (2)
#   JM_MEMORY              jobmanager.memory.process.size (640m; standalone 384m)
#   TM_MEMORY              taskmanager.memory.process.size (832m; standalone 512m)
#   GATEWAY_HEAP           SQL Gateway -Xmx (320m; standalone 192m)
#   PARALLELISM            parallelism.default (1)
#   STATE_DIR              RocksDB working dirs and, by default, checkpoints and
#                          savepoints (/var/lib/flink: mount a volume there)
#   CHECKPOINT_DIR         execution.checkpointing.dir (file://$STATE_DIR/checkpoints)
#   SAVEPOINT_DIR          execution.checkpointing.savepoint-dir (file://$STATE_DIR/savepoints)
#   CHECKPOINT_INTERVAL    execution.checkpointing.interval (10s)
#   FLINK_PROPERTIES       config.yaml lines appended last (as in the official image),
#                          e.g. "restart-strategy.type: none"
#   FLINK_CONF_DIR         where the generated config.yaml and log4j.properties are
#                          written at every start (/tmp/flink-conf: must be writable)
#   JAVA_OPTS              extra JVM options for every Flink JVM
# Writes only to /tmp (java.io.tmpdir, io.tmp.dirs, blobs, web uploads),
# FLINK_CONF_DIR and STATE_DIR: a read-only root filesystem works when those are
# emptyDirs/volumes. Logs go to stdout (log4j2 console).
set -euo pipefail

mode="${1:-help}"
[ $# -gt 0 ] && shift
FLINK_HOME="${FLINK_HOME:-/opt/flink}"
lib="${FLINK_LIB_DIR:-$FLINK_HOME/lib}"
conf="${FLINK_CONF_DIR:-/tmp/flink-conf}"
tmp="${TMPDIR:-/tmp}"

num_or() { case "${1:-}" in '' | *[!0-9]*) printf '%s' "$2" ;; *) printf '%s' "$1" ;; esac; }
log() { printf 'flink-entrypoint: %s\n' "$*" >&2; }

case "$mode" in
  jobmanager | taskmanager | sql-gateway | standalone) ;;
  help | -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    log "unknown mode '$mode' (jobmanager, taskmanager, sql-gateway, standalone)"
    exit 2
    ;;
esac

small=0
[ "$mode" = standalone ] && small=1
rest_port="$(num_or "${REST_PORT:-}" 8081)"
rpc_port="$(num_or "${RPC_PORT:-}" 6123)"
blob_port="$(num_or "${BLOB_PORT:-}" 6124)"
tm_rpc_port="$(num_or "${TASKMANAGER_RPC_PORT:-}" 6122)"
tm_data_port="$(num_or "${TASKMANAGER_DATA_PORT:-}" 0)"
gw_port="$(num_or "${GATEWAY_PORT:-}" 8083)"
slots="$(num_or "${TASK_SLOTS:-}" 2)"
parallelism="$(num_or "${PARALLELISM:-}" 1)"
bind="${BIND_ADDRESS:-0.0.0.0}"
if ((small)); then
  jm_mem="${JM_MEMORY:-384m}" tm_mem="${TM_MEMORY:-512m}" gw_heap="${GATEWAY_HEAP:-192m}"
else
  jm_mem="${JM_MEMORY:-640m}" tm_mem="${TM_MEMORY:-832m}" gw_heap="${GATEWAY_HEAP:-320m}"
fi
if [ "$mode" = standalone ]; then
  jm_host="${JOBMANAGER_HOST:-localhost}"
else
  jm_host="${JOBMANAGER_HOST:-flink-jobmanager}"
fi
tm_host="${TASKMANAGER_HOST:-${POD_IP:-}}"
state="${STATE_DIR:-/var/lib/flink}"
checkpoints="${CHECKPOINT_DIR:-file://$state/checkpoints}"
savepoints="${SAVEPOINT_DIR:-file://$state/savepoints}"

mkdir -p "$conf" "$tmp/flink-io" "$tmp/flink-web" "$tmp/flink-blobs"
case "$checkpoints" in file://*) mkdir -p "${checkpoints#file://}" ;; esac
case "$savepoints" in file://*) mkdir -p "${savepoints#file://}" ;; esac
[ "$mode" = sql-gateway ] || mkdir -p "$state/rocksdb"

{
  cat <<Y
# generated by flink-entrypoint.sh ($mode) at every start
jobmanager.rpc.address: $jm_host
jobmanager.rpc.port: $rpc_port
jobmanager.bind-host: $bind
jobmanager.memory.process.size: $jm_mem
jobmanager.memory.jvm-metaspace.size: 128m
jobmanager.memory.jvm-overhead.min: 64m
jobmanager.memory.off-heap.size: 64m
jobmanager.execution.failover-strategy: region
blob.server.port: $blob_port
taskmanager.bind-host: $bind
taskmanager.rpc.port: $tm_rpc_port
taskmanager.data.port: $tm_data_port
taskmanager.numberOfTaskSlots: $slots
taskmanager.memory.process.size: $tm_mem
taskmanager.memory.jvm-metaspace.size: 160m
taskmanager.memory.jvm-overhead.min: 64m
taskmanager.memory.framework.heap.size: 64m
taskmanager.memory.framework.off-heap.size: 64m
taskmanager.memory.network.min: 32m
taskmanager.memory.managed.fraction: 0.25
parallelism.default: $parallelism
rest.address: $jm_host
rest.port: $rest_port
rest.bind-address: $bind
web.tmpdir: $tmp/flink-web
io.tmp.dirs: $tmp/flink-io
blob.storage.directory: $tmp/flink-blobs

# state: RocksDB (working dirs under STATE_DIR), incremental checkpoints
state.backend.type: rocksdb
state.backend.rocksdb.localdir: $state/rocksdb
execution.checkpointing.incremental: true
execution.checkpointing.dir: $checkpoints
execution.checkpointing.savepoint-dir: $savepoints
execution.checkpointing.num-retained: 3
execution.checkpointing.interval: ${CHECKPOINT_INTERVAL:-10s}
execution.checkpointing.mode: EXACTLY_ONCE
execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
restart-strategy.type: exponential-delay

# SQL Gateway: submits to the session cluster above
execution.target: remote
sql-gateway.endpoint.type: rest
sql-gateway.endpoint.rest.address: ${GATEWAY_ADVERTISED_HOST:-${POD_IP:-localhost}}
sql-gateway.endpoint.rest.bind-address: $bind
sql-gateway.endpoint.rest.port: $gw_port
sql-gateway.session.idle-timeout: 30min
Y
  [ -z "$tm_host" ] || printf 'taskmanager.host: %s\n' "$tm_host"
  [ -z "${FLINK_PROPERTIES:-}" ] || printf '# FLINK_PROPERTIES\n%s\n' "$FLINK_PROPERTIES"
} >"$conf/config.yaml"

cat >"$conf/log4j.properties" <<'P'
monitorInterval = 0
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.shaded_zk.name = org.apache.flink.shaded.zookeeper3
logger.shaded_zk.level = WARN
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
appender.console.name = ConsoleAppender
appender.console.type = Console
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
P

export FLINK_HOME FLINK_CONF_DIR="$conf" FLINK_LIB_DIR="$lib"
export FLINK_PLUGINS_DIR="${FLINK_PLUGINS_DIR:-$FLINK_HOME/plugins}" FLINK_OPT_DIR="${FLINK_OPT_DIR:-$FLINK_HOME/opt}"
cp_="$lib/*"

# What Flink needs on Java 17: env.java.opts.all of the distribution's config.yaml.
java17=(
  --add-exports=java.base/sun.net.util=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)
# shellcheck disable=SC2206  # JAVA_OPTS is a list of JVM options
base=(java "${java17[@]}" -XX:-UsePerfData -Djava.io.tmpdir="$tmp" -Duser.timezone=UTC
  -Dlog4j.configurationFile="file:$conf/log4j.properties" ${JAVA_OPTS:-})

# What bin/config.sh does: ask Flink for the JVM memory flags (line 1) and the
# dynamic configs (line 2) that match config.yaml.
resource_params() {
  local out
  if ! out="$(java -Xmx96m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.io.tmpdir="$tmp" \
      -Dlog4j2.level=WARN -cp "$cp_" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$conf" 2>&1)"; then
    printf '%s\n' "$out" >&2
    log "the memory settings in $conf/config.yaml are not usable (JM_MEMORY=$jm_mem TM_MEMORY=$tm_mem)"
    exit 1
  fi
  printf '%s\n' "$out" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p' | tail -n 2
}

# cmd_<mode>: the command line of one Flink process, into the array `cmd`
cmd_jobmanager() {
  local p jvm dyn
  p="$(resource_params GET_JM_RESOURCE_PARAMS)"
  jvm="$(head -n 1 <<<"$p")" dyn="$(tail -n 1 <<<"$p")"
  # shellcheck disable=SC2206
  cmd=("${base[@]}" $jvm -cp "$cp_" org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint
    --configDir "$conf" --executionMode cluster $dyn)
}
cmd_taskmanager() {
  local p jvm dyn
  p="$(resource_params GET_TM_RESOURCE_PARAMS)"
  jvm="$(head -n 1 <<<"$p")" dyn="$(tail -n 1 <<<"$p")"
  # shellcheck disable=SC2206
  cmd=("${base[@]}" $jvm -cp "$cp_" org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$conf" $dyn)
}
cmd_sql-gateway() {
  cmd=("${base[@]}" "-Xmx$gw_heap" -XX:MaxMetaspaceSize=256m -cp "$cp_" org.apache.flink.table.gateway.SqlGateway)
}

log "$mode: jobmanager $jm_host rpc $rpc_port rest $rest_port blob $blob_port gateway $gw_port bind $bind slots $slots state $state (config $conf/config.yaml)"
if [ "$mode" != standalone ]; then
  "cmd_$mode"
  exec "${cmd[@]}" "$@"
fi

# standalone: one child per process; SIGTERM/SIGINT go to all of them
pids=() stopping=0
stop() {
  ((stopping)) && return 0
  stopping=1
  log "stopping ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
}
trap stop TERM INT
roles=(jobmanager taskmanager)
case "${STANDALONE_GATEWAY:-false}" in true | 1 | yes) roles+=(sql-gateway) ;; esac
for r in "${roles[@]}"; do
  "cmd_$r"
  "${cmd[@]}" &
  pids+=($!)
done
rc=0
wait -n "${pids[@]}" || rc=$?
stop
wait "${pids[@]}" 2>/dev/null || true
exit "$rc"
