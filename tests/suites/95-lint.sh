#!/usr/bin/env bash
# clang-tidy over our C code (scripts/lint, .clang-tidy: zero findings; prints its time).
# CPU-bound and service-free, so it is marked csg-background: tests/run starts it at the
# beginning of the run at nice 19 — it uses the CPU the other suites leave idle while they
# wait on brokers, timeouts and outages — and prints its output and verdict here, in order.
# Skipped under the sanitizer and coverage builds (CSG_LINT=0): it is a property of the
# source, checked once per `make test`. (scripts/check-boundaries runs in 10-unit.)
# csg-background
set -euo pipefail
if [[ ${CSG_UNDER_SANITIZER:-0} == 1 || ${CSG_LINT:-1} == 0 ]]; then
  echo "lint: skipped (sanitizer or coverage build)"
  exit 0
fi
exec scripts/lint
