#!/usr/bin/env bash
# Hostile input against the real csg-gateway (http.so + tcp.so + rest.so) and a real
# csg-model champion (tests/hostile/): requests split at every byte, slowloris (HTTP
# heads and TCP lines trickled a byte at a time), oversized bodies / headers / lines,
# pipelining floods that never read, 10,000 connections at limits.max_connections, idle
# timeouts — while a well-behaved client is served with bounded latency and the
# gateway's RSS stays bounded. (The fuzz corpora and crash fixtures are replayed by
# CTest in 10-unit: fuzz-replay.*.)
# csg-sanitize
set -euo pipefail
for f in bin/csg-gateway bin/csg-model lib/csg/http.so lib/csg/tcp.so lib/csg/rest.so; do
  [[ -e $CSG_BUILD_DIR/$f ]] || { echo "missing $CSG_BUILD_DIR/$f"; exit 1; }
done
if [[ -z ${CSG_UNDER_SANITIZER:-} ]]; then
  "$PY" -m ruff check tests/hostile tests/fuzz/make_seeds.py
fi
exec timeout 300 "$PY" -m pytest -q -p no:cacheprovider -s tests/hostile
