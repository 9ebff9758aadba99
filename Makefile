# Carepath — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install unit integration e2e faults contracts lint clean test-containers

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
## e2e (every service a process), fault and browser tests.
test: lint chromium
	$(PY) -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

faults: $(STAMP)
	$(PY) -m pytest -q tests/faults

## The dashboard in a real browser (tests/browser): Debian's chromium driven by Playwright. Without
## chromium those tests fail (they never skip); `make run` does not need it.
.PHONY: chromium browser
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium) \
	  || echo "could not install chromium (apt-get as root): tests/browser will fail"

browser: $(STAMP) chromium
	$(PY) -m pytest -q tests/browser

## The suite against PostgreSQL and Apache Kafka (KRaft) in throwaway Docker containers
## (testcontainers); where Docker does not answer, the tests that need them skip and say why.
test-containers: $(STAMP)
	CAREPATH_TEST_CONTAINERS=1 $(PY) -m pytest -q -p no:cacheprovider

## Regenerate the committed JSON Schemas and contracts/asyncapi.yaml after changing a contract;
## refuses a change that breaks consumers (add a new event version instead, see contracts/README.md).
contracts: $(STAMP)
	$(PY) -m contracts.schemas
	$(PY) -m contracts.asyncapi

lint: $(STAMP)
	$(VENV)/bin/ruff check carepath contracts services tests bench
	$(VENV)/bin/mypy --strict carepath contracts services bench

clean:
	rm -rf var .pytest_cache

## Performance: synthetic clients through the whole path under open-loop load, against raw
## aiokafka baselines on the same broker (about 8 minutes on 2 cores; prints a table, writes
## bench/results/<run>.json). Honours CAREPATH_KAFKA_BOOTSTRAP and CAREPATH_DATABASE_URL.
## `make bench-profile`: where the time goes (py-spy on every service, cProfile of a consumer).
.PHONY: bench bench-profile
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

bench-profile: $(BENCH_STAMP)
	$(PY) -m bench.profile $(BENCH_ARGS)
