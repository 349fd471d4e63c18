#!/usr/bin/env bash
# Kafka: the real broker (scripts/kafka, KRaft), the Kafka sink and its disk spool.
#  - tests/kafka/test_sink.py: core/sink_kafka.c through csg-sink-driver (the sink as
#    the publisher thread drives it): round trip + throughput, broker kill -9 under
#    load, SIGTERM with the broker down then replay, spool full → counted drops.
#  - tests/kafka/test_gateway_kafka.py: the real csg-gateway (events.sink: kafka) in
#    front of both csg-model services: 5,000 requests → 5,000 events, SIGTERM with the
#    broker down then restart. (Broker kill -9 and gateway SIGKILL under gateway load run
#    end to end, to PostgreSQL, in 80-faults.)
# The fault tests use a second broker ($CSG_TEST_KAFKA_PORT + 20) so the shared
# one is never killed. Prints throughput and lost/duplicate counts.
set -euo pipefail
[[ -x $CSG_BUILD_DIR/tests/csg-sink-driver ]] || { echo "missing $CSG_BUILD_DIR/tests/csg-sink-driver"; exit 1; }
"$PY" -m ruff check tests/kafka
tests/lib/need-kafka
# Spools and logs of earlier runs (not of a run that may be going on right now).
[[ -d $CSG_TEST_VAR/kafka-tests ]] && find "$CSG_TEST_VAR/kafka-tests" -mindepth 1 -maxdepth 1 -mmin +60 -exec rm -rf {} +
fault_port=${CSG_TEST_KAFKA_FAULT_PORT:-$((CSG_TEST_KAFKA_PORT + 20))}
# The fault broker is stopped by the tests' fixture; this catches a crashed run.
trap 'scripts/kafka down --quiet --port "$fault_port" --data "$CSG_TEST_VAR/kafka-faults" >/dev/null 2>&1 || true' EXIT
"$PY" -m pytest -q -p no:cacheprovider -s tests/kafka
