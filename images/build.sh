#!/usr/bin/env bash
# images/build.sh [NAME...] — build flinkpg's container images with podman and
# save each as an OCI archive for `ctr -n k8s.io images import`.
#
#   NAME: flinkpg-sink flinkpg-generator flinkpg-controller pause postgres kafka flink
#         (default: all of them; `make images` runs this script)
#   images/build.sh --archives [NAME...]   print the OCI archive paths, build nothing
#
# Each image is tagged $IMAGE_PREFIX/NAME:$(cat VERSION) and $IMAGE_PREFIX/NAME:dev
# (IMAGE_PREFIX default docker.io/flinkpg: a pod spec's `flinkpg/flinkpg-sink:dev`
# is that same reference once normalised) and saved as build/images/NAME.oci.tar
# (reference :dev; the archive is rewritten only when the image changed).
#
# Works without a registry: when docker.io/library/debian:bookworm-slim is not in
# podman's store, it is made with mmdebstrap from the host's Debian mirror and
# `podman import`ed; the root filesystem tarball is cached in
# $FLINKPG_CACHE/images (default ~/.cache/flinkpg/images), next to the
# containers.conf this script writes and exports as CONTAINERS_CONF.
# Installs the Debian packages it needs (tests/install-deps.sh images).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}/images"
OUT="$ROOT/build/images"
VERSION="$(tr -d ' \n' <"$ROOT/VERSION")"
IMAGE_PREFIX="${IMAGE_PREFIX:-docker.io/flinkpg}"
BASE=docker.io/library/debian:bookworm-slim
ALL=(flinkpg-sink flinkpg-generator flinkpg-controller pause postgres kafka flink)

log() { printf '[images] %s\n' "$*" >&2; }
die() {
  printf '[images] ERROR: %s\n' "$*" >&2
  exit 1
}

if [ "${1:-}" = --archives ]; then
  shift
  [ $# -gt 0 ] || set -- "${ALL[@]}"
  for n in "$@"; do printf '%s\n' "$OUT/$n.oci.tar"; done
  exit 0
fi
[ $# -gt 0 ] || set -- "${ALL[@]}"
for n in "$@"; do
  case " ${ALL[*]} " in *" $n "*) ;; *) die "unknown image $n (one of: ${ALL[*]})" ;; esac
done

"$ROOT/tests/install-deps.sh" images >&2

mkdir -p "$CACHE" "$OUT/logs"
# one build at a time per machine (the tests and a developer may both run it)
exec 9>"$CACHE/lock"
flock 9

# podman here: root lacks CAP_SYS_RESOURCE (the open-files hard limit is 20000)
# and crun refuses the hybrid cgroup layout, runc does not.
cat >"$CACHE/containers.conf.tmp" <<'EOF'
# written by flinkpg images/build.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
mv "$CACHE/containers.conf.tmp" "$CACHE/containers.conf"
export CONTAINERS_CONF="$CACHE/containers.conf"

# ---- base image -------------------------------------------------------------

# One-line apt sources for bookworm from the host's mirrors (deb822 or one-line).
mirror_lines() {
  local uris=() u main="" sec=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mapfile -t uris < <(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources | tr ' ' '\n')
  fi
  if [ ${#uris[@]} -eq 0 ] && [ -f /etc/apt/sources.list ]; then
    mapfile -t uris < <(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' /etc/apt/sources.list)
  fi
  for u in "${uris[@]}"; do
    case "$u" in
      *security*) [ -n "$sec" ] || sec="${u%/}" ;;
      *) [ -n "$main" ] || main="${u%/}" ;;
    esac
  done
  main="${main:-http://deb.debian.org/debian}"
  sec="${sec:-http://deb.debian.org/debian-security}"
  printf '%s\n' "deb $main bookworm main" "deb $main bookworm-updates main" \
    "deb $sec bookworm-security main"
}

ensure_base() {
  if podman image exists "$BASE"; then
    return 0
  fi
  local tarball="$CACHE/debian-bookworm-minbase.tar" lines
  mapfile -t lines < <(mirror_lines)
  local key
  key="$(printf '%s\n' "${lines[@]}" | sha256sum | cut -c1-16)"
  if [ ! -f "$tarball" ] || [ "$(cat "$tarball.key" 2>/dev/null)" != "$key" ]; then
    log "making $BASE with mmdebstrap (${lines[0]}; about a minute, cached in $CACHE)"
    local t0=$SECONDS
    rm -f "$tarball.tmp.tar"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates --format=tar \
      bookworm "$tarball.tmp.tar" "${lines[@]}" >"$OUT/logs/mmdebstrap.log" 2>&1 ||
      { tail -n 20 "$OUT/logs/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $OUT/logs/mmdebstrap.log)"; }
    mv "$tarball.tmp.tar" "$tarball"
    echo "$key" >"$tarball.key"
    log "root filesystem made in $((SECONDS - t0))s"
  fi
  log "importing $BASE from $tarball"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
}

# ---- peer build contexts ------------------------------------------------------

# build/images/context/kafka: the jars tests/peers/kafka.sh resolves through Maven
# (nothing else is downloaded) and the scripts next to the Containerfile.
kafka_context() {
  local ver="${KAFKA_VERSION:-3.9.1}"
  local lib="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}/kafka-$ver/lib"
  local ctx="$OUT/context/kafka"
  "$ROOT/tests/peers/kafka.sh" fetch >&2
  mkdir -p "$ctx"
  local want have
  want="$(cd "$lib" && ls -l -- *.jar | sha256sum)"
  have="$(cat "$ctx/libs.key" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -d "$ctx/libs" ]; then
    rm -rf "$ctx/libs"
    mkdir -p "$ctx/libs"
    cp -p "$lib"/*.jar "$ctx/libs/"
    echo "$want" >"$ctx/libs.key"
  fi
  cp -p "$ROOT/images/kafka/entrypoint.sh" "$ROOT/images/kafka/run-class.sh" \
    "$ROOT/images/kafka/tools-log4j.properties" "$ctx/"
  printf '%s\n' "$ctx"
}

# build/images/context/flink: the jars tests/peers/flink.sh resolves through Maven
# (its pom.xml, its version properties; nothing else is downloaded) and the
# entrypoint next to the Containerfile.
flink_context() {
  local ver="${FLINK_VERSION:-1.20.3}"
  local lib="${FLINKPG_CACHE:-$HOME/.cache/flinkpg}/flink-$ver/lib"
  local ctx="$OUT/context/flink"
  "$ROOT/tests/peers/flink.sh" fetch >&2
  mkdir -p "$ctx"
  local want have
  want="$(cd "$lib" && ls -l -- *.jar | sha256sum)"
  have="$(cat "$ctx/lib.key" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -d "$ctx/lib" ]; then
    rm -rf "$ctx/lib"
    mkdir -p "$ctx/lib"
    cp -p "$lib"/*.jar "$ctx/lib/"
    echo "$want" >"$ctx/lib.key"
  fi
  cp -p "$ROOT/images/flink/entrypoint.sh" "$ctx/"
  printf '%s\n' "$ctx"
}

# ---- build, save, report -------------------------------------------------------

build_one() {
  local name="$1" file context
  case "$name" in
    flinkpg-*) file="$ROOT/images/${name#flinkpg-}/Containerfile" context="$ROOT" ;;
    pause) file="$ROOT/images/pause/Containerfile" context="$ROOT" ;;
    postgres) file="$ROOT/images/postgres/Containerfile" context="$ROOT/images/postgres" ;;
    kafka) file="$ROOT/images/kafka/Containerfile" context="$(kafka_context)" ;;
    flink) file="$ROOT/images/flink/Containerfile" context="$(flink_context)" ;;
  esac
  local ref="$IMAGE_PREFIX/$name" t0=$SECONDS
  if ! podman build --pull=never --isolation=chroot --network=host \
      --build-arg "VERSION=$VERSION" -f "$file" -t "$ref:$VERSION" -t "$ref:dev" \
      "$context" >"$OUT/logs/$name.log" 2>&1; then
    tail -n 30 "$OUT/logs/$name.log" >&2
    die "podman build of $name failed (log: $OUT/logs/$name.log)"
  fi
  local id archive="$OUT/$name.oci.tar" saved=""
  id="$(podman image inspect --format '{{.Id}}' "$ref:dev")"
  if [ ! -f "$archive" ] || [ "$(cat "$OUT/$name.id" 2>/dev/null)" != "$id" ]; then
    rm -f "$archive.tmp"
    podman save --quiet --format oci-archive -o "$archive.tmp" "$ref:dev"
    mv "$archive.tmp" "$archive"
    echo "$id" >"$OUT/$name.id"
    saved=" saved"
  fi
  log "$name: ${id:0:12} in $((SECONDS - t0))s$saved"
}

t_all=$SECONDS
ensure_base
# the program images first, one after the other: the first one fills the
# shared apt-get layer of the build stage, the others reuse it
for n in "$@"; do build_one "$n"; done

printf '\n%-38s %-8s %10s  %s\n' IMAGE TAG SIZE ARCHIVE
for n in "$@"; do
  size="$(podman image inspect --format '{{.Size}}' "$IMAGE_PREFIX/$n:dev")"
  printf '%-38s %-8s %7.1f MB  %s\n' "$IMAGE_PREFIX/$n" "$VERSION" \
    "$(awk -v s="$size" 'BEGIN { print s / 1000000 }')" "build/images/$n.oci.tar"
done
log "done in $((SECONDS - t_all))s"
