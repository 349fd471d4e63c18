#!/usr/bin/env bash
# The make-test subset under ASan+UBSan, second part: every suite marked
# "# csg-sanitize: data" (60-persist: all but its kill -9, outage and bulk tests;
# 65-analytics) again, on the ASan+UBSan build (tests/lib/sanitize-pass; 90-sanitizers does
# the unit tests and the other suites).
# csg-timeout: 1800
# Side lane "persist" of tests/run, after the normal 60-persist: never beside it (its TLS
# broker has one port and data directory).
# csg-lane: persist
set -euo pipefail
exec tests/lib/sanitize-pass data
