#!/usr/bin/env bash
# Installs the Debian packages flinkpg needs to build and test, if missing.
# Safe to run repeatedly: it does nothing when everything is there.
#
#   tests/install-deps.sh          build and test packages
#   tests/install-deps.sh images   those and what images/build.sh (make images) needs:
#                                  podman with runc, mmdebstrap for the base image
set -euo pipefail

packages=(
  build-essential pkg-config clang-format
  # make fuzz: clang with libFuzzer and the sanitizer runtimes
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  librdkafka-dev libpq-dev libjansson-dev libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev zlib1g-dev
  postgresql postgresql-client
  curl jq procps util-linux openssl ca-certificates
  # the real node of tests/peers/node.sh
  containerd runc containernetworking-plugins nftables iproute2
)
if [ "${1:-}" = images ]; then
  packages+=(podman runc uidmap mmdebstrap)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the postgresql package starts a cluster on 5432; our tests run their own
echo "install-deps: done"
