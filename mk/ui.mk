# Headless Chromium and its WebDriver for the trace explorer's browser tests (tests/e2e/ui.rs):
# Debian's `chromium` and `chromium-driver` packages, installed system-wide with apt (Chromium
# needs its shared libraries, which a `dpkg -x` unpack would not bring). Needs root, as the
# other system packages of a fresh Debian machine do; skipped when both binaries are there.
# Other paths: CHROMIUM=... CHROMEDRIVER=... (read by the tests too).

CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver

TEST_DEPS += chromium

.PHONY: chromium
chromium: ## Install headless Chromium and chromedriver (Debian packages) for the UI browser tests
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y --no-install-recommends chromium chromium-driver || \
		{ apt-get update -qq && apt-get install -y --no-install-recommends chromium chromium-driver; }
	@$(CHROMEDRIVER) --version >/dev/null
