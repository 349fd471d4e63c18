#!/usr/bin/env bash
# cmocka unit tests registered with CTest (tests/unit, core, …), after the import
# rules of DESIGN §2 (scripts/check-boundaries: includes resolved per directory); then the
# Python test harness's own tests (tests/harness). clang-tidy runs in 95-lint, in the
# background of the whole run.
set -euo pipefail
scripts/check-boundaries
ctest --test-dir "$CSG_BUILD_DIR" --output-on-failure --no-tests=error --timeout 300 -j2
"$PY" -m pytest -q -p no:cacheprovider tests/harness
