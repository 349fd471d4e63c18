#!/usr/bin/env bash
# cmocka unit tests registered with CTest (tests/unit, core, …), after the import
# rules of DESIGN §2 (scripts/check-boundaries: includes resolved per directory).
set -euo pipefail
scripts/check-boundaries
ctest --test-dir "$CSG_BUILD_DIR" --output-on-failure --no-tests=error --timeout 300 -j2
