"""The whole platform for end-to-end tests: the broker and every service as its own process."""

from collections.abc import Iterator

import pytest

from carepath.client import CarepathClient
from carepath.platform import Platform
from carepath.settings import SERVICES
from tests.conftest import FAST_JOIN, TEST_ENV, DatabaseFactory
from tests.support import EventTap


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("platform")
    databases = DatabaseFactory(var_dir)
    urls = {service: databases.new(service) for service in SERVICES}
    running = Platform(var_dir=var_dir, bootstrap=TEST_ENV.kafka_bootstrap,
                       database_urls=urls,
                       env={f"CAREPATH_{k.upper()}": str(v) for k, v in FAST_JOIN.items()}
                       ).start()
    try:
        yield running
    finally:
        running.stop()
        databases.drop_all()


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[CarepathClient]:
    client = CarepathClient({service: platform.url(service) for service in SERVICES})
    yield client
    client.close()


@pytest.fixture(scope="module")
def tap(platform: Platform) -> Iterator[EventTap]:
    running = EventTap(platform.bootstrap).start()
    yield running
    running.stop()
