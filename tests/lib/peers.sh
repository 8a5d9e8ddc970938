# shellcheck shell=bash
# Shared helpers for the real-peer scripts under tests/peers/ (kafka.sh, flink.sh).
# Every function is prefixed with peer_ so the file can be sourced next to others.
#
# Conventions:
#   FLINKPG_CACHE      downloads (Maven repository + per-peer lib/ dirs), outside the repo
#                      default: $HOME/.cache/flinkpg
#   FLINKPG_PEERS_DIR  logs, state, pid files, one sub-directory per peer
#                      default: /tmp/flinkpg-peers
#   PEER_TIMEOUT       readiness timeout in seconds (default 120)

# shellcheck disable=SC2034  # used by the scripts that source this file
PEER_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../peers" && pwd)" # tests/peers
FLINKPG_CACHE="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}"
FLINKPG_PEERS_DIR="${FLINKPG_PEERS_DIR:-/tmp/flinkpg-peers}"
PEER_TIMEOUT="${PEER_TIMEOUT:-120}"

peer_log() { printf '[%s] %s\n' "${PEER_NAME:-peer}" "$*" >&2; }

peer_die() {
  printf '[%s] ERROR: %s\n' "${PEER_NAME:-peer}" "$*" >&2
  exit 1
}

# Run as root (apt-get) or through sudo when available.
peer_apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  peer_log "installing $* with apt-get"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    peer_die "apt-get update failed"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    peer_die "apt-get install $* failed"
}

# Make sure java (17+) and, when downloads are needed, mvn exist.
peer_need_java() {
  command -v java >/dev/null 2>&1 || peer_apt_install openjdk-17-jre-headless
  local v
  v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  case "$v" in
    1.*|8|9|10) peer_die "java $v found, need 11+ (17 recommended): apt-get install openjdk-17-jre-headless" ;;
  esac
}

peer_need_mvn() {
  command -v mvn >/dev/null 2>&1 || peer_apt_install maven
}

# peer_fetch_libs NAME POM DESTDIR [-Dprop=value ...]
# Resolve the pom's runtime dependencies through Maven into DESTDIR (a lib/ dir),
# once: a stamp file keyed on the pom's content and the -D properties makes a
# second run skip Maven entirely.
peer_fetch_libs() {
  local name="$1" pom="$2" dest="$3"
  shift 3
  local key stamp tmp
  key="$( { cat "$pom"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16)"
  stamp="$dest/.complete-$key"
  if [ -f "$stamp" ]; then
    return 0
  fi
  peer_need_mvn
  mkdir -p "$FLINKPG_CACHE/m2" "$(dirname "$dest")"
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  peer_log "downloading $name jars through Maven into $dest (cached for next runs)"
  local t0=$SECONDS
  if ! nice -n 10 mvn -B -q -f "$pom" \
      -Dmaven.repo.local="$FLINKPG_CACHE/m2" "$@" \
      org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime \
      >"$FLINKPG_CACHE/mvn-$name.log" 2>&1; then
    tail -n 30 "$FLINKPG_CACHE/mvn-$name.log" >&2
    rm -rf "$tmp"
    peer_die "Maven could not fetch the $name jars (log: $FLINKPG_CACHE/mvn-$name.log)"
  fi
  rm -rf "$dest"
  mv "$tmp" "$dest"
  touch "$stamp"
  peer_log "downloaded $name jars in $((SECONDS - t0))s"
}

# Classpath of every jar in a directory.
peer_classpath() {
  local dir="$1" cp="" j
  for j in "$dir"/*.jar; do cp="${cp:+$cp:}$j"; done
  printf '%s' "$cp"
}

# pid stored in FILE and alive?
peer_pid_alive() {
  local f="$1" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    # a recycled pid that is not a JVM is not ours
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q java
}

# peer_spawn PIDFILE LOGFILE cmd args...
# Start cmd in its own session/process group (setsid), detached, output to LOGFILE.
peer_spawn() {
  local pidfile="$1" logfile="$2"
  shift 2
  # setsid makes the java process a group leader: stop can kill the whole group.
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
}

# peer_kill_orphans DIR LABEL: stop JVMs of this peer that no pid file knows any
# more (their state directory was wiped under them): they are found by DIR on
# their command line, and would otherwise keep the peer's ports.
peer_kill_orphans() {
  local dir="$1" label="$2" pid pids=() i
  for pid in $(pgrep -f -- "$dir/" 2>/dev/null); do
    [ "$pid" = "$$" ] && continue
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^java ' && pids+=("$pid")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  peer_log "$label: stopping ${#pids[@]} process(es) without a pid file: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

# peer_kill PIDFILE LABEL [GRACE_SECONDS]: TERM the process group, wait, then KILL.
peer_kill() {
  local pidfile="$1" label="$2" grace="${3:-30}" pid i
  if ! peer_pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    peer_log "$label (pid $pid) did not stop in ${grace}s, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  rm -f "$pidfile"
  peer_log "$label stopped"
}

# TCP port accepting connections on 127.0.0.1?
peer_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# peer_port_free PORT LABEL: fail clearly when something else holds the port.
peer_port_free() {
  if peer_port_open "$1"; then
    peer_die "port 127.0.0.1:$1 needed by $2 is already in use by another process"
  fi
}

# peer_show_logs "FILE[:FILE...]": the last lines of each non-empty log file.
peer_show_logs() {
  local f
  local IFS=:
  for f in $1; do
    if [ -s "$f" ]; then
      printf -- '----- last lines of %s -----\n' "$f" >&2
      tail -n 30 "$f" >&2
    fi
  done
}

# peer_wait LABEL PIDFILE "LOG[:LOG...]" CHECK_CMD...: poll CHECK_CMD until it succeeds,
# the process dies, or PEER_TIMEOUT passes; on failure name the peer and show its logs.
peer_wait() {
  local label="$1" pidfile="$2" logs="$3"
  shift 3
  local deadline=$((SECONDS + PEER_TIMEOUT))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ! peer_pid_alive "$pidfile"; then
      peer_show_logs "$logs"
      peer_die "$label did not come up: the process exited during start-up (logs above)"
    fi
    sleep 0.5
  done
  peer_show_logs "$logs"
  peer_die "$label did not come up within ${PEER_TIMEOUT}s (logs above)"
}

# Resident memory (MiB) of the process in PIDFILE, for status output.
peer_rss_mb() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 0
  awk '/^VmRSS:/ {printf "%d", $2/1024}' "/proc/$pid/status" 2>/dev/null
}

# curl is used for HTTP readiness checks and by the REST examples.
peer_need_curl() {
  command -v curl >/dev/null 2>&1 || peer_apt_install curl ca-certificates
}
