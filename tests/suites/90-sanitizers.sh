#!/usr/bin/env bash
# The make-test subset under ASan+UBSan: the unit tests and every suite marked
# "# csg-sanitize" (gateway core, models, HTTP/TCP/gRPC, hostile, persistence, analytics) again, on the
# ASan+UBSan build. A suite also fails on any sanitizer report a binary wrote (options and
# check: tests/lib/sanitizer-env). `make sanitize` (tests/run --sanitize) runs EVERY suite
# that way instead.
# csg-timeout: 1800
# In tests/run's parallel lane, after 60-persist: it shares only the test Kafka/PostgreSQL
# (names of its own) and the gateway tests use their own var dir under ASan (gwlib.VAR).
# csg-parallel
set -euo pipefail
export PYTEST_TIMEOUT=600 # pytest.ini's per-test limit, doubled for the ASan build
source tests/lib/sanitizer-env
sanitizer_begin 90-unit
start=$SECONDS
ctest --test-dir "$CSG_ASAN_BUILD_DIR" --output-on-failure --no-tests=error --timeout 600 -j2
sanitizer_check
echo "--- unit tests under ASan+UBSan: $((SECONDS - start)) s"
for suite in tests/suites/*; do
  [[ $suite == "$0" || $suite == */90-sanitizers.sh ]] && continue
  if grep -q '^# csg-sanitize' "$suite"; then
    name=$(basename "$suite" .sh)
    echo "--- $name under ASan+UBSan"
    sanitizer_begin "90-$name"
    start=$SECONDS
    CSG_BUILD_DIR="$CSG_ASAN_BUILD_DIR" CSG_UNDER_SANITIZER=1 "$suite"
    sanitizer_check
    echo "--- $name under ASan+UBSan: $((SECONDS - start)) s"
  fi
done
