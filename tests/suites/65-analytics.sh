#!/usr/bin/env bash
# Outcomes and promotion evidence (issue 9, docs/analytics.md): POST /outcomes and
# GET /metrics/performance + the segment outcome columns of a real csg-persist on the test
# PostgreSQL and on SQLite, against independent references (scikit-learn, scipy, numpy, a
# DeLong of our own) to 1e-9 (tests/analytics). The pure C statistics have their cmocka
# test in tests/persist/unit/test_analytics.c (run by 10-unit / 90-sanitizers).
# With CSG_E2E_DEMO=1 and a running `make up` stack, also the short demo run (e2e).
# csg-sanitize
set -euo pipefail
tests/lib/need-postgres
cd tests/analytics
if [[ ${CSG_UNDER_SANITIZER:-0} == 1 ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
fi
exec "$PY" -m pytest -q -p no:cacheprovider --durations=5 "$@" .
