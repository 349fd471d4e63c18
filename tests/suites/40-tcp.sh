#!/usr/bin/env bash
# tcp.so through the C test host (tests/lib/csg_test_host_main.c, as csg-transport-stub):
# replies and request ids, an error line per bad line while the connection goes
# on, 1,000 pipelined lines in order, overlong-line resync, half-close, idle
# timeout, max connections (refusals counted), out of descriptors (accept backs
# off, no spin, a bounded log), back-pressure (a client that never reads cannot
# grow the server), drain on SIGTERM, 200 concurrent connections. The same
# TCP behaviour against the real gateway runs in 41-grpc-conformance.
# csg-sanitize
set -euo pipefail
for f in tests/csg-transport-stub lib/csg/tcp.so; do
  [[ -e $CSG_BUILD_DIR/$f ]] || { echo "missing $CSG_BUILD_DIR/$f"; exit 1; }
done
if [[ -z ${CSG_UNDER_SANITIZER:-} ]]; then
  "$PY" -m ruff check tests/transports
fi
exec "$PY" -m pytest -q -p no:cacheprovider tests/transports/test_tcp.py
