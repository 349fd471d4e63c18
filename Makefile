# CSG — top-level commands. `make help` lists them.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
COVERAGE_BUILD_DIR ?= build-coverage
JOBS ?= $(shell nproc)
export CSG_BUILD_DIR := $(abspath $(BUILD_DIR))
export CSG_ASAN_BUILD_DIR := $(abspath $(ASAN_BUILD_DIR))

.PHONY: help bootstrap build build-asan test lint coverage sanitize fuzz test-faults up down status demo bench bench-persist clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## install what this machine lacks (Debian packages, Python venv)
	@scripts/bootstrap

build: ## build all C code into build/bin and build/lib/csg
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: ## build with ASan+UBSan into build-asan/
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCSG_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

test: bootstrap build build-asan ## build and run every test suite (unit, integration, e2e, sanitizers)
	@tests/run

lint: bootstrap build ## clang-tidy over our C code (.clang-tidy; make test runs it as 95-lint)
	@scripts/lint

coverage: bootstrap ## --coverage build in build-coverage/, the C-facing suites, line coverage per directory (gcovr)
	@CSG_COVERAGE_BUILD_DIR=$(abspath $(COVERAGE_BUILD_DIR)) JOBS=$(JOBS) scripts/coverage $(SUITES)

sanitize: bootstrap build-asan ## EVERY suite (unit, integration, Kafka, persist, dashboard, faults) against the ASan+UBSan build; fails on any sanitizer report
	@tests/run --sanitize

fuzz: bootstrap ## time-bounded libFuzzer runs (FUZZ_SECONDS=60 per target)
	@CC=clang cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCSG_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)
	@tests/fuzz/run $(FUZZ_BUILD_DIR)

test-faults: bootstrap build ## the long fault scenarios
	@CSG_FAULTS_LONG=1 CSG_SUITE_TIMEOUT=5400 PYTEST_TIMEOUT=2700 tests/run faults

up: bootstrap build ## start the whole stack (idempotent) and print its URLs; SECURE=1: TLS + tokens (docs/security.md)
	@CSG_SECURE=$(SECURE) scripts/stack up

down: ## stop everything `make up` started
	@scripts/stack down

status: ## show which parts of the stack are running
	@scripts/stack status

demo: up ## replay the hold-out rows as live traffic and post their outcomes (DEMO_ARGS="--rate 50", "--drift")
	@scripts/demo $(DEMO_ARGS)

bench: bootstrap build ## run the benchmarks (QUICK=1 for one run per configuration), then bench-persist and bench/hostile
	@bench/run $(if $(QUICK),--quick,); rc=$$?; .venv/bin/python bench/persist $(if $(QUICK),--quick,) || rc=1; \
	  .venv/bin/python bench/hostile || rc=1; exit $$rc

bench-persist: bootstrap build ## analytics at 1 M and 10 M events, writes bench/results.md (QUICK=1: 100 k, results-quick.md)
	@.venv/bin/python bench/persist $(if $(QUICK),--quick,)

clean: ## remove build outputs
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR) $(COVERAGE_BUILD_DIR)
