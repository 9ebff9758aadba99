"""The HTTP surface every service shares: liveness, readiness and metrics, errors mapped to
status codes, and a server span per request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry.trace import SpanKind
from prometheus_client import generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError
from sqlmodel import Session

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
    @app.middleware("http")
    async def trace_requests(request: Request, call_next: Any) -> Response:
        if request.url.path in UNTRACED_PATHS:
            untraced: Response = await call_next(request)
            return untraced
        with tracer().start_as_current_span(
            request.method,
            context=context_from_headers(await _trace_context_of(request)),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.url.path},
        ) as span:
            response: Response = await call_next(request)
            route = getattr(request.scope.get("route"), "path", None)
            if route:
                span.update_name(f"{request.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            # W3C Trace Context level 2: tells the caller which trace its request joined, so
            # it can continue that trace (e.g. a client's whole journey) in later requests.
            # Not on a refusal: which trace a refused request joined would say whether the
            # client it named exists.
            if response.status_code < 400:
                response.headers["traceresponse"] = trace_headers_of(span).get(
                    "traceparent", "")
            return response


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
        subject = await subject_of(request, runtime.spec.trace_subject,
                                   lambda: Session(runtime.engine))
        if subject is None:
            return headers
        found = await asyncio.to_thread(traces.headers_for, runtime.engine, subject)
    except Exception as exc:
        log.debug("no client trace to continue (%s)", type(exc).__name__)
        return headers
    if not found:
        began_untraced(subject)
    return {**headers, **found}
