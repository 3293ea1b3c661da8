# The `openssl` command line: the TLS tests make their CA and certificates with it at test time
# (strata_testkit::pki). Debian's package, installed with apt when missing.

TEST_DEPS += openssl

.PHONY: openssl
openssl: ## Install the openssl command line (Debian package) the TLS tests make certificates with
	@command -v openssl >/dev/null && exit 0; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y --no-install-recommends openssl || \
		{ apt-get update -qq && apt-get install -y --no-install-recommends openssl; }
