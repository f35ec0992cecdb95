# The two commands in the README: `make run` and `make test`. Both work on a fresh machine.
VENV     ?= .venv
PY       := $(VENV)/bin/python
INSTANCE ?= $(CURDIR)/instance
HOST     ?= 127.0.0.1
PORT     ?= 5000
# Every link the panel writes (mail, RDAP, the WHOIS pages) starts with this. It follows HOST and
# PORT unless the operator gives one: `make run PANEL_BASE_URL=https://...`, the environment, or
# base_url in the instance's panel.toml / panel.py (then this is empty, which the panel ignores).
# 127.0.0.1 is written as localhost: browsers refuse passkeys on an IP address.
LINK_HOST = $(if $(filter 127.0.0.1,$(HOST)),localhost,$(HOST))
PANEL_BASE_URL ?= $(if $(shell grep -sqiE '^\s*base_url\s*=' $(INSTANCE)/panel.toml \
  $(INSTANCE)/panel.py && echo set),,http://$(LINK_HOST):$(PORT))
APT      := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

.PHONY: run test lint bench screenshots setup deps-system clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[test,bench]"
	touch $@

setup: $(VENV)/.installed

# Debian packages the tests and benchmarks drive for real (browser, whois client, load generator,
# the proxy and Redis of deploy/, systemd-analyze for its units).
deps-system:
	@missing=""; \
	for p in chromium whois wrk sqlite3 redis-server; do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq $$missing; \
	fi

run: setup
	$(PY) -m panel.instance_setup $(INSTANCE)
	PANEL_INSTANCE_PATH=$(INSTANCE) $(VENV)/bin/panel db upgrade
	PANEL_INSTANCE_PATH=$(INSTANCE) PANEL_BASE_URL=$(PANEL_BASE_URL) $(VENV)/bin/panel demo
	@echo "Serving on http://$(LINK_HOST):$(PORT) (Ctrl-C to stop)"
	PANEL_INSTANCE_PATH=$(INSTANCE) PANEL_BASE_URL=$(PANEL_BASE_URL) $(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py \
	  --bind $(HOST):$(PORT) --limit-request-line 8190 'panel.wsgi:app'

# ruff, then the import layers (pyproject.toml, [tool.importlinter]): a broken contract fails here.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Every test on SQLite and PostgreSQL, a file per worker on every core (each worker starts its
# own PostgreSQL); the two-server tests and those that compare response times after them,
# alone, since they measure a machine under load; then the core's own tests again with no plugin at all, which proves the panel runs
# with the privacy plugin switched off.
TEST_WORKERS ?= auto
test: setup deps-system lint
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not multiserver and not timing"
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "multiserver or timing"
	PANEL_TEST_PLUGINS= PANEL_TEST_BACKENDS=sqlite $(VENV)/bin/pytest -q -p no:cacheprovider \
	  -n $(TEST_WORKERS) --dist loadfile -m "not needs_privacy and not timing" tests/core
	PANEL_TEST_PLUGINS= PANEL_TEST_BACKENDS=sqlite $(VENV)/bin/pytest -q -p no:cacheprovider \
	  -m "timing and not needs_privacy" tests/core

bench: setup deps-system
	$(PY) -m bench

# Every page, as each role, at 1280 and 375 px, into screenshots/<role>/ (a throw-away demo instance).
screenshots: setup deps-system
	$(PY) -m tests.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
