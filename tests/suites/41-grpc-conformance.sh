#!/usr/bin/env bash
# grpc.so through the C test host (statuses, INVALID_ARGUMENT naming the
# field, client deadlines, UNIMPLEMENTED at once, health, drain, a second server
# on the same port refused), then the conformance suite against the real
# csg-gateway with all three transports in front of both csg-model services:
# the same 1,000 applications over TCP, HTTP and gRPC agree (replies and
# events), one table of bad input gives the same error class everywhere,
# 200 concurrent connections per protocol, TCP framing on the real gateway;
# then a gateway with the shipped 13-feature schema under unknown_fields:
# reject: each schema rule broken gives the same error on HTTP and TCP, and a
# 13-feature application the same answer as the brief's 4-field one.
# Python stubs are generated at test time into var/ (tests/transports/protogen.py).
# csg-sanitize
set -euo pipefail
for f in bin/csg-gateway bin/csg-model tests/csg-transport-stub lib/csg/grpc.so lib/csg/tcp.so \
         lib/csg/http.so lib/csg/rest.so; do
  [[ -e $CSG_BUILD_DIR/$f ]] || { echo "missing $CSG_BUILD_DIR/$f"; exit 1; }
done
if [[ -z ${CSG_UNDER_SANITIZER:-} ]]; then
  "$PY" -m ruff check tests/conformance tests/transports
fi
"$PY" -m pytest -q -p no:cacheprovider tests/transports/test_grpc.py
exec "$PY" -m pytest -q -p no:cacheprovider tests/conformance
