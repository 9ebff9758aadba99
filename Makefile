# Carepath — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install unit integration e2e faults contracts lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) on PATH (or PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The platform on the embedded default (Tansu + SQLite under ./var) with a live demo.
run: $(STAMP)
	$(PY) -m carepath.cli run

## The whole suite: lint and types, then unit, integration (real broker + database),
## e2e (every service a process) and fault tests.
test: lint
	$(PY) -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

faults: $(STAMP)
	$(PY) -m pytest -q tests/faults

## Regenerate the committed JSON Schemas after changing a contract.
contracts: $(STAMP)
	$(PY) -m contracts.schemas

lint: $(STAMP)
	$(VENV)/bin/ruff check carepath contracts services tests
	$(VENV)/bin/mypy --strict carepath contracts services

clean:
	rm -rf var .pytest_cache
