# Prometheus for the metrics-generator tests (remote write into a real Prometheus): Debian's
# `prometheus` package, unpacked under $(TOOLS)/prometheus without installing it system-wide
# (`apt-get download` + `dpkg -x`; no root needed). Skipped when already there.

PROMETHEUS_DIR := $(TOOLS)/prometheus
PROMETHEUS_BIN := $(PROMETHEUS_DIR)/usr/bin/prometheus

TEST_DEPS += prometheus

.PHONY: prometheus
prometheus: $(PROMETHEUS_BIN) ## Install Prometheus (Debian package) for the remote-write tests

$(PROMETHEUS_BIN):
	@mkdir -p $(PROMETHEUS_DIR)/deb
	cd $(PROMETHEUS_DIR)/deb && rm -f prometheus_*.deb && \
		{ apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; }
	dpkg -x $(PROMETHEUS_DIR)/deb/prometheus_*.deb $(PROMETHEUS_DIR)
	@rm -rf $(PROMETHEUS_DIR)/deb
	@$@ --version >/dev/null
	@touch $@
