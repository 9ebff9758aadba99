"""docker-compose.yml and the Dockerfile, checked without Docker: valid by the compose-spec
schema, and everything they name — services, ports, settings, health paths, topics,
databases — exists in the code."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import yaml
from sqlalchemy import make_url

from carepath.dev.apache_kafka import KAFKA_VERSION
from carepath.settings import SERVICE_PORTS, SERVICES
from tests.deploy.facts import (
    COMPOSE_FILE,
    ROOT,
    all_topics,
    database_variable,
    dockerfile_healthcheck_path,
    serve_command,
    unknown_variables,
)

COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
CONTAINERS: dict[str, Any] = COMPOSE["services"]


def carepath_services() -> dict[str, dict[str, Any]]:
    """The compose services that run `carepath serve`, by the Carepath service they run."""
    found = {}
    for container in CONTAINERS.values():
        command = container.get("command")
        if isinstance(command, list) and command[:1] == ["serve"]:
            found[serve_command(command)[0]] = container
    return found


def test_the_compose_file_is_valid_by_the_compose_specification() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE_FILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_runs_once_on_its_port_and_its_own_database() -> None:
    running = carepath_services()
    assert set(running) == set(SERVICES)
    created = set(re.findall(r"CREATE DATABASE (\w+);",
                             (ROOT / "deploy" / "postgres-init.sql").read_text()))
    for service, container in running.items():
        port = SERVICE_PORTS[service]
        assert serve_command(container["command"])[1] == port
        assert container["ports"] == [f"{port}:{port}"]
        assert container["environment"]["PORT"] == str(port)  # the healthcheck's port
        url = make_url(container["environment"][database_variable(service)])
        assert url.database == service and url.database in created


def test_every_variable_named_is_read_by_carepath() -> None:
    named = {name for container in CONTAINERS.values() if container.get("image", "")
             .startswith("carepath") for name in container.get("environment", {})}
    assert unknown_variables(named - {"PORT"}) == set()


def test_services_start_after_the_topics_and_the_migrations() -> None:
    migrate = CONTAINERS["migrate"]
    assert migrate["command"] == ["migrate", "all"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service, container in carepath_services().items():
        assert container["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        assert container["depends_on"]["kafka-init"]["condition"] == \
            "service_completed_successfully"
        variable = database_variable(service)
        assert migrate["environment"][variable] == container["environment"][variable]


def test_the_topic_init_creates_every_topic_the_code_uses() -> None:
    script = " ".join(CONTAINERS["kafka-init"]["command"])
    assert set(re.findall(r"carepath\.[a-z]+\.(?:v\d+|dlq)", script)) == all_topics()


def test_the_image_healthcheck_asks_a_path_every_service_serves(
    get_paths_by_service: dict[str, set[str]]
) -> None:
    path = dockerfile_healthcheck_path()
    assert path == "/readyz"  # healthy = ready, so compose starts what depends on it only then
    assert all(path in paths for paths in get_paths_by_service.values())


def test_the_image_runs_the_carepath_command_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["carepath"]' in dockerfile
    assert 'carepath = "carepath.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), f"the Dockerfile copies {name}, which is missing"


def test_compose_runs_the_apache_kafka_release_the_suite_is_tested_on() -> None:
    images = {CONTAINERS[name]["image"] for name in ("kafka", "kafka-init")}
    assert images == {f"apache/kafka:{KAFKA_VERSION}"}
