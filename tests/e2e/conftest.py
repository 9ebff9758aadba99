"""The whole platform for end-to-end tests: the broker and every service as its own process."""

from collections.abc import Iterator

import pytest

from carepath.client import CarepathClient
from carepath.platform import Platform
from carepath.settings import SERVICES
from tests.conftest import running_platform
from tests.support import EventTap


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


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
