"""The one app factory every service uses: FastAPI for HTTP, FastStream's Kafka subscriber for
consumption (its batches carried by carepath/messaging/consumer.py's loop),
the outbox relay, health, metrics and tracing — wired the same way for all seven services
(the spec and runtime: carepath/app/spec.py; the shared HTTP surface: carepath/http/common.py)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from aiokafka import ConsumerRecord
from fastapi import Depends, FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from carepath.app.spec import Runtime, ServiceSpec
from carepath.http.access import ACCESS, AccessGuard, Rule, authorize
from carepath.http.auth import TokenVerifier
from carepath.http.common import OPEN_PATHS, add_common_routes, add_error_mapping, add_http_tracing
from carepath.http.fields import add_field_policy
from carepath.http.gate import AccessGate
from carepath.http.limits import BodySizeLimit
from carepath.http.validation import StrictJson
from carepath.messaging.abilities import BrokerAbilities, probe_abilities
from carepath.messaging.commits import OffsetCommits
from carepath.messaging.consumer import ConsumeLoop, EventProcessor, stuck_after_s
from carepath.messaging.kafka import ensure_topics, new_producer
from carepath.messaging.lag import ConsumerLag
from carepath.messaging.relay import OutboxRelay, OutboxStore, RelayLease
from carepath.observability.client_trace import client_traces
from carepath.observability.telemetry import Metrics, setup_logging, setup_tracing
from carepath.persistence.db import make_engine
from carepath.persistence.migrations import SchemaNotMigrated, ensure_schema, has_migrations
from carepath.persistence.uow import UnitOfWork
from carepath.settings import Settings
from contracts import dlq_topic_for

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def build_app(spec: ServiceSpec[Any], settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging(spec.name, settings.log_level)
    setup_tracing(spec.name, settings.span_file)
    engine = make_engine(settings.database_url_for(spec.name))
    runtime = Runtime(
        spec=spec,
        settings=settings,
        engine=engine,
        uow=UnitOfWork(engine, outbox=spec.outbox, inbox=spec.inbox,
                       traces=client_traces(spec.metadata)),
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

    # FastAPI's native OpenTelemetry (on by default since 0.165) would add a parentless SERVER
    # span per request, beside ours (carepath/http/common.py: in the caller's or the client's
    # trace), and spans per dependency, endpoint and serialization: off, as its metrics and
    # logs are (telemetry.py has ours).
    app = FastAPI(title=f"Carepath {spec.name}", lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    app.state.access_guard = AccessGuard(_access_table(spec), TokenVerifier(settings))
    add_common_routes(app)
    add_error_mapping(app)
    add_field_policy(app, spec.name)
    # Innermost first: the body is checked as strict JSON once the gate has admitted the caller.
    app.add_middleware(StrictJson)
    app.add_middleware(AccessGate, guard=app.state.access_guard)
    add_http_tracing(app)
    app.include_router(spec.router, dependencies=[Depends(authorize)])
    if spec.extra_routes:
        spec.extra_routes(app)
    app.state.access_guard.check_coverage(app, OPEN_PATHS)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def _access_table(spec: ServiceSpec[Any]) -> Mapping[str, Rule]:
    if spec.access is not None:
        return spec.access
    if spec.name not in ACCESS:
        raise RuntimeError(f"no access policy for service {spec.name!r} in carepath/http/access.py")
    return ACCESS[spec.name]


async def _start(runtime: Runtime[Any]) -> None:
    spec, settings = runtime.spec, runtime.settings
    await _ensure_schema(runtime)
    if spec.on_start:
        await asyncio.to_thread(spec.on_start, runtime)
    await ensure_topics(settings.bootstrap, settings.topic_partitions, timeout_s=60,
                        replication=settings.topic_replication_factor,
                        extra=(dlq_topic_for(spec.name),))
    abilities = await probe_abilities(settings.bootstrap)
    log.info("broker abilities: %s", abilities)
    runtime.producer = new_producer(settings.bootstrap, idempotent=abilities.idempotent_producer)
    await runtime.producer.start()
    runtime.relay = OutboxRelay(
        store=OutboxStore(runtime.engine, spec.outbox),
        lease=RelayLease(runtime.engine, spec.name),
        producer=runtime.producer,
        metrics=runtime.metrics,
        batch_size=settings.relay_batch_size,
        idle_poll_s=settings.relay_idle_poll_s,
        idle_poll_max_s=settings.relay_idle_poll_max_s,
        max_backoff_s=settings.retry_max_backoff_s,
        retention=timedelta(days=settings.outbox_retention_days),
    )
    runtime.uow.on_commit(runtime.relay.wake_soon)
    for plugin in settings.plugins:
        importlib.import_module(plugin).install(runtime)
        log.warning("plugin %s installed", plugin)
    runtime.tasks.append(asyncio.create_task(runtime.relay.run(), name="outbox-relay"))
    for worker in spec.workers:
        runtime.tasks.append(asyncio.create_task(worker(runtime), name=worker.__name__))
    if spec.handlers.topics():
        runtime.broker, runtime.consuming = _subscribe(runtime, abilities)
        await runtime.broker.start()
        runtime.consuming.start()
    log.info("service started", extra={"event_type": spec.name})


async def _ensure_schema(runtime: Runtime[Any]) -> None:
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


def _subscribe(runtime: Runtime[Any], abilities: BrokerAbilities
               ) -> tuple[KafkaBroker, ConsumeLoop]:
    spec, settings = runtime.spec, runtime.settings
    waits = abilities.fetch_waits(fetch_max_wait_ms=settings.fetch_max_wait_ms,
                                  poll_ms=settings.consume_batch_timeout_ms)
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
    # A list: FastStream takes a comma-separated string for one host.
    broker = KafkaBroker(settings.bootstrap.split(","), logger=None)
    # No handler: FastStream runs the consumer (MANUAL: no auto-commit), ConsumeLoop its batches.
    subscriber = broker.subscriber(
        *spec.handlers.topics(),
        group_id=f"carepath.{spec.name}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=waits.fetch_max_wait_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=max(settings.consumer_session_timeout_ms // 4, 100),
    )
    lag = ConsumerLag(runtime.metrics, lambda: subscriber.consumer,
                      end_offsets=abilities.exact_end_offsets)
    runtime.tasks.append(asyncio.create_task(lag.run(), name="consumer-lag"))
    commits = runtime.commits = OffsetCommits(lambda: subscriber.consumer)
    runtime.tasks.append(asyncio.create_task(commits.run(), name="offset-commits"))

    def processed(last: list[ConsumerRecord[bytes, bytes]]) -> None:
        commits.processed(last)  # committed in the background (commits.py)
        for record in last:
            lag.processed(record)

    async def restart() -> None:
        """A new consumer in place of a stuck one (ConsumeLoop says when). The old one leaves
        the group if it can in STOP_TIMEOUT_S; else it is dropped (the group's session timeout
        removes it)."""
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await subscriber.stop()
        except TimeoutError:
            log.warning("the stuck consumer did not stop in %ss; starting a new one anyway",
                        STOP_TIMEOUT_S)
        await subscriber.start()

    return broker, ConsumeLoop(lambda: subscriber.consumer, processor,
                               max_records=settings.consume_batch_max,
                               poll_ms=waits.poll_ms, processed=processed, restart=restart,
                               stuck_s=settings.consumer_stuck_after_s
                               or stuck_after_s(settings.consumer_session_timeout_ms))


async def _stop(runtime: Runtime[Any]) -> None:
    if runtime.consuming is not None:
        await runtime.consuming.stop()
    if runtime.commits is not None:
        await runtime.commits.flush()
    if runtime.broker is not None:
        await runtime.broker.stop()
    if runtime.relay is not None:
        runtime.relay.stop()
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    await _flush(runtime)
    runtime.uow.close()
    runtime.engine.dispose()


async def _flush(runtime: Runtime[Any]) -> None:
    """Publish what is committed, then close the producer. An idempotent producer retries a
    send until the broker answers, so a broker that is down gets FLUSH_TIMEOUT_S: what it has
    not acknowledged stays unpublished in the outbox and goes out after the restart."""
    try:
        async with asyncio.timeout(FLUSH_TIMEOUT_S):
            if runtime.relay is not None:
                await runtime.relay.drain()
            if runtime.producer is not None:
                await runtime.producer.stop()
    except TimeoutError:
        log.warning("the broker did not acknowledge in %ss; unpublished events stay in the "
                    "outbox", FLUSH_TIMEOUT_S)
        if runtime.relay is not None:
            runtime.relay.lease.release()
