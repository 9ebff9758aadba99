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

## Apache Kafka alone (one KRaft node on 9092, its log in ./var/kafka, kept between runs; fetched
## from Maven Central on first use, needs Java 17+ and Maven). The whole platform on it, its
## data kept: .venv/bin/carepath run --broker kafka
.PHONY: kafka
kafka: $(STAMP)
	$(PY) -m carepath.cli kafka

## The census forecast's backtest: two years of the demo's synthetic care path (seed 7),
## forecasts 1..14 days ahead from each day of the second year, scored against "tomorrow =
## today" (the README's figure). BACKTEST_ARGS="--seed 3 --days 1095" for another history.
.PHONY: forecast-backtest
forecast-backtest: $(STAMP)
	$(PY) -m carepath.cli forecast backtest $(BACKTEST_ARGS)

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

## The suite against PostgreSQL in a throwaway Docker container (testcontainers) and the
## project's own Apache Kafka; where Docker does not answer, the tests that need it skip and say why.
test-containers: $(STAMP)
	CAREPATH_TEST_CONTAINERS=1 $(PY) -m pytest -q -p no:cacheprovider

## A local PostgreSQL from Debian's packages (installed and started when absent); prints its URL
## for CAREPATH_TEST_DATABASE_URL. The suite on the production pair:
##   CAREPATH_TEST_BROKER=kafka CAREPATH_TEST_DATABASE_URL="$$(bash deploy/local-postgres.sh)" make test
.PHONY: postgres
postgres:
	@bash deploy/local-postgres.sh

## Regenerate the committed JSON Schemas and contracts/asyncapi.yaml after changing a contract;
## refuses a change that breaks consumers (add a new event version instead, see contracts/README.md).
contracts: $(STAMP)
	$(PY) -m contracts.schemas
	$(PY) -m carepath.registry asyncapi

lint: $(STAMP)
	$(VENV)/bin/ruff check carepath contracts services tests bench
	$(VENV)/bin/mypy --strict carepath contracts services bench

clean:
	rm -rf var .pytest_cache

## Performance: synthetic clients through the whole path under open-loop load, against raw
## aiokafka baselines on the same broker — on the embedded broker, then on Apache Kafka (fetched
## with Maven, run with Java 17+, started and stopped by the bench): about 13 minutes on 2 cores;
## prints a table per broker, writes both to bench/results/<run>.json. BENCH_ARGS="--broker
## embedded" (or kafka) runs one; honours CAREPATH_KAFKA_BOOTSTRAP and CAREPATH_DATABASE_URL.
## `make bench-quick`: every phase for a few seconds on both brokers, a smoke test of the bench.
## `make bench-profile`: where the time goes (py-spy on every service, cProfile of a consumer).
.PHONY: bench bench-quick bench-profile
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(PY) -m bench --quick $(BENCH_ARGS)

bench-profile: $(BENCH_STAMP)
	$(PY) -m bench.profile $(BENCH_ARGS)
