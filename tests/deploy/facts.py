"""What the code says the deployment must name: services, ports, settings, routes, topics —
the facts the compose file and the Kubernetes manifests are checked against."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.routing import APIRoute

from carepath import registry
from carepath.settings import SERVICES, Settings
from contracts import TOPICS, dlq_topic_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
# Standard OpenTelemetry variables, read by the SDK and its exporter (not by Settings).
OTEL_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
                  "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_RESOURCE_ATTRIBUTES"}


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_topics() -> set[str]:
    return set(TOPICS) | {dlq_topic_for(service) for service in SERVICES}


def consumed_topics(service: str) -> list[str]:
    spec = registry.spec_of(service)
    topics: list[str] = spec.handlers.topics()
    return topics


def unknown_variables(names: set[str]) -> set[str]:
    """Environment variable names no part of Carepath reads."""
    fields = {f"CAREPATH_{name.upper()}" for name in Settings.model_fields}
    return {name for name in names if name not in fields and name not in OTEL_VARIABLES}


def database_variable(service: str) -> str:
    return f"CAREPATH_{service.upper()}_DATABASE_URL"


def get_paths(service: str, var_dir: Path) -> set[str]:
    """Every path the service's app serves to GET."""
    app = registry.create_app(service, Settings(var_dir=var_dir))
    return {route.path for route in app.routes
            if isinstance(route, APIRoute) and "GET" in route.methods}


def serve_command(args: list[str]) -> tuple[str, int]:
    """(service, port) of `serve <service> ... --port <port>`."""
    assert args[0] == "serve", args
    return args[1], int(args[args.index("--port") + 1])


def dockerfile_healthcheck_path() -> str:
    text = (ROOT / "Dockerfile").read_text()
    found = re.search(r"HEALTHCHECK[^\n]*\\\n[^\n]*127\.0\.0\.1:%s(/\w+)", text)
    assert found, "the Dockerfile has a HEALTHCHECK on a local HTTP path"
    return found.group(1)

