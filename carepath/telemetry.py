"""Tracing, metrics and PHI-free structured logs, wired once per process."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


def setup_tracing(service: str) -> None:
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"carepath-{service}"}))
    _maybe_add_otlp(provider)
    trace.set_tracer_provider(provider)


def _maybe_add_otlp(provider: TracerProvider) -> None:
    import os

    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logging.getLogger(__name__).warning("OTLP exporter package not installed; no export")
        return
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))


def tracer() -> trace.Tracer:
    return trace.get_tracer("carepath")


def current_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


def context_from_headers(headers: Mapping[str, str]) -> otel_context.Context:
    return extract(dict(headers))


def trace_id_of(headers: Mapping[str, str]) -> str | None:
    parent = headers.get("traceparent", "")
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 else None


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
        self.outbox_backlog = Gauge("carepath_outbox_backlog", "Unpublished outbox rows",
                                    ["service"], registry=registry)
        self.dlq = Counter("carepath_dlq_total", "Events sent to the dead-letter topic",
                           ["service", "error"], registry=registry)
        self.retries = Counter("carepath_retries_total", "Transient failures retried",
                               ["service", "stage"], registry=registry)
        self.consumer_lag = Gauge("carepath_consumer_lag", "Consumer lag per partition",
                                  ["service", "topic", "partition"], registry=registry)
        self.service = service


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Callers log ids and counts only — never PHI or payloads."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        for key in ("correlation_id", "event_id", "event_type"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry)


def setup_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "faststream"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
