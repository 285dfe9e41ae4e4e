# The README's two commands: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_CLUSTER_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n 1)

.PHONY: run test lint fmt bench postgres debian-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/warroom run

# PostgreSQL at 127.0.0.1:5432 is part of the test suite; start the local cluster if it is installed but down.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ -n "$(PG_CLUSTER_VERSION)" ]; then \
		pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER_VERSION) main start || true; fi

# Debian packages the tests drive: a real sender (Alertmanager), Pango for review PDFs (WeasyPrint), and the
# browser for the web UI tests (Chromium, driven by Playwright's Python package: never `playwright install`,
# which downloads a browser). Installed when
# missing and we may (root); the tests that need them skip with the reason where they cannot be installed, and
# fail in CI (WARROOM_REQUIRE_SENDERS=1, WARROOM_REQUIRE_BROWSER=1).
DEBIAN_TEST_PACKAGES := prometheus-alertmanager chromium chromium-driver libpango-1.0-0 libpangoft2-1.0-0
debian-packages:
	@missing=""; for p in $(DEBIAN_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "note: not root, so not installing:$$missing (their tests will skip)"; fi; fi

# Two processes (this machine has two cores), each taking whole test files, so a file's shared server and
# browser stay in one process. TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev postgres debian-packages
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev postgres
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
