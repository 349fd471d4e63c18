#!/usr/bin/env bash
# csg-persist (issue 7) against the real test PostgreSQL and Kafka broker, and SQLite:
# schema/roles, exactly-once ingest, DLQ, kill -9 restarts, a PostgreSQL outage, and the
# REST API checked against Python references. Drivers: tests/persist/*.py (pytest).
# Under ASan+UBSan in make test (91-sanitizers-data) every test but the kill -9, outage and bulk
# ones runs; make sanitize (CSG_SANITIZE_ALL=1) runs them all.
# test_security.py (issue 24): tokens, TLS, pseudonymisation end to end, and Kafka over TLS
# on a second broker ($CSG_TEST_KAFKA_PORT + 10, + 12 under ASan, so the ASan pass can run
# beside this one; stopped by its fixture; the trap below catches a crashed run).
# csg-sanitize: data
# Side lane "persist" of tests/run, beside the main lane and the ASan
# pass of this suite (91-sanitizers-data): its databases and topics have names of its own,
# its TLS broker a port and directory of its own.
# csg-lane: persist
set -euo pipefail
tests/lib/need-postgres
tests/lib/need-kafka
root=$PWD
tls=(10 kafka-tls); [[ ${CSG_UNDER_SANITIZER:-0} == 1 ]] && tls=(12 kafka-tls-asan)
tls_port=${CSG_TEST_KAFKA_TLS_PORT:-$((CSG_TEST_KAFKA_PORT + tls[0]))}
trap '"$root"/scripts/kafka down --quiet --port "$tls_port" --data "$CSG_TEST_VAR/${tls[1]}" >/dev/null 2>&1 || true' EXIT
cd tests/persist
select=()
if [[ ${CSG_UNDER_SANITIZER:-0} == 1 ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  [[ -n ${CSG_SANITIZE_ALL:-} ]] || select=(-k "not kill and not outage and not bulk")
fi
"$PY" -m pytest -q -p no:cacheprovider --durations=8 "${select[@]}" "$@" .
