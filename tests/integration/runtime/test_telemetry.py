"""Runtime telemetry against the real broker and database: the relay's producer spans continue
the context stored with each outbox row and travel in the Kafka headers; the outbox backlog
gauge counts what waits; consumer lag counts what is fetched but not yet processed and, where
the broker's end offsets are exact, what waits unfetched."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import MetaData

from carepath.messaging.abilities import probe_abilities
from carepath.messaging.kafka import ensure_topics, new_producer
from carepath.messaging.lag import ConsumerLag
from carepath.messaging.relay import OutboxRelay, OutboxStore, RelayLease
from carepath.observability.telemetry import Metrics, tracer
from carepath.persistence.db import runtime_tables
from carepath.persistence.uow import UnitOfWork
from contracts import CausalLink, topic_for
from contracts.events import ReassessmentRequested
from contracts.levels import LevelOfCare
from tests.conftest import TEST_ENV, DatabaseFactory
from tests.support import EventTap, wait_until

metadata = MetaData()
outbox, inbox = runtime_tables(metadata)


def stage(uow: UnitOfWork, count: int) -> None:
    root = uuid.uuid4()
    with uow.transaction() as tx:
        for n in range(count):
            tx.emit(ReassessmentRequested(reason=f"probe {n}", current_level=LevelOfCare.iop),
                    subject="c-probe", site_id="boston", episode_id=None,
                    cause=CausalLink(event_id=root, correlation_id=root))


def backlog(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("carepath_outbox_backlog", {"service": "probe"})


async def test_the_relay_sends_each_event_in_a_producer_span_and_counts_its_backlog(
    kafka_bootstrap: str, databases: DatabaseFactory, spans: InMemorySpanExporter
) -> None:
    engine = databases.engine("relay", metadata)
    metrics, producer = Metrics("probe"), new_producer(kafka_bootstrap)
    await ensure_topics(kafka_bootstrap, 1)
    await producer.start()
    tap = EventTap(kafka_bootstrap).start()
    relay = OutboxRelay(store=OutboxStore(engine, outbox), lease=RelayLease(engine, "probe"),
                        producer=producer, metrics=metrics, batch_size=2, idle_poll_s=0.1,
                        max_backoff_s=1, retention=timedelta(days=1))
    try:
        with tracer().start_as_current_span("POST /probe") as request:
            stage(UnitOfWork(engine, outbox=outbox, inbox=inbox), 5)
        assert await relay.publish_batch() == 2 and backlog(metrics) == 3
        while await relay.publish_batch():
            pass
        assert backlog(metrics) == 0
        wait_until(lambda: len(tap.collected()) == 5)
        headers = tap.headers_of()
    finally:
        relay.stop()
        tap.stop()
        await producer.stop()
    sends = [s for s in spans.get_finished_spans() if s.name == f"send {topic_for('placement')}"]
    assert len(sends) == 5
    assert {s.parent.span_id for s in sends if s.parent} == {request.get_span_context().span_id}
    assert {h["traceparent"].split("-")[2] for h in headers} == {
        format(s.get_span_context().span_id, "016x") for s in sends}
    assert {s.attributes["messaging.message.id"] for s in sends if s.attributes} == {
        str(e.id) for e in tap.collected()}


async def test_consumer_lag_counts_fetched_records_not_yet_processed_and_falls_to_zero(
    kafka_bootstrap: str,
) -> None:
    topic = topic_for("intake")
    await ensure_topics(kafka_bootstrap, 1)
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    for n in range(4):
        await producer.send_and_wait(topic, key=b"c-lag", value=f"record {n}".encode())
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id="carepath.lagprobe",
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                fetch_max_wait_ms=10)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        metrics = Metrics("lagprobe")
        lag = ConsumerLag(metrics, lambda: consumer)
        fetched = (await consumer.getmany(partition, timeout_ms=5000, max_records=1))[partition]
        await lag.sample()
        labels = {"service": "lagprobe", "topic": topic, "partition": "0"}
        assert metrics.registry.get_sample_value("carepath_consumer_lag", labels) == 4
        while len(fetched) < 4:
            fetched += (await consumer.getmany(partition, timeout_ms=5000))[partition]
        for record in fetched:
            lag.processed(record)
        assert metrics.registry.get_sample_value("carepath_consumer_lag", labels) == 0
    finally:
        await consumer.stop()


async def lag_before_any_fetch(bootstrap: str) -> float | None:
    """Lag as the runtime measures it on this broker (its probed abilities), for a partition
    holding one record and then a batch of three that the consumer has not fetched yet."""
    topic, labels = topic_for("intake"), {"service": "lagprobe", "topic": topic_for("intake"),
                                          "partition": "0"}
    await ensure_topics(bootstrap, 1)
    producer = new_producer(bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, key=b"c-lag", value=b"alone", partition=0)
    batch = producer.create_batch()
    for n in range(3):
        batch.append(key=b"c-lag", value=f"batched {n}".encode(), timestamp=None)
    await (await producer.send_batch(batch, topic, partition=0))
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id="carepath.lagprobe",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.pause(partition)  # nothing is fetched: no high-water mark from a fetch
        metrics = Metrics("lagprobe")
        abilities = await probe_abilities(bootstrap)
        await ConsumerLag(metrics, lambda: consumer,
                          end_offsets=abilities.exact_end_offsets).sample()
        return metrics.registry.get_sample_value("carepath_consumer_lag", labels)
    finally:
        await consumer.stop()


@pytest.mark.skipif(not TEST_ENV.shared_broker, reason="Apache Kafka's end offsets: run with "
                    "CAREPATH_TEST_BROKER=kafka")
async def test_on_apache_kafka_lag_counts_a_backlog_the_consumer_has_not_fetched(
    kafka_bootstrap: str,
) -> None:
    assert await lag_before_any_fetch(kafka_bootstrap) == 4


@pytest.mark.skipif(TEST_ENV.shared_broker, reason="the embedded broker's end offsets: run "
                    "without CAREPATH_TEST_BROKER")
async def test_on_the_embedded_broker_lag_waits_for_a_fetch_rather_than_trust_its_end_offsets(
    kafka_bootstrap: str,
) -> None:
    # Its ListOffsets "latest" would say 2 here (the last batch's base offset + 1).
    assert await lag_before_any_fetch(kafka_bootstrap) is None

