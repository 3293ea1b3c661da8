# Strata — make help lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
JOBS ?= 2
CONFIG ?= config/single-binary.yaml

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every crate (debug)
	$(CARGO) build -j$(JOBS) --workspace --all-targets

.PHONY: release
release: ## Build the strata binary (release)
	$(CARGO) build -j$(JOBS) --release -p strata-cli

.PHONY: run
run: release ## Run all roles in one process: OTLP :4317/:4318, API :3200, data under ./data
	./target/release/strata run --config $(CONFIG)

.PHONY: release-all
release-all: ## Build every binary (release): strata and one per role
	$(CARGO) build -j$(JOBS) --release -p strata-cli -p strata-distributor -p strata-ingester -p strata-querier -p strata-compactor -p strata-metrics-generator

.PHONY: run-cluster
run-cluster: release-all ## Local cluster on loopback: 2 distributors, 3 ingesters (RF 3), querier, compactor
	./scripts/run-cluster.sh

.PHONY: fixtures
fixtures: ## Write the newest stored-format fixture set (crates/strata-testkit/fixtures/v6, or FIXTURES_OUT=dir); never overwrites
	$(CARGO) run -j$(JOBS) -p strata-testkit --example write-fixtures $(if $(FIXTURES_OUT),-- $(FIXTURES_OUT))

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: lint
lint: check-deps ## cargo fmt --check, clippy -D warnings, and the dependency rules
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -j$(JOBS) --workspace --all-targets -- -D warnings

# Crates that must not link the query engine: the ring, and the stateless distributor that uses
# it (merging of query answers lives in strata-engine::merge, used by the querier), and the
# metrics-generator (it only counts spans).
NO_ENGINE := strata-ring strata-distributor strata-metrics-generator

.PHONY: check-deps
check-deps: ## Fail when a crate of NO_ENGINE depends on strata-engine (cargo tree)
	@for c in $(NO_ENGINE); do \
		tree=$$($(CARGO) tree -p $$c -e normal --prefix none) || exit 1; \
		if grep -q '^strata-engine ' <<<"$$tree"; then \
			echo "$$c must not depend on strata-engine; the path:"; \
			$(CARGO) tree -p $$c -e normal -i strata-engine; \
			exit 1; \
		fi; \
	done

# Tools the tests need besides the Rust toolchain (test servers, validators) install under
# target/tools; each mk/*.mk adds its own install target to TEST_DEPS.
TOOLS := $(CURDIR)/target/tools
TEST_DEPS :=
-include mk/*.mk

.PHONY: test-deps
test-deps: $(TEST_DEPS) ## Install the servers and validators the tests use (under target/tools)

.PHONY: test
test: lint test-deps ## Lint, then every unit and integration test (integration tests run the real binary)
	$(CARGO) build -j$(JOBS) -p strata-cli -p strata-distributor -p strata-ingester -p strata-querier -p strata-compactor -p strata-metrics-generator
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run -j$(JOBS) --workspace --no-fail-fast; \
	else \
		$(CARGO) test -j$(JOBS) --workspace --no-fail-fast; \
	fi

# Fuzz targets: `#[test]`s named fuzz_* (strata-fuzzkit drives them on stable Rust). `make test`
# runs each for strata-fuzzkit's default 2 s; `make fuzz` runs them one at a time for FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
FUZZ_CRATES := strata-traceql strata-wal strata-block strata-ingester strata-distributor

.PHONY: fuzz
fuzz: ## Every fuzz target (decoders of OTLP, Zipkin, Jaeger, WAL, TraceQL, blocks) for FUZZ_SECONDS each (default 20); FUZZ_SEED=n replays a failure
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test -j$(JOBS) $(addprefix -p ,$(FUZZ_CRATES)) --lib --tests -- fuzz_ --test-threads=1 --nocapture

.PHONY: soak
soak: ## Kill an ingester of the run-cluster cluster every SOAK_KILL_EVERY s (20) under load for SOAK_SECONDS (300); every acknowledged trace must be readable
	$(CARGO) build -j$(JOBS) -p strata-cli -p strata-distributor -p strata-ingester -p strata-querier -p strata-compactor -p strata-metrics-generator
	$(CARGO) test -j$(JOBS) -p strata-integration-tests --test e2e -- --ignored --nocapture soak::

.PHONY: bench
bench: ## Ingest, search, trace-by-ID, TraceQL metrics, cluster, compaction, receiver, metrics-generator and sampling benchmarks (release builds); writes docs/BENCHMARKS.md
	./scripts/bench.sh
	./scripts/search_bench.sh
	./scripts/search_cores.sh
	./scripts/byid_bench.sh
	./scripts/metrics_bench.sh
	./scripts/cluster_bench.sh
	./scripts/compaction_bench.sh
	./scripts/receiver_bench.sh
	./scripts/generator_bench.sh
	./scripts/sampling_bench.sh

.PHONY: bench-sampling
bench-sampling: ## Ingest spans/s per server CPU-second with no, head and tail sampling; memory per million pending traces and decisions
	./scripts/sampling_bench.sh

.PHONY: bench-generator
bench-generator: ## Metrics-generator spans/s per core next to prost decode, memory per 10k series, ingest with it on ÷ off
	./scripts/generator_bench.sh

.PHONY: bench-receivers
bench-receivers: ## Decode-and-translate spans/s of every receiver next to OTLP protobuf decode (release)
	./scripts/receiver_bench.sh

.PHONY: bench-cluster
bench-cluster: ## Ingest spans/s of the local cluster (RF 3) next to one process, same run
	./scripts/cluster_bench.sh

.PHONY: bench-byid
bench-byid: ## Trace-by-ID latency and object-store requests over 1,000 small blocks with 20 ms per request (release)
	./scripts/byid_bench.sh

.PHONY: bench-search
bench-search: ## Search benchmark only (10M generated spans; SEARCH_BENCH_SPANS to change)
	./scripts/search_bench.sh
	./scripts/search_cores.sh

.PHONY: clean
clean: ## Remove build output and local data
	$(CARGO) clean
	rm -rf ./data
