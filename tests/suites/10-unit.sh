#!/usr/bin/env bash
# cmocka unit tests registered with CTest (tests/unit, core, …).
set -euo pipefail
ctest --test-dir "$CSG_BUILD_DIR" --output-on-failure --no-tests=error --timeout 300 -j2
