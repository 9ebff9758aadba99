"""Tracing, metrics and PHI-free structured logs, wired once per process."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from carepath.observability.spanfile import JsonLinesSpanExporter


def setup_tracing(service: str, span_file: Path | None = None) -> None:
    """One tracer provider per process: OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set,
    and the test hook's JSON-lines file when `span_file` is given."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"carepath-{service}"}))
    _maybe_add_otlp(provider)
    if span_file is not None:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(span_file)))
    trace.set_tracer_provider(provider)


def _maybe_add_otlp(provider: TracerProvider) -> None:
    # The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logging.getLogger(__name__).warning("OTLP exporter package not installed; no export")
        return
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))


@cache
def tracer() -> trace.Tracer:
    """Carepath's tracer, looked up once (a lookup per span was 5% of a consumer's CPU). Before
    `setup_tracing` it is OpenTelemetry's proxy, which follows the provider set later."""
    return trace.get_tracer("carepath")


def current_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


def trace_headers_of(span: trace.Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def context_from_headers(headers: Mapping[str, str]) -> otel_context.Context:
    return extract(dict(headers))


def trace_id_of(headers: Mapping[str, str]) -> str | None:
    parent = headers.get("traceparent", "")
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 else None


def messaging_attributes(*, operation: str, topic: str, message_id: str, key: str,
                         event_type: str) -> dict[str, Any]:
    """OpenTelemetry messaging semantic conventions for one Kafka message."""
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": message_id,
        "messaging.kafka.message.key": key,
        "cloudevents.event_id": message_id,
        "cloudevents.event_type": event_type,
    }


RETRY_STAGES = ("handler", "dead_letter", "relay")
CONSUME_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """Prometheus metrics of one service process."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.consumed = Counter("carepath_events_consumed_total", "Events consumed",
                                ["service", "type", "outcome"], registry=registry)
        self.published = Counter("carepath_events_published_total", "Events published",
                                 ["service", "type"], registry=registry)
        self.handler_seconds = Histogram("carepath_handler_seconds", "Event handler latency",
                                         ["service", "type"], registry=registry)
        # Events applied per consume transaction (a fetched batch, or an event applied alone):
        # how many events share a transaction's fixed cost.
        self.consume_batch = Histogram("carepath_consume_batch_events",
                                       "Events applied per consume transaction", ["service"],
                                       buckets=CONSUME_BATCH_BUCKETS, registry=registry)
        self.outbox_backlog = Gauge("carepath_outbox_backlog", "Unpublished outbox rows",
                                    ["service"], registry=registry)
        self.dlq = Counter("carepath_dlq_total", "Events sent to the dead-letter topic",
                           ["service", "error"], registry=registry)
        self.retries = Counter("carepath_retries_total", "Transient failures retried",
                               ["service", "stage"], registry=registry)
        for stage in RETRY_STAGES:  # exposed at zero, so "no retries" reads as 0, not absent
            self.retries.labels(service, stage)
        self.consumer_lag = Gauge(
            "carepath_consumer_lag",
            "Records behind the partition's high-water mark, per partition of this consumer",
            ["service", "topic", "partition"], registry=registry)
        # The HL7 v2 ADT feed (interop): messages by outcome (acked, dead, retried), and the
        # messages waiting to be sent and the dead letters waiting to be re-driven.
        self.hl7_messages = Counter("carepath_hl7_messages_total",
                                    "HL7 v2 messages of the ADT feed, by outcome",
                                    ["service", "trigger", "outcome"], registry=registry)
        self.hl7_pending = Gauge("carepath_hl7_pending", "ADT messages waiting to be sent",
                                 ["service"], registry=registry)
        self.hl7_dead_letters = Gauge("carepath_hl7_dead_letters",
                                      "ADT messages the receiver refused, not yet re-driven",
                                      ["service"], registry=registry)
        self.service = service


# Ids of the event being handled, for every log line written while handling it.
_event_ids: ContextVar[Mapping[str, str] | None] = ContextVar("carepath_event_ids",
                                                             default=None)
LOGGED_IDS = ("correlation_id", "event_id", "event_type")


@contextmanager
def event_log_context(*, correlation_id: str, event_id: str, event_type: str) -> Iterator[None]:
    token = _event_ids.set({"correlation_id": correlation_id, "event_id": event_id,
                            "event_type": event_type})
    try:
        yield
    finally:
        _event_ids.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Callers log ids and counts only — never PHI or payloads."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        handling = _event_ids.get() or {}
        for key in LOGGED_IDS:
            value = getattr(record, key, None) or handling.get(key)
            if value:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry)


# Loggers that would write SQL parameters, request bodies or payloads at INFO/DEBUG: kept at
# WARNING whatever the level, so CAREPATH_LOG_LEVEL=DEBUG never puts PHI in a log.
QUIET_LOGGERS = ("aiokafka", "uvicorn.access", "faststream", "sqlalchemy", "httpx", "httpcore",
                 "mail.log")


def setup_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
