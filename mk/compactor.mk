# The compactor: its benchmark, and its binary, which tests/e2e/compactor.rs runs.

TEST_DEPS += compactor-bin

.PHONY: compactor-bin
compactor-bin: ## Build the strata-compactor binary (debug) for the end-to-end tests
	$(CARGO) build -j$(JOBS) -p strata-compactor --bin strata-compactor

.PHONY: bench-compaction
bench-compaction: ## Compaction benchmark (RF-3 level-0 blocks → compacted); writes docs/BENCHMARKS.md
	./scripts/compaction_bench.sh
