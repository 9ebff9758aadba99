"""The runtime asks the broker what it can do and uses it: on Apache Kafka an idempotent relay
and long, woken fetches; on the embedded broker the workarounds it needs. Each test runs on the
broker its facts are about and is skipped, with the reason, on the other."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords
from fastapi.testclient import TestClient

from carepath.app.factory import build_app
from carepath.messaging.abilities import BrokerAbilities, probe_abilities
from contracts.events import ReassessmentRequested
from tests.conftest import TEST_ENV, DatabaseFactory, service_settings
from tests.integration.runtime.test_delivery import SPEC, probe, request, seen_rows
from tests.support import bearer, publish_envelopes, wait_until

needs_kafka = pytest.mark.skipif(
    not TEST_ENV.shared_broker,
    reason="about Apache Kafka's abilities: run with CAREPATH_TEST_BROKER=kafka")
needs_embedded = pytest.mark.skipif(
    TEST_ENV.shared_broker,
    reason="about the embedded broker's limits: run without CAREPATH_TEST_BROKER")


@needs_kafka
async def test_apache_kafka_is_found_to_grant_producer_ids_exact_ends_and_woken_fetches(
    kafka_bootstrap: str,
) -> None:
    assert await probe_abilities(kafka_bootstrap) == BrokerAbilities(
        idempotent_producer=True, exact_end_offsets=True, wakes_fetches=True)


@needs_embedded
async def test_the_embedded_broker_is_found_to_lack_all_three(kafka_bootstrap: str) -> None:
    assert await probe_abilities(kafka_bootstrap) == BrokerAbilities(
        idempotent_producer=False, exact_end_offsets=False, wakes_fetches=False)


async def producer_ids(bootstrap: str, topic: str) -> set[int]:
    """The producer id in the header of every record batch of a topic, as stored."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        await client.add_topic(topic)
        ids: set[int] = set()
        for partition in client.cluster.partitions_for_topic(topic) or ():
            leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
            response = await client.send(leader, FetchRequest(  # the embedded broker answers
                100, 1, 1 << 20, 0, [(topic, [(partition, 0, 1 << 20)])]))  # no 0 ms wait
            [[_, [(_, _, _, *_, records)]]] = response.topics
            batches = MemoryRecords(records)
            while (batch := batches.next_batch()) is not None:
                ids.add(batch.producer_id)
        return ids
    finally:
        await client.close()


def relayed_producer_ids(bootstrap: str, databases: DatabaseFactory, tmp_path: Path) -> set[int]:
    with probe(bootstrap, databases, tmp_path) as client:
        client.post("/echo/c-idem01").raise_for_status()
        wait_until(lambda: seen_rows(client) == [("c-idem01", "echo")])
    return asyncio.run(producer_ids(bootstrap, ReassessmentRequested.topic()))


@needs_kafka
def test_on_apache_kafka_the_relay_sends_as_an_idempotent_producer(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    [producer_id] = relayed_producer_ids(kafka_bootstrap, databases, tmp_path)
    assert producer_id >= 0  # the broker knows the sender and drops its retried duplicates


@needs_embedded
def test_on_the_embedded_broker_the_relay_still_delivers_without_a_producer_id(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    assert relayed_producer_ids(kafka_bootstrap, databases, tmp_path) == {-1}


@needs_kafka
def test_on_apache_kafka_a_fetch_waiting_seconds_still_takes_an_event_at_once(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    wait_ms = 5000  # an operator's value wins over the one the broker's abilities suggest
    settings = service_settings("probe", bootstrap=kafka_bootstrap, var_dir=tmp_path,
                                database_url=databases.new("probe"), fetch_max_wait_ms=wait_ms)
    with TestClient(build_app(SPEC, settings), headers=bearer(settings)) as client:
        publish_envelopes(kafka_bootstrap, (request("c-wake01", "warm up"),))
        wait_until(lambda: len(seen_rows(client)) == 1)
        hops = []
        for n in range(3):
            time.sleep(0.3)  # idle: the consumer is parked in a fetch
            publish_envelopes(kafka_bootstrap, (request("c-wake01", f"hop {n}"),))
            acked = time.monotonic()
            wait_until(lambda n=n: len(seen_rows(client)) == n + 2, interval=0.005)
            hops.append(time.monotonic() - acked)
    assert sorted(hops)[1] < wait_ms / 1000 / 5
