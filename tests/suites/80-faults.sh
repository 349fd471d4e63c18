#!/usr/bin/env bash
# Fault suite (issue 11): load with unique request ids through csg-gateway → Kafka →
# csg-persist → PostgreSQL while one fault is injected at a time (broker kill -9 and
# stop, gateway SIGTERM and SIGKILL, csg-persist kill -9 loop, PostgreSQL stopped,
# champion down/slow with and without fallback, SIGHUP bad then good), then the 3-broker
# KRaft cluster with the partition leader bounced, then a scan of every log for secrets.
# Prints the count table (sent / answered / rows / duplicate rows / lost) per scenario.
# Short variants here (make test); CSG_FAULTS_LONG=1 (make test-faults) runs the long
# ones. The suite runs its own broker ($CSG_TEST_KAFKA_PORT + 30) and PostgreSQL
# ($CSG_TEST_PG_PORT + 30), so killing them disturbs no other suite.
# Its secret scan (test_zsecrets) reads every suite's logs, so it starts once the side-lane
# suites before it (tests/run) have ended.
# csg-after: 60-persist
# csg-after: 65-analytics
set -euo pipefail
for f in bin/csg-gateway bin/csg-model bin/csg-persist lib/csg/http.so lib/csg/rest.so; do
  [[ -e $CSG_BUILD_DIR/$f ]] || { echo "missing $CSG_BUILD_DIR/$f"; exit 1; }
done
"$PY" -m ruff check tests/faults
kport=${CSG_FAULTS_KAFKA_PORT:-$((CSG_TEST_KAFKA_PORT + 30))}
pport=${CSG_FAULTS_PG_PORT:-$((CSG_TEST_PG_PORT + 30))}
# The fixtures stop what they started; this catches an interrupted run.
cleanup() {
  scripts/kafka down --quiet --port "$kport" --data "$CSG_TEST_VAR/faults/kafka" >/dev/null 2>&1 || true
  scripts/kafka cluster down --quiet --ports "${CSG_FAULTS_CLUSTER_PORTS:-19192,29192,31192}" \
    --data "$CSG_TEST_VAR/faults/cluster" >/dev/null 2>&1 || true
  scripts/postgres down --port "$pport" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rc=0
"$PY" -m pytest -q -p no:cacheprovider -s --durations=12 tests/faults "$@" || rc=$?
exit $rc
