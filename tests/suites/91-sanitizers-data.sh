#!/usr/bin/env bash
# The make-test subset under ASan+UBSan, second part: every suite marked
# "# csg-sanitize: data" (60-persist: all but its kill -9, outage and bulk tests;
# 65-analytics) again, on the ASan+UBSan build (tests/lib/sanitize-pass; 90-sanitizers does
# the unit tests and the other suites).
# csg-timeout: 1800
# Side lane "asan" of tests/run, after 90-sanitizers, beside the normal runs of the same
# suites (60-persist in lane persist): under ASan the TLS broker of test_security has a port and
# directory of its own.
# csg-lane: asan
set -euo pipefail
exec tests/lib/sanitize-pass data
