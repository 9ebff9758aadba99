"""The one app factory every service uses: FastAPI for HTTP, FastStream for Kafka consumption,
the outbox relay, health, metrics and tracing — wired the same way for all six services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import SpanKind
from prometheus_client import generate_latest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, OperationalError

from carepath.access import ACCESS, AccessGuard, Rule, authorize
from carepath.auth import TokenVerifier
from carepath.consumer import EventHandlers, EventProcessor
from carepath.db import make_engine
from carepath.errors import CarepathError
from carepath.kafka import ensure_topics, new_producer
from carepath.lag import ConsumerLag
from carepath.limits import BodySizeLimit
from carepath.migrations import SchemaNotMigrated, ensure_schema, has_migrations
from carepath.outbox import OutboxRelay, OutboxStore, RelayLease
from carepath.settings import Settings
from carepath.telemetry import (
    Metrics,
    context_from_headers,
    setup_logging,
    setup_tracing,
    trace_headers_of,
    tracer,
)
from carepath.uow import UnitOfWork
from contracts import dlq_topic_for

log = logging.getLogger(__name__)


@dataclass
class ServiceSpec:
    name: str
    metadata: MetaData
    outbox: Any
    inbox: Any
    router: APIRouter
    handlers: EventHandlers = field(default_factory=EventHandlers)
    make_deps: Callable[[Settings], Any] = lambda settings: None
    on_start: Callable[[Runtime], None] | None = None
    workers: tuple[Callable[[Runtime], Coroutine[Any, Any, None]], ...] = ()
    extra_routes: Callable[[FastAPI], None] | None = None
    # Who may call each endpoint; None: this service's rows of carepath/access.py.
    access: Mapping[str, Rule] | None = None


@dataclass
class Runtime:
    spec: ServiceSpec
    settings: Settings
    engine: Engine
    uow: UnitOfWork
    metrics: Metrics
    deps: Any
    producer: AIOKafkaProducer | None = None
    broker: KafkaBroker | None = None
    relay: OutboxRelay | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def build_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging(spec.name, settings.log_level)
    setup_tracing(spec.name, settings.span_file)
    engine = make_engine(settings.database_url_for(spec.name))
    runtime = Runtime(
        spec=spec,
        settings=settings,
        engine=engine,
        uow=UnitOfWork(engine, outbox=spec.outbox, inbox=spec.inbox),
        metrics=Metrics(spec.name),
        deps=spec.make_deps(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _start(runtime)
        try:
            yield
        finally:
            await _stop(runtime)

    app = FastAPI(title=f"Carepath {spec.name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.access_guard = AccessGuard(_access_table(spec), TokenVerifier(settings))
    _add_common_routes(app)
    _add_error_mapping(app)
    _add_http_tracing(app)
    app.include_router(spec.router, dependencies=[Depends(authorize)])
    if spec.extra_routes:
        spec.extra_routes(app)
    app.state.access_guard.check_coverage(app, OPEN_PATHS)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


# Served without a token: liveness, readiness, metrics (the routes below) and the API docs.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _access_table(spec: ServiceSpec) -> Mapping[str, Rule]:
    if spec.access is not None:
        return spec.access
    if spec.name not in ACCESS:
        raise RuntimeError(f"no access policy for service {spec.name!r} in carepath/access.py")
    return ACCESS[spec.name]


async def _start(runtime: Runtime) -> None:
    spec, settings = runtime.spec, runtime.settings
    await _ensure_schema(runtime)
    if spec.on_start:
        await asyncio.to_thread(spec.on_start, runtime)
    await ensure_topics(settings.bootstrap, settings.topic_partitions, timeout_s=60,
                        extra=(dlq_topic_for(spec.name),))
    runtime.producer = new_producer(settings.bootstrap)
    await runtime.producer.start()
    runtime.relay = OutboxRelay(
        store=OutboxStore(runtime.engine, spec.outbox),
        lease=RelayLease(runtime.engine, spec.name),
        producer=runtime.producer,
        metrics=runtime.metrics,
        batch_size=settings.relay_batch_size,
        idle_poll_s=settings.relay_idle_poll_s,
        max_backoff_s=settings.retry_max_backoff_s,
        retention=timedelta(days=settings.outbox_retention_days),
        crash_before_publish=settings.fault_crash_before_publish,
    )
    runtime.uow.on_commit(runtime.relay.wake_soon)
    runtime.tasks.append(asyncio.create_task(runtime.relay.run(), name="outbox-relay"))
    for worker in spec.workers:
        runtime.tasks.append(asyncio.create_task(worker(runtime), name=worker.__name__))
    if spec.handlers.topics():
        runtime.broker = _subscribe(runtime)
        await runtime.broker.start()
    log.info("service started", extra={"event_type": spec.name})


async def _ensure_schema(runtime: Runtime) -> None:
    service = runtime.spec.name
    if not has_migrations(service):  # an ad-hoc spec (a test probe), not one of the services
        await asyncio.to_thread(runtime.spec.metadata.create_all, runtime.engine)
        return
    try:
        await asyncio.to_thread(ensure_schema, runtime.engine, service,
                                auto_migrate=runtime.settings.migrates_on_start(service))
    except SchemaNotMigrated as exc:
        log.error("refusing to start: %s", exc)
        raise


def _subscribe(runtime: Runtime) -> KafkaBroker:
    spec, settings = runtime.spec, runtime.settings
    assert runtime.producer is not None
    processor = EventProcessor(
        service=spec.name,
        handlers=spec.handlers,
        uow=runtime.uow,
        producer=runtime.producer,
        metrics=runtime.metrics,
        deps=runtime.deps,
        max_backoff_s=settings.retry_max_backoff_s,
        unknown_attempts=settings.retry_unknown_attempts,
    )
    broker = KafkaBroker(settings.bootstrap, logger=None)
    subscriber = broker.subscriber(
        *spec.handlers.topics(),
        group_id=f"carepath.{spec.name}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.consume_batch_max,
        batch_timeout_ms=settings.fetch_max_wait_ms,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=max(settings.consumer_session_timeout_ms // 4, 100),
    )
    lag = ConsumerLag(runtime.metrics, lambda: subscriber.consumer)
    runtime.tasks.append(asyncio.create_task(lag.run(), name="consumer-lag"))

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        await processor.process_batch(records)
        try:
            await message.ack()  # commits the positions: everything fetched in this batch
        except KafkaError:
            # e.g. a rebalance took the partition: the new owner re-reads from the last
            # committed offset and the inbox turns the repeat into a no-op.
            log.warning("offset commit failed; the events will be redelivered", exc_info=True)
            return
        for record in records:
            lag.processed(record)

    return broker


async def _stop(runtime: Runtime) -> None:
    if runtime.broker is not None:
        await runtime.broker.stop()
    if runtime.relay is not None:
        runtime.relay.stop()
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    if runtime.relay is not None:
        await runtime.relay.drain()
    if runtime.producer is not None:
        await runtime.producer.stop()
    runtime.engine.dispose()


def _add_common_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        checks = {"database": await _db_ok(runtime), "broker": await _broker_ok(runtime)}
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)

    @app.get("/metrics", tags=["ops"])
    def metrics(runtime: RuntimeDep) -> Response:
        return Response(generate_latest(runtime.metrics.registry),
                        media_type="text/plain; version=0.0.4")


async def _db_ok(runtime: Runtime) -> bool:
    def probe() -> None:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(probe), timeout=2)
        return True
    except Exception:
        return False


async def _broker_ok(runtime: Runtime) -> bool:
    if runtime.producer is None:
        return False
    try:
        await asyncio.wait_for(runtime.producer.client.fetch_all_metadata(), timeout=2)
        return True
    except Exception:
        return False


def _add_error_mapping(app: FastAPI) -> None:
    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable during a request: %s", type(exc.orig).__name__)
        return JSONResponse({"detail": "database unavailable; nothing was changed, retry",
                             "error": "ServiceUnavailable"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(DataError)
    async def value_refused(_request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character in text, which PostgreSQL cannot store: the caller's input,
        # and the transaction rolled back.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        return JSONResponse({"detail": f"a value of this request cannot be stored: {reason}; "
                             "nothing was changed", "error": "InvalidInput"}, status_code=422)

    @app.exception_handler(CarepathError)
    async def carepath_error(_request: Request, exc: CarepathError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__},
                            status_code=exc.http_status)


# Probes and scrapes would drown the traces that matter.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _add_http_tracing(app: FastAPI) -> None:
    @app.middleware("http")
    async def trace_requests(request: Request, call_next: Any) -> Response:
        if request.url.path in UNTRACED_PATHS:
            untraced: Response = await call_next(request)
            return untraced
        with tracer().start_as_current_span(
            request.method,
            context=context_from_headers(dict(request.headers)),
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
            response.headers["traceresponse"] = trace_headers_of(span).get("traceparent", "")
            return response
