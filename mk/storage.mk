# Object-store test servers for crates/strata-storage/tests and crates/strata-block/tests:
#   moto (S3)        Python venv  $(TOOLS)/moto/bin/moto_server
#   Azurite (Azure)  npm prefix   $(TOOLS)/azurite/node_modules/.bin/azurite-blob
# Each install is skipped when its binary is already there (a stamp records the version).

MOTO_VERSION ?= 5.2.5
AZURITE_VERSION ?= 3.37.0
MOTO_DIR := $(TOOLS)/moto
AZURITE_DIR := $(TOOLS)/azurite
MOTO_STAMP := $(MOTO_DIR)/.installed-$(MOTO_VERSION)
AZURITE_STAMP := $(AZURITE_DIR)/.installed-$(AZURITE_VERSION)

TEST_DEPS += storage-servers

.PHONY: storage-servers
storage-servers: $(MOTO_STAMP) $(AZURITE_STAMP) ## Install the S3 (moto) and Azure (Azurite) test servers

$(MOTO_STAMP):
	@mkdir -p $(TOOLS)
	python3 -m venv $(MOTO_DIR)
	$(MOTO_DIR)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	@test -x $(MOTO_DIR)/bin/moto_server
	@touch $@

$(AZURITE_STAMP):
	@mkdir -p $(AZURITE_DIR)
	npm install --prefix $(AZURITE_DIR) --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION)
	@test -x $(AZURITE_DIR)/node_modules/.bin/azurite-blob
	@touch $@
