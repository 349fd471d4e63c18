#!/usr/bin/env bash
# cmocka unit tests registered with CTest (tests/unit, core, …), after the import
# rules of DESIGN §2 (scripts/check-boundaries: includes resolved per directory) and
# clang-tidy over our C code (scripts/lint, .clang-tidy: zero findings, prints its time).
# Then the Python test harness's own tests (tests/harness).
# Lint is skipped under the sanitizer and coverage builds (CSG_LINT=0): it is a property
# of the source, checked once per `make test`.
set -euo pipefail
scripts/check-boundaries
if [[ ${CSG_UNDER_SANITIZER:-0} != 1 && ${CSG_LINT:-1} != 0 ]]; then
  scripts/lint
fi
ctest --test-dir "$CSG_BUILD_DIR" --output-on-failure --no-tests=error --timeout 300 -j2
"$PY" -m pytest -q -p no:cacheprovider tests/harness
