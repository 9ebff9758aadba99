"""Fixtures for integration, e2e and fault tests: the real broker and real databases.

CAREPATH_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) makes every test
database a fresh PostgreSQL database on that server; unset, SQLite files in a temp dir.
CAREPATH_TEST_BROKER=kafka runs the suite on Apache Kafka, which the project fetches and starts
once per session (carepath/dev/apache_kafka.py); CAREPATH_TEST_KAFKA_BOOTSTRAP points it at an
external disposable Kafka instead. Both are shared, and reset before each test that takes them
(tests/brokers.py); unset, each test gets its own embedded broker. Either way topics start empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import MetaData, create_engine, make_url, text
from sqlalchemy.engine import Engine

from carepath import registry
from carepath.dev.apache_kafka import KAFKA_VERSION
from carepath.dev.client import CarepathClient
from carepath.dev.embedded import EmbeddedBroker
from carepath.dev.platform import Platform
from carepath.http.auth import Principal
from carepath.persistence.db import make_engine
from carepath.settings import SERVICES, Settings
from contracts import Envelope
from tests.brokers import reset, start_session_kafka
from tests.containers import use_containers
from tests.support import ADMIN, EventTap, bearer, publish_envelopes


class SuiteEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_TEST_", extra="ignore")

    database_url: str | None = None
    kafka_bootstrap: str | None = None
    broker: Literal["embedded", "kafka"] = "embedded"
    containers: bool = False  # CAREPATH_TEST_CONTAINERS=1: see tests/containers.py

    @property
    def shared_broker(self) -> bool:
        """Apache Kafka (started for the session, or external) rather than the embedded one."""
        return self.broker == "kafka" or bool(self.kafka_bootstrap)


TEST_ENV = SuiteEnvironment()
NO_CONTAINERS = use_containers(TEST_ENV)  # why the containers asked for cannot run, or None
NEEDS_INFRASTRUCTURE = {"kafka_bootstrap", "databases", "platform"}


def pytest_configure(config: pytest.Config) -> None:
    if TEST_ENV.broker == "kafka" and not TEST_ENV.kafka_bootstrap:
        kafka = start_session_kafka()
        config.add_cleanup(kafka.stop)
        TEST_ENV.kafka_bootstrap = kafka.bootstrap


def pytest_sessionstart(session: pytest.Session) -> None:
    """What the suite runs on, printed even under -q (CI logs show it)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in suite_infrastructure():
            reporter.write_line(line)


def suite_infrastructure() -> list[str]:
    broker = (f"Apache Kafka {KAFKA_VERSION} (KRaft, started for this session) at "
              f"{TEST_ENV.kafka_bootstrap}" if TEST_ENV.broker == "kafka"
              else TEST_ENV.kafka_bootstrap or "the embedded broker (Tansu), one per test")
    database = "SQLite (temp files)"
    if TEST_ENV.database_url:
        engine = create_engine(TEST_ENV.database_url)
        with engine.connect() as conn:
            server = conn.execute(text("SELECT version()")).scalar_one().split(",")[0]
        engine.dispose()
        shown = make_url(TEST_ENV.database_url).render_as_string(hide_password=True)
        database = f"{server} at {shown}"
    return [f"carepath broker: {broker}", f"carepath database: {database}",
            *([f"carepath containers: {NO_CONTAINERS}"] if NO_CONTAINERS else [])]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if NO_CONTAINERS:
        for item in items:
            if NEEDS_INFRASTRUCTURE & set(getattr(item, "fixturenames", ())):
                item.add_marker(pytest.mark.skip(reason=NO_CONTAINERS))


@contextmanager
def broker_for_tests() -> Iterator[str]:
    """The shared test broker reset, or a fresh embedded one: topics exist and are empty."""
    if TEST_ENV.kafka_bootstrap:
        reset(TEST_ENV.kafka_bootstrap)
        yield TEST_ENV.kafka_bootstrap
        return
    broker = EmbeddedBroker().start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    with broker_for_tests() as bootstrap:
        yield bootstrap


class DatabaseFactory:
    """Fresh databases: on the PostgreSQL server of CAREPATH_TEST_DATABASE_URL, else SQLite."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.created: list[str] = []
        self.engines: list[Engine] = []

    def engine(self, label: str, metadata: MetaData) -> Engine:
        """A new database's engine (disposed at the test's end) holding `metadata`'s tables."""
        engine = make_engine(self.new(label))
        self.engines.append(engine)
        metadata.create_all(engine)
        return engine

    def new(self, label: str) -> str:
        if not TEST_ENV.database_url:
            return f"sqlite:///{self.tmp_path / f'{label}-{uuid.uuid4().hex[:6]}.db'}"
        name = f"cpt_{label}_{uuid.uuid4().hex[:10]}"
        with self._admin() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(TEST_ENV.database_url).set(database=name).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        for engine in self.engines:
            engine.dispose()
        for name in self.created:
            with self._admin() as conn:
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        assert TEST_ENV.database_url
        engine = create_engine(TEST_ENV.database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path)
    yield factory
    factory.drop_all()


# Fast group joins on the embedded broker (it delays a join by about the session timeout).
FAST_JOIN = {} if TEST_ENV.shared_broker else {"consumer_session_timeout_ms": 1000}


def service_settings(service: str, *, bootstrap: str, database_url: str, var_dir: Path,
                     **overrides: Any) -> Settings:
    values: dict[str, Any] = {"kafka_bootstrap": bootstrap, "database_url": database_url,
                              "var_dir": var_dir, "auto_migrate": True, **FAST_JOIN,
                              **overrides}
    if f"{service}_database_url" in Settings.model_fields:
        values[f"{service}_database_url"] = database_url
    return Settings(**values)


@contextmanager
def running_platform(var_dir: Path, env: dict[str, str] | None = None,
                     bootstrap: str | None = None) -> Iterator[Platform]:
    """All seven services as processes, each on a fresh database, on `bootstrap` (a broker the
    caller owns) or else the suite's broker (a fresh embedded one, or the shared one reset)."""
    databases = DatabaseFactory(var_dir)
    urls = {service: databases.new(service) for service in SERVICES}
    fast = {f"CAREPATH_{k.upper()}": str(v) for k, v in FAST_JOIN.items()}
    if bootstrap is None and TEST_ENV.kafka_bootstrap:
        reset(TEST_ENV.kafka_bootstrap)
    platform = Platform(var_dir=var_dir, bootstrap=bootstrap or TEST_ENV.kafka_bootstrap,
                        database_urls=urls, env={**fast, **(env or {})})
    try:
        yield platform.start()
    finally:
        platform.stop()
        databases.drop_all()


@pytest.fixture
def service_client(kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
                   ) -> Callable[..., AbstractContextManager[TestClient]]:
    @contextmanager
    def start(name: str, *, principal: Principal = ADMIN, **overrides: Any
              ) -> Iterator[TestClient]:
        """The client sends a token for `principal` (an admin at every site by default); pass
        `headers=bearer_for(client, other)` on a request to act as someone else."""
        settings = service_settings(name, bootstrap=kafka_bootstrap,
                                    database_url=databases.new(name),
                                    var_dir=tmp_path / name, **overrides)
        app = registry.create_app(name, settings)
        with TestClient(app, headers=bearer(settings, principal)) as client:
            yield client

    return start


@pytest.fixture
def event_tap(kafka_bootstrap: str) -> Iterator[EventTap]:
    tap = EventTap(kafka_bootstrap).start()
    yield tap
    tap.stop()


@pytest.fixture
def publish(kafka_bootstrap: str) -> Callable[..., None]:
    def send(*envelopes: Envelope) -> None:
        publish_envelopes(kafka_bootstrap, envelopes)

    return send


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform, once per test module (e2e and browser tests)."""
    with running_platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[CarepathClient]:
    client = CarepathClient({service: platform.url(service) for service in SERVICES},
                            token=platform.admin_token())
    yield client
    client.close()


@pytest.fixture(scope="module")
def tap(platform: Platform) -> Iterator[EventTap]:
    running = EventTap(platform.bootstrap).start()
    yield running
    running.stop()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans ended from here on (the process's provider, as the services set it up)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
