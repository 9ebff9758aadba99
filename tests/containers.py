"""CAREPATH_TEST_CONTAINERS=1 (`make test-containers`): the suite against PostgreSQL and Apache
Kafka (KRaft) in throwaway Docker containers, started once per session through testcontainers,
for whichever of CAREPATH_TEST_DATABASE_URL and CAREPATH_TEST_KAFKA_BOOTSTRAP is unset."""

from __future__ import annotations

import atexit
from typing import Protocol

POSTGRES_IMAGE = "postgres:16"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"  # Apache Kafka 3.7, as testcontainers runs it (KRaft)


class SuiteInfrastructure(Protocol):
    database_url: str | None
    kafka_bootstrap: str | None
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
    """Point `env` at fresh containers where asked; returns why they cannot run, or None."""
    if not env.containers or (env.database_url and env.kafka_bootstrap):
        return None
    problem = docker_problem()
    if problem:
        return f"CAREPATH_TEST_CONTAINERS=1 but Docker does not answer ({problem})"
    if not env.database_url:
        env.database_url = _postgres()
    if not env.kafka_bootstrap:
        env.kafka_bootstrap = _kafka()
    return None


def _postgres() -> str:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres",
                                  dbname="test", driver=None).start()
    atexit.register(container.stop)
    url: str = container.get_connection_url()
    return url


def _kafka() -> str:
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer(KAFKA_IMAGE).with_kraft().start(timeout=120)
    atexit.register(container.stop)
    bootstrap: str = container.get_bootstrap_server()
    return bootstrap
