#!/usr/bin/env bash
# The unit tests and every suite marked "# csg-sanitize" (the HTTP/TCP
# integration suites) again, on the ASan+UBSan build.
set -euo pipefail
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$CSG_ASAN_BUILD_DIR" --output-on-failure --no-tests=error -j2
for suite in tests/suites/*; do
  [[ $suite == "$0" || $suite == */90-sanitizers.sh ]] && continue
  if grep -q '^# csg-sanitize' "$suite"; then
    echo "--- $(basename "$suite") under ASan+UBSan"
    CSG_BUILD_DIR="$CSG_ASAN_BUILD_DIR" CSG_UNDER_SANITIZER=1 "$suite"
  fi
done
