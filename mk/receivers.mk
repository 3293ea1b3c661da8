# Real Zipkin and Jaeger clients for tests/e2e/receivers.rs: a Python venv under
# $(TOOLS)/receivers-venv with the pinned packages of tests/receivers/requirements.txt
# (OpenTelemetry's Zipkin and Jaeger exporters, py_zipkin, jaeger-client), plus py_zipkin 0.20
# (the last release that still encodes Zipkin v1 Thrift) installed beside it in
# $(TOOLS)/receivers-venv/py-zipkin-0.20, put on PYTHONPATH only for that case.
# Re-installs only when the requirements change (a stamp file records the last install).

RECEIVERS_VENV := $(TOOLS)/receivers-venv
RECEIVERS_REQS := tests/receivers/requirements.txt tests/receivers/requirements-py-zipkin-thrift.txt
RECEIVERS_STAMP := $(RECEIVERS_VENV)/.installed
PYTHON3 ?= python3

.PHONY: receiver-clients
receiver-clients: $(RECEIVERS_STAMP) ## Install the Zipkin/Jaeger client libraries the receiver tests use

$(RECEIVERS_STAMP): $(RECEIVERS_REQS)
	@mkdir -p $(TOOLS)
	@if [ ! -x $(RECEIVERS_VENV)/bin/python ]; then \
		$(PYTHON3) -m venv $(RECEIVERS_VENV) 2>/dev/null || { \
			rm -rf $(RECEIVERS_VENV); \
			if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
				apt-get install -y -q python3-venv >/dev/null; \
			fi; \
			$(PYTHON3) -m venv $(RECEIVERS_VENV); \
		}; \
	fi
	$(RECEIVERS_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tests/receivers/requirements.txt
	rm -rf $(RECEIVERS_VENV)/py-zipkin-0.20
	$(RECEIVERS_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		--target $(RECEIVERS_VENV)/py-zipkin-0.20 -r tests/receivers/requirements-py-zipkin-thrift.txt
	@touch $@

TEST_DEPS += receiver-clients
