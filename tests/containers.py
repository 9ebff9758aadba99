"""CAREPATH_TEST_CONTAINERS=1 (`make test-containers`): the suite against PostgreSQL in a
throwaway Docker container (testcontainers, once per session) unless CAREPATH_TEST_DATABASE_URL
is set, and on Apache Kafka — the project's own (carepath/dev/apache_kafka.py, the same release as
docker-compose.yml) unless CAREPATH_TEST_KAFKA_BOOTSTRAP is set."""

from __future__ import annotations

import atexit
from typing import Literal, Protocol

POSTGRES_IMAGE = "postgres:16"


class SuiteInfrastructure(Protocol):
    database_url: str | None
    kafka_bootstrap: str | None
    broker: Literal["embedded", "kafka"]
    containers: bool


def docker_problem() -> str | None:
    """Why Docker cannot run containers here, or None when its daemon answers."""
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as exc:  # no package, no socket, daemon down: all mean "no containers"
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def use_containers(env: SuiteInfrastructure) -> str | None:
    """Point `env` at fresh infrastructure where asked; returns why it cannot run, or None."""
    if not env.containers:
        return None
    if not env.kafka_bootstrap:
        env.broker = "kafka"
    if env.database_url:
        return None
    problem = docker_problem()
    if problem:
        return f"CAREPATH_TEST_CONTAINERS=1 but Docker does not answer ({problem})"
    env.database_url = _postgres()
    return None


def _postgres() -> str:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres",
                                  dbname="test", driver=None).start()
    atexit.register(container.stop)
    url: str = container.get_connection_url()
    return url

