"""Event consumption: fetch batches, decode, dedupe through the inbox, retry transient failures
with bounded backoff, dead-letter permanent ones, and commit the offset only after the DB
transaction."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from carepath.errors import CarepathError
from carepath.messaging.retry import Backoff, is_transient
from carepath.observability.telemetry import (
    Metrics,
    context_from_headers,
    current_trace_headers,
    event_log_context,
    messaging_attributes,
    trace_id_of,
    tracer,
)
from carepath.persistence.uow import Transaction, UnitOfWork
from contracts import (
    EVENT_TYPES,
    Envelope,
    EventData,
    InvalidEvent,
    UnknownEventType,
    dlq_topic_for,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    envelope: Envelope
    data: Any
    trace_id: str | None


Handler = Callable[[Incoming, Transaction, Any], None]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")
# Reads ahead, in a few queries, what a batch's handlers will read (its clients' rows).
ReadAhead = Callable[[Sequence[Incoming], Transaction], None]


class EventHandlers:
    """A service's event handlers by payload type; `every_event` receives all types."""

    def __init__(self) -> None:
        self._by_type: dict[type[EventData], Handler] = {}
        self.every_event: Handler | None = None
        self.read_ahead: ReadAhead | None = None

    def on(self, *types: type[EventData]) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for cls in types:
                self._by_type[cls] = handler
            return handler

        return register

    def on_every_event(self, handler: H) -> H:
        self.every_event = handler
        return handler

    def reading_ahead(self, read_ahead: ReadAhead) -> ReadAhead:
        """Before a batch of several events is applied, `read_ahead` gets them and its
        transaction, to read in one query per table the rows each handler would read alone."""
        self.read_ahead = read_ahead
        return read_ahead

    def get(self, cls: type[EventData]) -> Handler | None:
        return self._by_type.get(cls) or self.every_event

    def topics(self) -> list[str]:
        from contracts import TOPICS

        if self.every_event is not None:
            return list(TOPICS)
        return sorted({cls.topic() for cls in self._by_type})


@dataclass(frozen=True)
class Ready:
    """A decoded record with the handler that applies it."""

    record: ConsumerRecord[bytes, bytes]
    incoming: Incoming
    handler: Handler
    headers: dict[str, str]


class EventProcessor:
    def __init__(
        self,
        *,
        service: str,
        handlers: EventHandlers,
        uow: UnitOfWork,
        producer: AIOKafkaProducer,
        metrics: Metrics,
        deps: Any,
        max_backoff_s: float,
        unknown_attempts: int,
    ) -> None:
        self.service = service
        self.consumer_name = f"carepath.{service}"
        self.handlers = handlers
        self.uow = uow
        self.producer = producer
        self.metrics = metrics
        self.deps = deps
        self.max_backoff_s = max_backoff_s
        self.unknown_attempts = unknown_attempts

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a fetched batch, in order, in one transaction. If that fails, apply its events
        one at a time with retries and the DLQ: a bad event costs the batch its shortcut, never
        another event's effect."""
        ready = [item for record in records if (item := await self._decode(record)) is not None]
        if len(ready) > 1:
            started = time.perf_counter()
            read_ahead = self.handlers.read_ahead
            try:
                applied = await asyncio.to_thread(
                    self.uow.consume_batch, self.consumer_name,
                    [(item.incoming.envelope.id, partial(self._apply, item)) for item in ready],
                    before=read_ahead and partial(read_ahead, [item.incoming for item in ready]))
            except Exception as exc:
                log.info("a batch of %d failed (%s); applying its events one at a time",
                         len(ready), type(exc).__name__)
            else:
                self._count_batch(ready, applied, time.perf_counter() - started)
                return
        for item in ready:
            await self._apply_with_retries(item)

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Ready | None:
        """The event and its handler; None if this service ignores it or it was dead-lettered."""
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            data = envelope.payload()
        except (InvalidEvent, UnknownEventType) as exc:
            await self.dead_letter(record, exc)
            return None
        handler = self.handlers.get(type(data))
        if handler is None:
            return None
        headers = headers_of(record)
        return Ready(record, Incoming(envelope=envelope, data=data,
                                      trace_id=trace_id_of(headers)), handler, headers)

    def _apply(self, item: Ready, tx: Transaction) -> None:
        """The handler inside the event's consumer span (a child of its producer's send)."""
        envelope = item.incoming.envelope
        with tracer().start_as_current_span(
            f"process {item.record.topic}",
            context=context_from_headers(item.headers),
            kind=SpanKind.CONSUMER,
            attributes=_span_attributes(item.record, envelope, self.consumer_name),
        ), event_log_context(correlation_id=str(envelope.correlationid),
                             event_id=str(envelope.id), event_type=envelope.type):
            tx.remember_trace(envelope.subject, current_trace_headers())
            item.handler(item.incoming, tx, self.deps)
            log.debug("event handled")

    def _count(self, item: Ready, applied: bool, seconds: float) -> None:
        self._count_batch([item], [applied], seconds)

    def _count_batch(self, items: Sequence[Ready], applied: Sequence[bool],
                     seconds: float) -> None:
        """The transaction's size; per event type, the handler time (the batch's, shared
        evenly) and the outcomes, one metric update per type and outcome rather than per
        event."""
        self.metrics.consume_batch.labels(self.service).observe(len(items))
        outcomes: Counter[tuple[str, bool]] = Counter(
            (item.incoming.envelope.type, new) for item, new in zip(items, applied, strict=True))
        share = seconds / len(items)
        for (type_name, new), count in outcomes.items():
            histogram = self.metrics.handler_seconds.labels(self.service, type_name)
            for _ in range(count):
                histogram.observe(share)
            self.metrics.consumed.labels(self.service, type_name,
                                         "applied" if new else "duplicate").inc(count)

    async def _apply_with_retries(self, item: Ready) -> None:
        attempts, backoff = 0, Backoff(self.max_backoff_s)
        event_id = item.incoming.envelope.id
        while True:
            started = time.perf_counter()
            try:
                applied = await asyncio.to_thread(
                    self.uow.consume_once, self.consumer_name, event_id,
                    partial(self._apply, item))
            except CarepathError as exc:
                await self.dead_letter(item.record, exc)
                return
            except Exception as exc:
                attempts += 1
                if not is_transient(exc) and attempts >= self.unknown_attempts:
                    log.exception("handler failed %d times; dead-lettering", attempts,
                                  extra={"event_id": str(event_id),
                                         "event_type": item.incoming.envelope.type})
                    await self.dead_letter(item.record, exc)
                    return
                self.metrics.retries.labels(self.service, "handler").inc()
                log.warning("transient failure (%s); retry in %.2fs", type(exc).__name__,
                            backoff.next_s, extra={"event_id": str(event_id)})
                await backoff.wait()
                continue
            self._count(item, applied, time.perf_counter() - started)
            return

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        reason = str(error)[:1000] or type(error).__name__
        headers = [
            ("carepath.dlq.original_topic", record.topic.encode()),
            ("carepath.dlq.original_partition", str(record.partition).encode()),
            ("carepath.dlq.original_offset", str(record.offset).encode()),
            ("carepath.dlq.error_class", type(error).__name__.encode()),
            ("carepath.dlq.reason", reason.encode()),
            ("carepath.dlq.consumer", self.consumer_name.encode()),
            ("carepath.dlq.failed_at", datetime.now(UTC).isoformat().encode()),
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("carepath.dlq.")],
        ]
        backoff = Backoff(self.max_backoff_s)
        while True:
            try:
                await self.producer.send_and_wait(
                    dlq_topic_for(self.service), value=record.value, key=record.key,
                    headers=headers,
                )
                break
            except Exception:
                # Never skip a message: keep trying until the DLQ takes it (bounded backoff).
                log.warning("dead-letter publish failed; retrying", exc_info=True)
                self.metrics.retries.labels(self.service, "dead_letter").inc()
                await backoff.wait()
        self.metrics.dlq.labels(self.service, type(error).__name__).inc()
        self.metrics.consumed.labels(self.service, _type_of(record), "dead_lettered").inc()
        log.warning("dead-lettered %s:%d@%d: %s", record.topic, record.partition, record.offset,
                    type(error).__name__)


# A rebalance ends within the group's rebalance timeout (aiokafka's default for it: the session
# timeout); a poll blocked for five of those, and at least STUCK_MIN_S, waits for nothing.
STUCK_MIN_S = 30.0
TICK_S = 1.0  # how often a poll in progress is looked at (`ConsumeLoop._watched`)


def stuck_after_s(session_timeout_ms: int) -> float:
    return max(STUCK_MIN_S, 5 * session_timeout_ms / 1000)


class ConsumeLoop:
    """A service's consumer loop: each fetched batch straight from the consumer (which FastStream's
    subscriber creates and runs: group, subscription, start and stop) to the processor. Before,
    FastStream's batch handler carried each batch: its dispatch (dependency injection, context,
    a decoded copy of every record) was 5-11% of a consuming service's CPU, and its loop slept
    as long as an empty poll had waited, a delay for the next record. Here a poll waits up to
    `poll_ms` and returns as soon as records come.

    A batch whose processing fails outside its events' own retries (never expected: the
    processor retries, or dead-letters, each event) is fetched again after a backoff, from its
    first record: skipped, a later batch's offset commit would pass over it.

    A poll that has not returned `stuck_s` after it began, in the process's running time (its
    own wait is `poll_ms`), is a
    consumer waiting for a group assignment that does not come: aiokafka's consumer can stay so
    after a broker restart or a rebalance, alive and consuming nothing (aio-libs/aiokafka#1154;
    its getmany waits for a reassignment without a timeout). The loop then has `restart`
    replace it: the old consumer is stopped and a new one joins the group and resumes from the
    committed offsets (the inbox absorbs what comes again)."""

    def __init__(self, consumer: Callable[[], AIOKafkaConsumer | None],
                 processor: EventProcessor, *, max_records: int, poll_ms: int,
                 processed: Callable[[list[ConsumerRecord[bytes, bytes]]], None],
                 restart: Callable[[], Awaitable[None]], stuck_s: float) -> None:
        self.consumer = consumer
        self.processor = processor
        self.max_records = max_records
        self.poll_ms = poll_ms
        self.processed = processed
        self.restart = restart
        self.stuck_s = stuck_s
        self._stopping = False
        self._polling = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="consume")

    async def run(self) -> None:
        backoff = Backoff(self.processor.max_backoff_s)
        while not self._stopping and (consumer := self.consumer()) is not None:
            try:
                self._polling = True
                fetched = await self._watched(consumer.getmany(
                    timeout_ms=self.poll_ms, max_records=self.max_records))
            except ConsumerStoppedError:
                return
            except KafkaError:
                log.warning("fetch failed; polling again", exc_info=True)
                await backoff.wait()
                continue
            except TimeoutError:
                log.error("a poll has not returned in %.0f s (the consumer waits for a group "
                          "assignment that does not come); replacing the consumer", self.stuck_s)
                await self._replace(backoff)
                continue
            finally:
                self._polling = False
            if not fetched:
                continue
            try:
                await self.processor.process_batch(
                    [record for records in fetched.values() for record in records])
            except Exception:
                log.exception("a batch failed outside its events' retries; fetching it again")
                _rewind(consumer, fetched)
                await backoff.wait()
                continue
            backoff.reset()
            self.processed([records[-1] for records in fetched.values()])

    async def _watched(self, poll: Coroutine[Any, Any, T]) -> T:
        """The poll's result, or TimeoutError once it has gone `stuck_s` of the process's own
        running time without one. Time counts in ticks, a tick at most two: a pause of the whole
        process (SIGSTOP, a suspended VM, a long stall) is one tick however long it was, for
        what stood still then was the process, not the consumer, whose poll returns once the
        process runs again. (A plain timeout fires at once after such a pause: every service
        replaced its consumer after the bench's SIGSTOP of its services.)"""
        task = asyncio.ensure_future(poll)
        loop, tick = asyncio.get_running_loop(), min(TICK_S, self.stuck_s / 5)
        waited, last = 0.0, loop.time()
        try:
            while True:
                done, _ = await asyncio.wait((task,), timeout=tick)
                if done:
                    return task.result()
                now = loop.time()
                waited, last = waited + min(now - last, 2 * tick), now
                if waited >= self.stuck_s:
                    raise TimeoutError
        finally:
            task.cancel()

    async def _replace(self, backoff: Backoff) -> None:
        """Until `restart` has a new consumer running (it cannot while the broker is away)."""
        while not self._stopping:
            try:
                await self.restart()
            except Exception:
                log.warning("could not start a new consumer; trying again", exc_info=True)
                await backoff.wait()
            else:
                log.info("a new consumer has started; it joins the group")
                return

    async def stop(self) -> None:
        """Stop after the batch in hand (a poll in progress is cancelled)."""
        self._stopping = True
        if self._task is None:
            return
        if self._polling:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _rewind(consumer: AIOKafkaConsumer,
            fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
    assigned = consumer.assignment()
    for tp, records in fetched.items():
        if tp in assigned:
            consumer.seek(tp, records[0].offset)


def clients_of(events: Sequence[Incoming]) -> list[str]:
    """The clients a batch's events are about (a site's events are about no client)."""
    return [e.envelope.subject for e in events if e.envelope.subject.startswith("c-")]


def placement_keys(events: Sequence[Incoming]) -> tuple[list[str], list[uuid.UUID]]:
    """The clients and episodes of a batch's placement events (for a read ahead)."""
    placed = [e for e in events if e.data.service == "placement"]
    return (clients_of(placed),
            [e.envelope.episodeid for e in placed if e.envelope.episodeid is not None])


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


def _type_of(record: ConsumerRecord[bytes, bytes]) -> str:
    """The CloudEvents type of a record, if it has a readable one (metrics label)."""
    try:
        found = json.loads(record.value or b"").get("type")
    except (ValueError, AttributeError):
        return "unknown"
    return found if isinstance(found, str) and found in EVENT_TYPES else "unknown"


def _span_attributes(
    record: ConsumerRecord[bytes, bytes], envelope: Envelope, group: str
) -> dict[str, Any]:
    return {
        **messaging_attributes(operation="process", topic=record.topic,
                               message_id=str(envelope.id), key=envelope.partitionkey,
                               event_type=envelope.type),
        "messaging.consumer.group.name": group,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
    }


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
