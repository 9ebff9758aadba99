"""Publishing outbox rows to Kafka. Each send is a PRODUCER span, child of the trace context
stored with the row when its event was committed (as Debezium does); the Kafka headers carry the
producer span's context, so every consumer's span is a child of the send."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from carepath.observability.telemetry import (
    context_from_headers,
    messaging_attributes,
    trace_headers_of,
    tracer,
)

TRACE_HEADERS = ("traceparent", "tracestate")


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    event_id: uuid.UUID
    event_type: str
    topic: str
    key: str
    payload: bytes
    headers: dict[str, str]


async def publish_rows(producer: AIOKafkaProducer, rows: list[OutboxRow]) -> None:
    """Send a batch and wait for every ack; aiokafka keeps per-partition order within it."""
    spans = [_producer_span(row) for row in rows]
    try:
        futures = [
            await producer.send(row.topic, value=row.payload, key=row.key.encode(),
                                headers=_kafka_headers(row, span))
            for row, span in zip(rows, spans, strict=True)
        ]
        sent: list[RecordMetadata] = await asyncio.gather(*futures)
    except BaseException as exc:
        for span in spans:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
        raise
    for span, metadata in zip(spans, sent, strict=True):
        span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
        span.set_attribute("messaging.kafka.offset", metadata.offset)
        span.end()


def _producer_span(row: OutboxRow) -> Span:
    return tracer().start_span(
        f"send {row.topic}", context=context_from_headers(row.headers), kind=SpanKind.PRODUCER,
        attributes=messaging_attributes(operation="send", topic=row.topic,
                                        message_id=str(row.event_id), key=row.key,
                                        event_type=row.event_type))


def _kafka_headers(row: OutboxRow, span: Span) -> list[tuple[str, bytes]]:
    headers = {k: v for k, v in row.headers.items() if k not in TRACE_HEADERS}
    headers.update(trace_headers_of(span) or {k: v for k, v in row.headers.items()
                                                if k in TRACE_HEADERS})
    return [(k, v.encode()) for k, v in headers.items()]
