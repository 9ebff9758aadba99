from pathlib import Path

import pytest

from carepath.settings import SERVICES
from tests.deploy.facts import get_paths


@pytest.fixture(scope="module")
def get_paths_by_service(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    var_dir: Path = tmp_path_factory.mktemp("apps")
    return {service: get_paths(service, var_dir) for service in SERVICES}
