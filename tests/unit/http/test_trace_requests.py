"""A server span per request (carepath/http/common.py, TraceRequests), through intake's whole app
on a throwaway SQLite database (no lifespan: no broker, no relay)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import Message

from carepath.dev.asgi import call
from carepath.settings import Settings
from services.intake.app import create_app
from tests.support import bearer

REFERRAL = {"site_id": "boston", "first_name": "Traced", "last_name": "Client",
            "date_of_birth": "1980-02-02", "referral_source": "self"}
CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(Settings(var_dir=tmp_path))
    app.state.runtime.spec.metadata.create_all(app.state.runtime.engine)
    yield app
    app.state.runtime.engine.dispose()


def admin(app: FastAPI, **more: str) -> dict[str, str]:
    return {**bearer(app.state.runtime.settings), **more}


def ours(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    """Carepath's spans (FastAPI adds its own: a server span and one per step of a route)."""
    return [s for s in spans.get_finished_spans()
            if s.instrumentation_scope is not None and s.instrumentation_scope.name == "carepath"]


def traceparent(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


async def refer(app: FastAPI, *chunks: bytes, **headers: str) -> Any:
    answer = await call(app, "POST", "/referrals",
                        chunks=chunks or (json.dumps(REFERRAL).encode(),),
                        headers=admin(app, **{"content-type": "application/json", **headers}))
    assert answer.status == 201, answer.body
    return answer


async def test_a_request_is_one_server_span_named_by_method_and_route_that_the_answer_names(
        intake: FastAPI, spans: InMemorySpanExporter) -> None:
    answer = await refer(intake)
    [span] = ours(spans)
    assert (span.name, span.kind) == ("POST /referrals", SpanKind.SERVER)
    told = span.attributes or {}
    assert {k: told.get(k) for k in ("http.request.method", "url.path", "http.route",
                                     "http.response.status_code")} == {
        "http.request.method": "POST", "url.path": "/referrals", "http.route": "/referrals",
        "http.response.status_code": 201}
    assert answer.headers["traceresponse"] == traceparent(span)
    assert answer.headers["cache-control"] == "no-store"  # the gate's header is still there


async def test_a_refused_request_is_traced_but_its_answer_names_no_trace(
        intake: FastAPI, spans: InMemorySpanExporter) -> None:
    answer = await call(intake, "GET", "/clients/c-unknown0000", headers=admin(intake))
    assert answer.status == 404
    assert "traceresponse" not in answer.headers
    [span] = ours(spans)
    assert span.name == "GET /clients/{client_ref}"
    assert (span.attributes or {}).get("http.response.status_code") == 404


async def test_probes_are_not_traced(intake: FastAPI, spans: InMemorySpanExporter) -> None:
    answer = await call(intake, "GET", "/healthz")
    assert (answer.status, json.loads(answer.body)) == (200, {"status": "alive"})
    assert "traceresponse" not in answer.headers
    assert ours(spans) == []


async def test_the_callers_trace_is_continued(intake: FastAPI,
                                              spans: InMemorySpanExporter) -> None:
    answer = await refer(intake, traceparent=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
    [span] = ours(spans)
    assert traceparent(span).split("-")[1] == CALLER_TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == CALLER_SPAN
    assert answer.headers["traceresponse"] == traceparent(span)


async def test_a_body_read_to_find_the_client_reaches_the_app_whole(
        intake: FastAPI, spans: InMemorySpanExporter) -> None:
    """Without a traceparent, an authenticated command's body is read for its client_ref
    (observability/client_trace.py); the app then reads the same body, however it arrived."""
    document = json.dumps({**REFERRAL, "first_name": "Chunked"}).encode()
    answer = await refer(intake, document[:17], document[17:40], document[40:])
    client_ref = json.loads(answer.body)["client_ref"]
    read = await call(intake, "GET", f"/clients/{client_ref}", headers=admin(intake))
    assert (read.status, json.loads(read.body)["first_name"]) == (200, "Chunked")


async def test_the_span_has_ended_when_the_answer_begins(intake: FastAPI,
                                                         spans: InMemorySpanExporter) -> None:
    """As the exporters see it: a caller holding the answer finds the request's span written."""
    ended_at_start: list[int] = []

    async def on_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            ended_at_start.append(len(ours(spans)))

    await call(intake, "GET", "/clients/c-unknown0000", headers=admin(intake), on_send=on_send)
    assert ended_at_start == [1]


async def test_what_the_app_raises_reaches_the_server_and_marks_the_span(
        intake: FastAPI, spans: InMemorySpanExporter) -> None:
    @intake.get("/explode")
    async def explode() -> None:
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError, match="the handler failed"):
        await call(intake, "GET", "/explode", headers=admin(intake))
    [span] = ours(spans)
    assert span.name == "GET"  # never answered: no route or status was told
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
