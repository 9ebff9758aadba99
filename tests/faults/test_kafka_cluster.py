"""A real cluster in miniature: three KRaft brokers on one machine, the topics as production
declares them (replication 3, min.insync.replicas=2), the platform on it, and the leader of a
partition killed -9 under load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from carepath.dev.apache_kafka import ApacheKafka, KafkaNode, leader_of
from carepath.messaging.kafka import all_topics, new_producer
from contracts import TOPICS
from tests.faults.conftest import (
    assert_as_without_faults,
    kafka_only,
    patient_api,
    platform_walked_once,
    run_clients,
)
from tests.support import wait_until

PRODUCTION_TOPICS = Path(__file__).parents[2] / "deploy" / "kubernetes" / "topics" / "topics.yaml"
BUSY = ("carepath.placement.v1", 0)  # its leader's kill is watched until another leads it
Partitions = dict[str, list[dict[str, Any]]]  # each topic's partitions, as Metadata describes


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    with ApacheKafka(tmp_path_factory.mktemp("cluster"), nodes=3) as kafka:
        yield kafka


@kafka_only("three brokers that replicate every partition and elect a new leader when one "
            "dies; the embedded broker is a single node without replication")
def test_the_leader_of_a_partition_killed_9_in_a_three_broker_cluster(cluster: ApacheKafka,
                                                                      tmp_path: Path) -> None:
    topics = production_topics()
    asyncio.run(create_topics(cluster.bootstrap, topics))
    assert_durable_as_production(cluster.bootstrap, sum(t.num_partitions for t in topics))
    leader = node(cluster, leader_of(cluster.bootstrap, *BUSY))
    bootstrap = cluster.bootstrap  # all three: a client starting mid-fault still finds one
    with platform_walked_once(tmp_path / "platform", bootstrap) as (platform, tap, fault_free):
        assert leader_of(cluster.bootstrap, *BUSY) == leader.node_id
        assert led_by(cluster.bootstrap, leader) >= set(TOPICS)  # all events pass it

        def kill_the_leader() -> None:
            time.sleep(2)
            leader.kill()
            wait_until(lambda: new_leader(bootstrap, leader), timeout=60, interval=0.5)

        refs = run_clients(patient_api(platform), 12, start=2, during=kill_the_leader)
        assert not leader.alive()
        elected = wait_until(lambda: new_leader(bootstrap, leader), timeout=10)
        assert elected in {n.node_id for n in cluster.nodes if n.alive()}
        assert_as_without_faults(platform, tap, refs, start=2, fault_free=fault_free)


def production_topics() -> list[NewTopic]:
    """Every topic with the partitions, replicas and configs the Strimzi manifests give it.
    (The services' own ensure_topics creates missing topics with replication 1: it finds
    these and leaves them be.)"""
    manifests = [m for m in yaml.safe_load_all(PRODUCTION_TOPICS.read_text())
                 if m and m["kind"] == "KafkaTopic"]
    topics = [NewTopic(m["spec"].get("topicName", m["metadata"]["name"]),
                       m["spec"]["partitions"], m["spec"]["replicas"],
                       topic_configs={k: str(v) for k, v in m["spec"]["config"].items()})
              for m in manifests]
    assert {t.name for t in topics} == set(all_topics())
    return topics


async def create_topics(bootstrap: str, topics: list[NewTopic]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(topics)
    finally:
        await admin.close()


def assert_durable_as_production(bootstrap: str, partitions: int) -> None:
    """What makes an acknowledged event survive a broker's death: three replicas all in sync,
    two of them needed for a write, no unclean leader election — and a relay whose producer
    waits for all in-sync replicas (acks=all) before it marks an outbox row published."""
    def all_replicas_in_sync() -> bool:  # new topics' partitions show up as they are placed
        described = [p for ps in asyncio.run(describe(bootstrap))[0].values() for p in ps]
        return len(described) == partitions and all(
            len(p["replicas"]) == len(p["isr"]) == 3 for p in described)

    wait_until(all_replicas_in_sync, timeout=60, interval=0.5)
    _, configs = asyncio.run(describe(bootstrap))
    assert {(c["min.insync.replicas"], c["unclean.leader.election.enable"])
            for c in configs.values()} == {("2", "false")}
    assert asyncio.run(relay_acks(bootstrap)) == -1  # "all"


async def relay_acks(bootstrap: str) -> int:
    producer = new_producer(bootstrap)  # as carepath/app/factory.py builds the relay's
    try:
        return int(producer._sender._acks)  # aiokafka keeps the setting on its sender
    finally:
        await producer.stop()


async def describe(bootstrap: str) -> tuple[Partitions, dict[str, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = await admin.describe_topics(list(all_topics()))
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in all_topics()])
    finally:
        await admin.close()
    configs = {resource["resource_name"]: {e["config_names"]: e["config_value"]
                                           for e in resource["config_entries"]}
               for response in responses for resource in response.to_object()["resources"]}
    return {t["topic"]: t["partitions"] for t in topics}, configs


def led_by(bootstrap: str, broker: KafkaNode) -> set[str]:
    """The topics with a partition the broker leads."""
    partitions, _ = asyncio.run(describe(bootstrap))
    return {topic for topic, described in partitions.items()
            if any(p["leader"] == broker.node_id for p in described)}


def node(cluster: ApacheKafka, node_id: int) -> KafkaNode:
    return next(n for n in cluster.nodes if n.node_id == node_id)


def new_leader(bootstrap: str, old: KafkaNode) -> int | None:
    try:
        leader = leader_of(bootstrap, *BUSY)
    except KafkaError:  # the admin client picked the dead broker to ask
        return None
    return leader if leader not in (old.node_id, -1) else None
