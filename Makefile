# The README's two commands: `make run` and `make test`. Both bootstrap everything from a bare Python 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8550
DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint typecheck locales build-db chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python venv module missing: installing Debian python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[web,hub,dev]"
	touch $(STAMP)

locales: $(STAMP)
	$(PY) -m field_app.i18n.compile

build-db: $(STAMP) locales
	$(PY) -m field_app directory build --data-dir "$(DATA_DIR)"

run: build-db
	$(PY) -m field_app run --data-dir "$(DATA_DIR)" --host $(HOST) --port $(PORT)

# Debian's chromium for the end-to-end tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the end-to-end tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy

# PostgreSQL for the hub's PostgreSQL suites: a local cluster is installed and started where we are root (or have
# sudo); elsewhere the suites say they skip and why. FIELD_APP_TEST_PG_URL, when set, is used as it is.
test: $(STAMP) locales chromium lint typecheck
	@if [ -z "$$FIELD_APP_TEST_PG_URL" ]; then \
	  if url="$$(bash tools/start_postgres.sh)"; then export FIELD_APP_TEST_PG_URL="$$url"; \
	  else echo "*** PostgreSQL could not be started here: the hub's PostgreSQL tests will be SKIPPED ***"; fi; \
	fi; $(PY) -m pytest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
