#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine and builds cursord.
# Sourced by deploy/run.sh and deploy/test.sh; safe to run again (it only
# installs packages that are absent and rebuilds incrementally).
set -euo pipefail

CURSORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CURSORD_BUILD="${CURSORD_BUILD:-$CURSORD_ROOT/build}"

# Build and runtime packages, all from Debian bookworm.
build_packages=(
  build-essential cmake pkg-config
  libboost-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc libcli11-dev
  libssl-dev nlohmann-json3-dev
  libhiredis-dev
  prometheus-cpp-dev
  libgtest-dev libgmock-dev
)
# Test-only packages: the browser test drives Debian's Chromium from Node;
# nginx_tls_test runs deploy/nginx/cursord.conf in nginx with a certificate
# it makes with openssl. tests/deploy: cpack -G DEB needs file (and
# dpkg-shlibdeps, from build-essential's dpkg-dev); check_deploy.py parses
# the compose and Kubernetes files with python3-yaml.
test_packages=(chromium nodejs npm nginx openssl redis-server file python3-yaml)
# The sanitizer and fuzzing pass (tests/sanitize.sh): gcc's sanitizer
# runtimes come with build-essential; the fuzz targets need clang, and
# libFuzzer is in libclang-rt-14-dev, which clang only recommends.
sanitizer_packages=(clang libclang-rt-14-dev)

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  # nodejs from another source (e.g. NodeSource) already provides npm.
  if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/npm}")
    missing=("${missing[@]/nodejs}")
  fi
  local wanted=()
  for p in "${missing[@]}"; do [ -n "$p" ] && wanted+=("$p"); done
  [ ${#wanted[@]} -eq 0 ] && return 0
  echo "setup: installing ${wanted[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${wanted[@]}"
}

# Builds the given targets (default: everything, tests included).
build_cursord() {
  # CURSORD_WERROR=ON (deploy/test.sh) builds with -Werror; unset, the
  # build keeps what it was configured with.
  cmake -S "$CURSORD_ROOT" -B "$CURSORD_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${CURSORD_WERROR:+-DCURSORD_WERROR="$CURSORD_WERROR"} >/dev/null
  if [ $# -gt 0 ]; then
    cmake --build "$CURSORD_BUILD" -j "$(nproc)" --target "$@"
  else
    cmake --build "$CURSORD_BUILD" -j "$(nproc)"
  fi
}
