"""What a service is (its spec) and what it runs with (its runtime), shared by the app factory,
the HTTP routes and the service packages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from faststream.kafka import KafkaBroker
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from carepath.access import Rule
from carepath.client_trace import SubjectOf
from carepath.consumer import EventHandlers
from carepath.outbox import OutboxRelay
from carepath.settings import Settings
from carepath.telemetry import Metrics
from carepath.uow import UnitOfWork


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
    # The client a request is about when its path names something else (a session, a
    # proposal), so that a command without trace headers continues the client's trace.
    trace_subject: SubjectOf | None = None


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
