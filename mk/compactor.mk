# The compactor: its benchmark, and its binary (also built by `make test` with the others).

.PHONY: compactor-bin
compactor-bin: ## Build the strata-compactor binary (debug) for the end-to-end tests
	$(CARGO) build -j$(JOBS) -p strata-compactor --bin strata-compactor

.PHONY: bench-compaction
bench-compaction: ## Compaction benchmark (RF-3 level-0 blocks → compacted); writes docs/BENCHMARKS.md
	./scripts/compaction_bench.sh
