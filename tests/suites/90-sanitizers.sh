#!/usr/bin/env bash
# The make-test subset under ASan+UBSan, first part: the unit tests and every suite marked
# "# csg-sanitize" (gateway core, models, HTTP/TCP/gRPC, hostile) again, on the ASan+UBSan
# build; 91-sanitizers-data does the suites marked "# csg-sanitize: data" (persistence,
# analytics). The loop: tests/lib/sanitize-pass. A suite also fails on any sanitizer report a
# binary wrote (options and check: tests/lib/sanitizer-env). `make sanitize` (tests/run
# --sanitize) runs EVERY suite that way instead.
# csg-timeout: 1800
# Side lane "asan" of tests/run (after 65-analytics, then 91-sanitizers-data): it shares
# only the test Kafka/PostgreSQL (names of its own), and under ASan the gateway tests use
# var dirs of their own (gwlib.VAR), so it runs beside the main lane's normal runs of the
# same suites.
# csg-lane: asan
set -euo pipefail
exec tests/lib/sanitize-pass main
