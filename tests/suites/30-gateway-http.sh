#!/usr/bin/env bash
# http.so, rest.so and challenger-scorecard.so: plugin-level tests through the C test
# host (tests/lib/csg_test_host_main.c, as csg-stub-gateway), then the real csg-gateway in front of both
# csg-model services: 1,000 requests vs the champion + events file, slow challenger,
# champion down/slow, every bad input of DESIGN §5, keep-alive/pipelining, SIGHUP
# drop-in of challenger-scorecard.so under load, /metrics names, an open-file limit
# below max_connections (start-up warning, accept back-off). Prints the p50/p99
# of 1,000 sequential requests through the gateway vs the champion directly.
# csg-sanitize
set -euo pipefail
for f in bin/csg-gateway bin/csg-model tests/csg-stub-gateway lib/csg/http.so lib/csg/rest.so \
         lib/csg/challenger-scorecard.so; do
  [[ -e $CSG_BUILD_DIR/$f ]] || { echo "missing $CSG_BUILD_DIR/$f"; exit 1; }
done
if [[ -z ${CSG_UNDER_SANITIZER:-} ]]; then
  "$PY" -m ruff check tests/gateway
fi
exec "$PY" -m pytest -q -p no:cacheprovider -s tests/gateway
