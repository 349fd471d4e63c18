#!/usr/bin/env bash
# Outcomes and promotion evidence (issue 9, docs/analytics.md): POST /outcomes and
# GET /metrics/performance + the segment outcome columns of a real csg-persist on the test
# PostgreSQL and on SQLite, against independent references (scikit-learn, scipy, numpy, a
# DeLong of our own) to 1e-9 (tests/analytics). The pure C statistics have their cmocka
# test in tests/persist/unit/test_analytics.c (run by 10-unit and, under ASan, 90-sanitizers).
# On a private real stack (tests/analytics/gwstack.py: models, gateway, test Kafka,
# csg-persist): the demo run (test_e2e_demo.py) and issue 16's feature schema end to end
# (test_schema_e2e.py: three transports, a reload under load, catalogue, segments,
# dashboard filter, a refused reload); csg-replay end to end (test_replay_e2e.py: the GBM
# replay equals the live run to 1e-9, the scorecard report, --require-better, hanging and
# crashing candidates, Ctrl-C, GET /export/events).
# csg-sanitize: data
# Side lane "asan" of tests/run, before the ASan pass (90-sanitizers, 91-sanitizers-data,
# which repeats this suite after it): its databases, topics, stacks and ports are its own.
# csg-lane: asan
set -euo pipefail
tests/lib/need-postgres
cd tests/analytics
if [[ ${CSG_UNDER_SANITIZER:-0} == 1 ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
fi
exec "$PY" -m pytest -q -p no:cacheprovider --durations=5 "$@" .
