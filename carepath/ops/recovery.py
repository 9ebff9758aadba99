"""Operator tools: inspect and re-drive dead letters, re-publish an outbox to a broker that lost
its data, rebuild a read model by replaying the topics from the beginning."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Table
from sqlalchemy.engine import Engine

from carepath import registry
from carepath.app.spec import BulkReplay, ServiceSpec
from carepath.messaging.consumer import EventProcessor, Incoming, headers_of
from carepath.messaging.kafka import producer_for
from carepath.messaging.relay import OutboxStore, publish_rows
from carepath.observability.telemetry import Metrics, trace_id_of
from carepath.persistence import migrations
from carepath.persistence.batch import Inserts
from carepath.persistence.db import make_engine
from carepath.persistence.uow import UnitOfWork
from carepath.settings import Settings
from contracts import Envelope, InvalidEvent, UnknownEventType, dlq_topic_for

DLQ_PREFIX = "carepath.dlq."


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def original_topic(self) -> str:
        return self.headers.get(f"{DLQ_PREFIX}original_topic", "?")

    def summary(self) -> str:
        def h(name: str) -> str:
            return self.headers.get(DLQ_PREFIX + name, "?")

        return (f"{self.partition}:{self.offset}  from {self.original_topic}"
                f"[{h('original_partition')}]@{h('original_offset')}"
                f"  {h('error_class')}: {h('reason')}")


async def read_all(bootstrap: str, topics: list[str], idle_ms: int = 1500
                   ) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of the topics from the beginning, per partition in order, until idle."""
    async for batch in read_batches(bootstrap, topics, idle_ms):
        for record in batch:
            yield record


@dataclass(frozen=True)
class Unseen:
    """The oldest offsets of a partition, which the broker no longer holds: retention (or
    DeleteRecords) moved the partition's log start offset past them."""

    topic: str
    partition: int
    earliest_offset: int  # the first offset a reader can still fetch

    @property
    def offsets(self) -> int:
        return self.earliest_offset  # a partition's offsets start at 0

    def summary(self) -> str:
        return (f"{self.topic}[{self.partition}]: offsets 0-{self.earliest_offset - 1} "
                f"deleted ({self.offsets}), earliest available {self.earliest_offset}")


@dataclass
class Coverage:
    """Where a read from the beginning began on each partition: above offset 0, it never saw
    what the broker had deleted."""

    earliest: dict[TopicPartition, int] = field(default_factory=dict)  # log start offsets
    first_read: dict[TopicPartition, int] = field(default_factory=dict)

    def read(self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        for partition, records in batches.items():
            if records:
                self.first_read.setdefault(partition, records[0].offset)

    def unseen(self) -> list[Unseen]:
        # What was read wins over the broker's answer: the log start may move during the read.
        began = {tp: self.first_read.get(tp, start) for tp, start in self.earliest.items()}
        return [Unseen(tp.topic, tp.partition, offset)
                for tp, offset in sorted(began.items()) if offset > 0]


async def read_batches(bootstrap: str, topics: list[str], idle_ms: int = 1500,
                       coverage: Coverage | None = None
                       ) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The topics from the beginning in fetched batches, per partition in order, until idle;
    `coverage` learns where each partition began. (No consumer group, no end-offset lookups:
    the embedded broker's 'latest' is unreliable.)"""
    partitions = await topic_partitions(bootstrap, topics)
    if not partitions:
        return
    # "earliest" for the position reset assign() starts too: on Apache Kafka its answer can
    # land after seek_to_beginning's and win, and with "latest" the read would see nothing.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=10,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        if coverage is not None:
            coverage.earliest.update(await consumer.beginning_offsets(partitions))
        while True:
            batches = await consumer.getmany(timeout_ms=idle_ms, max_records=5000)
            if not batches:
                return
            if coverage is not None:
                coverage.read(batches)
            yield [record for records in batches.values() for record in records]
    finally:
        await consumer.stop()


async def topic_partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of those of the topics that exist. (Asked of the broker: a new
    consumer's metadata knows no topics on Apache Kafka, only on the embedded broker.)"""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    return sorted(TopicPartition(topic["topic"], part["partition"])
                  for topic in described for part in topic["partitions"])


async def dead_letters(settings: Settings, service: str) -> list[DeadLetter]:
    return [DeadLetter(offset=r.offset, partition=r.partition, key=r.key, value=r.value or b"",
                       headers={k: v.decode(errors="replace") for k, v in r.headers or ()})
            async for r in read_all(settings.bootstrap, [dlq_topic_for(service)])]


async def redrive(settings: Settings, service: str, letters: list[DeadLetter],
                  payload: bytes | None = None) -> int:
    """Send dead letters back to their original topic (optionally with a corrected payload).
    Safe to repeat: a re-driven event that was processed once is a no-op the second time."""
    producer = await producer_for(settings.bootstrap)
    try:
        for letter in letters:
            headers = [(k, v.encode()) for k, v in letter.headers.items()
                       if not k.startswith(DLQ_PREFIX)]
            headers.append((f"{DLQ_PREFIX}redriven_from", f"{letter.partition}:{letter.offset}"
                            .encode()))
            await producer.send_and_wait(letter.original_topic, value=payload or letter.value,
                                         key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return len(letters)


async def republish(settings: Settings, service: str, since: datetime | None) -> int:
    """Publish a service's kept outbox rows again, in their original order."""
    spec = registry.spec_of(service)
    store = OutboxStore(make_engine(settings.database_url_for(service)), spec.outbox)
    producer = await producer_for(settings.bootstrap)
    sent, after = 0, 0
    try:
        while rows := await asyncio.to_thread(store.rows_since, since, 1000, after):
            await publish_rows(producer, rows)
            sent, after = sent + len(rows), rows[-1].seq
    finally:
        await producer.stop()
        store.engine.dispose()
    return sent


class _Replay(EventProcessor):
    skipped = 0

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException
                          ) -> None:
        self.skipped += 1  # it was dead-lettered live too; the rebuild skips it the same way


async def rebuild(settings: Settings, service: str, database_url: str | None = None
                  ) -> dict[str, Any]:
    """Rebuild a consuming service's state from the topics into an empty database. "unseen"
    lists the partitions whose oldest records the broker had deleted (finite retention,
    DeleteRecords): what was rebuilt lacks their events."""
    spec = registry.spec_of(service)
    # A rebuild replays history into a database: it never feeds outside systems again.
    settings = settings.model_copy(update={"hl7_mllp_url": None})
    url = database_url or settings.database_url_for(service)
    engine = make_engine(url)
    await asyncio.to_thread(migrations.recreate, engine, service)
    coverage = Coverage()
    batches = read_batches(settings.bootstrap, spec.handlers.topics(), coverage=coverage)
    try:
        if spec.bulk_replay is not None:
            replay = spec.bulk_replay(engine, spec.make_deps(settings))
            count, skipped = await _in_bulk(spec, engine, replay, batches)
        else:
            count, skipped = await _through_handlers(spec, engine, settings, batches)
    finally:
        engine.dispose()
    return {"service": service, "database": url.split("@")[-1], "records": count,
            "skipped": skipped, "unseen": coverage.unseen()}


async def _through_handlers(spec: ServiceSpec[Any], engine: Engine, settings: Settings,
                            batches: AsyncIterator[list[ConsumerRecord[bytes, bytes]]]
                            ) -> tuple[int, int]:
    """The records through the service's handlers, a fetched batch a transaction, as live."""
    replay = _Replay(service=spec.name, handlers=spec.handlers,
                     uow=UnitOfWork(engine, outbox=spec.outbox, inbox=spec.inbox),
                     producer=None,
                     metrics=Metrics(spec.name), deps=spec.make_deps(settings),
                     max_backoff_s=settings.retry_max_backoff_s,
                     unknown_attempts=settings.retry_unknown_attempts)
    count = 0
    try:
        async for batch in batches:
            for start in range(0, len(batch), settings.consume_batch_max):
                await replay.process_batch(batch[start:start + settings.consume_batch_max])
            count += len(batch)
    finally:
        replay.uow.close()
    return count, replay.skipped


async def _in_bulk(spec: ServiceSpec[Any], engine: Engine, replay: BulkReplay,
                   batches: AsyncIterator[list[ConsumerRecord[bytes, bytes]]]
                   ) -> tuple[int, int]:
    """The records through the read model's bulk replay (`ServiceSpec.bulk_replay`): decoded
    once, a repeat or an unreadable record skipped as the live consumer skips it (the inbox,
    the DLQ), the rest folded in order; the inbox written in bulk at the end."""
    consumer = f"carepath.{spec.name}"
    seen: dict[uuid.UUID, None] = {}  # the inbox, in order
    count = skipped = 0
    async for batch in batches:
        events: list[Incoming] = []
        for record in batch:
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                data = envelope.payload()
            except (InvalidEvent, UnknownEventType):
                skipped += 1  # dead-lettered live too
                continue
            if spec.handlers.get(type(data)) is None or envelope.id in seen:
                continue
            seen[envelope.id] = None
            events.append(Incoming(envelope=envelope, data=data,
                                   trace_id=trace_id_of(headers_of(record))))
        await asyncio.to_thread(replay.apply, events)
        count += len(batch)
    await asyncio.to_thread(replay.close)
    await asyncio.to_thread(_write_inbox, engine, spec.inbox, consumer, list(seen))
    return count, skipped


def _write_inbox(engine: Engine, inbox: Table, consumer: str, event_ids: list[uuid.UUID],
                 chunk: int = 20_000) -> None:
    now = datetime.now(UTC)
    inserts = Inserts(inbox, engine.dialect)
    assert inserts.keys == ["consumer", "event_id", "processed_at"], inserts.keys
    with engine.begin() as conn:
        for start in range(0, len(event_ids), chunk):
            inserts.write(conn, ((consumer, event_id, now)
                                 for event_id in event_ids[start:start + chunk]))
