# gRPC code generation. proto/ is the source; crates/strata-proto/src/gen/ is generated and
# committed; crates/strata-protogen/tests/current.rs (part of `make test`) fails when it is stale.

.PHONY: proto
proto: ## Regenerate gRPC code from proto/
	$(CARGO) run -q -j$(JOBS) -p strata-protogen
