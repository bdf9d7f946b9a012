#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
install_packages "${build_packages[@]}" "${test_packages[@]}"
# The test build treats warnings as errors: a warning fails CI.
CURSORD_WERROR=ON build_cursord
# The browser test's npm packages (lock file pinned; npm registry only).
(cd "$CURSORD_ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
cd "$CURSORD_BUILD"
ctest --output-on-failure -j 2 --timeout 300
# Then the suite under ASan+UBSan and TSan, and the fuzz targets (CI runs
# them: about 12 minutes on 2 cores). CURSORD_SKIP_SANITIZERS=1 skips them.
if [ "${CURSORD_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash "$CURSORD_ROOT/tests/sanitize.sh"
fi
