# Prometheus for the metrics-generator tests (remote write into a real Prometheus) and the
# dashboard/alert tests (tests/e2e/observability.rs: PromQL against a real Prometheus,
# `promtool check rules` and `promtool test rules`): Debian's `prometheus` package, which
# ships both binaries, unpacked under $(TOOLS)/prometheus without installing it system-wide
# (`apt-get download` + `dpkg -x`; no root needed). Skipped when already there.

PROMETHEUS_DIR := $(TOOLS)/prometheus
PROMETHEUS_BIN := $(PROMETHEUS_DIR)/usr/bin/prometheus
PROMTOOL_BIN := $(PROMETHEUS_DIR)/usr/bin/promtool

TEST_DEPS += prometheus

.PHONY: prometheus
prometheus: $(PROMETHEUS_BIN) ## Install Prometheus and promtool (Debian package) for the remote-write, dashboard and alert tests

$(PROMETHEUS_BIN):
	@mkdir -p $(PROMETHEUS_DIR)/deb
	cd $(PROMETHEUS_DIR)/deb && rm -f prometheus_*.deb && \
		{ apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; }
	dpkg -x $(PROMETHEUS_DIR)/deb/prometheus_*.deb $(PROMETHEUS_DIR)
	@rm -rf $(PROMETHEUS_DIR)/deb
	@$@ --version >/dev/null
	@$(PROMTOOL_BIN) --version >/dev/null
	@touch $@
