# Real Zipkin and Jaeger clients for tests/e2e/receivers/: a Python venv under
# $(TOOLS)/receivers-venv with the pinned packages of tests/receivers/requirements.txt
# (OpenTelemetry's Zipkin exporters, py_zipkin, jaeger-client), plus two sets that need older
# versions, installed beside it with pip --target and put first on PYTHONPATH only for the
# clients that need them: py_zipkin 0.20 (the last release that encodes Zipkin v1 Thrift) in
# $(TOOLS)/receivers-venv/py-zipkin-0.20, and OpenTelemetry 1.21 with its Jaeger exporters
# (discontinued after 1.21) in $(TOOLS)/receivers-venv/otel-jaeger-1.21.
# Re-installs only when the requirements change (a stamp file records the last install).

RECEIVERS_VENV := $(TOOLS)/receivers-venv
RECEIVERS_REQS := tests/receivers/requirements.txt tests/receivers/requirements-py-zipkin-thrift.txt \
	tests/receivers/requirements-otel-jaeger.txt
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
	rm -rf $(RECEIVERS_VENV)/otel-jaeger-1.21
	$(RECEIVERS_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps \
		--target $(RECEIVERS_VENV)/otel-jaeger-1.21 -r tests/receivers/requirements-otel-jaeger.txt
	@touch $@

TEST_DEPS += receiver-clients
