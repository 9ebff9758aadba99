"""The HTTP surface every service shares: liveness, readiness and metrics, errors mapped to
status codes, and a server span per request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry.trace import Span, SpanKind, use_span
from prometheus_client import generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath.app.spec import Runtime, RuntimeDep
from carepath.errors import CarepathError
from carepath.http.validation import public_errors
from carepath.observability.client_trace import TRACEPARENT, began_untraced, subject_of
from carepath.observability.telemetry import context_from_headers, trace_headers_of, tracer

log = logging.getLogger(__name__)

# Served without a token: liveness, readiness, metrics (the routes below) and the API docs.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def add_common_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        checks = {"database": await _db_ok(runtime), "broker": await _broker_ok(runtime)}
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"service": runtime.spec.name, "ready": status == 200,
                             "checks": checks}, status_code=status)

    @app.get("/metrics", tags=["ops"])
    def metrics(runtime: RuntimeDep) -> Response:
        return Response(generate_latest(runtime.metrics.registry),
                        media_type="text/plain; version=0.0.4")


async def _db_ok(runtime: Runtime[Any]) -> bool:
    def probe() -> None:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(probe), timeout=2)
        return True
    except Exception:
        return False


async def _broker_ok(runtime: Runtime[Any]) -> bool:
    if runtime.producer is None:
        return False
    try:
        await asyncio.wait_for(runtime.producer.client.fetch_all_metadata(), timeout=2)
        return True
    except Exception:
        return False


def add_error_mapping(app: FastAPI) -> None:
    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable during a request: %s", type(exc.orig).__name__)
        return JSONResponse({"detail": "database unavailable; nothing was changed, retry",
                             "error": "ServiceUnavailable"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, without the submitted values it would echo (`input`, `ctx`).
        return JSONResponse({"detail": public_errors(exc.errors())}, status_code=422)

    @app.exception_handler(DataError)
    async def value_refused(_request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character in text, which PostgreSQL cannot store: the caller's input,
        # and the transaction rolled back. The driver's message may quote the value: only
        # its class is told.
        reason = type(exc.orig).__name__ if exc.orig else "invalid value"
        return JSONResponse({"detail": f"a value of this request cannot be stored ({reason}); "
                             "nothing was changed", "error": "InvalidInput"}, status_code=422)

    @app.exception_handler(CarepathError)
    async def carepath_error(_request: Request, exc: CarepathError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__},
                            status_code=exc.http_status)


# Probes and scrapes would drown the traces that matter.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def add_http_tracing(app: FastAPI) -> None:
    app.add_middleware(TraceRequests)


class TraceRequests:
    """A SERVER span per request, named "METHOD /route" once routed, in the caller's trace or
    the one its client's journey is in (`_trace_context_of`). Plain ASGI: the app runs in
    this task, with no task group or re-wrapped response per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read: list[Message] = []  # what finding the trace read of the body: the app gets it
        request = Request(scope, _recording(receive, read))
        if request.url.path in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        span = tracer().start_span(
            request.method,
            context=context_from_headers(await _trace_context_of(request)),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.url.path},
        )

        async def send_traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                _describe(span, scope, message)
                span.end()  # it covers the request until the answer begins, and is exported
            await send(message)

        try:
            with use_span(span):  # records what the app raises before it answers
                await self.app(scope, _replay(read, receive) if read else receive, send_traced)
        finally:
            if span.is_recording():  # not ended: the app raised before it answered
                span.end()


def _describe(span: Span, scope: Scope, start: Message) -> None:
    """Once the route has answered: its name, its status, and where it joined a trace."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", start["status"])
    # W3C Trace Context level 2: tells the caller which trace its request joined, so it can
    # continue that trace (e.g. a client's whole journey) in later requests. Not on a
    # refusal: which trace a refused request joined would say whether the client it named
    # exists.
    if start["status"] < 400:
        start.setdefault("headers", [])
        MutableHeaders(scope=start)["traceresponse"] = trace_headers_of(span).get(
            "traceparent", "")


def _recording(receive: Receive, into: list[Message]) -> Receive:
    async def recorded() -> Message:
        message = await receive()
        into.append(message)
        return message

    return recorded


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` as if nothing had been read: what was read first, then what comes next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _trace_context_of(request: Request) -> dict[str, str]:
    """The caller's trace headers; without them, for an authenticated command (not a read)
    about a known client, the trace that client's journey is in
    (carepath/observability/client_trace.py).
    Tracing never fails a request: if the lookup fails (the database is away), a new trace."""
    headers = dict(request.headers)
    runtime: Runtime[Any] = request.app.state.runtime
    traces = runtime.uow.traces
    if (TRACEPARENT in headers or traces is None or "authorization" not in headers
            or request.method in ("GET", "HEAD")):
        return headers
    try:
        subject = await subject_of(request, runtime.path_lookup())
        if subject is None:
            return headers
        found = traces.cached(subject)
        if found is None:  # read on a worker thread, then kept
            found = await asyncio.to_thread(traces.headers_for, runtime.engine, subject)
    except Exception as exc:
        log.debug("no client trace to continue (%s)", type(exc).__name__)
        return headers
    if not found:
        began_untraced(subject)
    return {**headers, **found}
