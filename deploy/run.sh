#!/usr/bin/env bash
# Quick start: install what is missing, build, and run cursord (in-memory)
# with its demo page. Extra arguments go to cursord, e.g. --listen 127.0.0.1:9000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
install_packages "${build_packages[@]}"
build_cursord cursord cursorctl
exec "$CURSORD_BUILD/server/cursord" "$@"
