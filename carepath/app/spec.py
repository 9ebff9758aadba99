"""What a service is (its spec) and what it runs with (its runtime), shared by the app factory,
the HTTP routes and the service packages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from faststream.kafka import KafkaBroker
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from carepath.http.access import Rule
from carepath.messaging.commits import OffsetCommits
from carepath.messaging.consumer import ConsumeLoop, EventHandlers, Incoming
from carepath.messaging.relay import OutboxRelay
from carepath.observability.client_trace import PathLookup
from carepath.observability.telemetry import Metrics
from carepath.persistence.uow import Transaction, UnitOfWork
from carepath.settings import Settings

DepsT = TypeVar("DepsT")
D = TypeVar("D")
# A service's way to name the client of a request from its path parameters (a session, a
# proposal), read in a transaction of its own; None where the path names no client.
SubjectOf = Callable[[Transaction, Mapping[str, str]], str | None]


def _no_deps(settings: Settings) -> Any:
    return None


class BulkReplay(Protocol):
    """A read model rebuilt in bulk into empty tables (`carepath rebuild`): the same projection
    as its handlers, folded in memory in the topics' order and written in large batches, so
    that the rebuild equals, row for row, what the handlers build one fetched batch at a time.
    The rebuild keeps the inbox; the replay keeps the views."""

    def apply(self, events: Sequence[Incoming]) -> None:
        """Fold these events (new to the read model, decoded, in order)."""
        ...

    def close(self) -> None:
        """Write what is still in memory."""
        ...


@dataclass
class ServiceSpec(Generic[DepsT]):
    """What a service is. `DepsT` is what its handlers, endpoints and workers work from (its
    validated configuration: one typed Deps per service, in `services/<name>/deps.py`)."""

    name: str
    metadata: MetaData
    outbox: Any
    inbox: Any
    router: APIRouter
    handlers: EventHandlers = field(default_factory=EventHandlers)
    make_deps: Callable[[Settings], DepsT] = _no_deps
    on_start: Callable[[Runtime[DepsT]], None] | None = None
    workers: tuple[Callable[[Runtime[DepsT]], Coroutine[Any, Any, None]], ...] = ()
    extra_routes: Callable[[FastAPI], None] | None = None
    # Who may call each endpoint; None: this service's rows of carepath/http/access.py.
    access: Mapping[str, Rule] | None = None
    # The client a request is about when its path names something else (a session, a
    # proposal), so that a command without trace headers continues the client's trace.
    trace_subject: SubjectOf | None = None
    # A read model's rebuild in bulk (into an empty database); None: its handlers replay.
    bulk_replay: Callable[[Engine, DepsT], BulkReplay] | None = None


@dataclass
class Runtime(Generic[DepsT]):
    spec: ServiceSpec[DepsT]
    settings: Settings
    engine: Engine
    uow: UnitOfWork
    metrics: Metrics
    deps: DepsT
    producer: AIOKafkaProducer | None = None
    broker: KafkaBroker | None = None
    relay: OutboxRelay | None = None
    commits: OffsetCommits | None = None
    consuming: ConsumeLoop | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def path_lookup(self) -> PathLookup | None:
        """The service's `trace_subject`, in a read-only transaction (blocking)."""
        subject_of = self.spec.trace_subject
        if subject_of is None:
            return None

        def look_up(params: Mapping[str, str]) -> str | None:
            with self.uow.transaction() as tx:
                return subject_of(tx, params)

        return look_up


# The dependencies below are `async def` although they only read app state: FastAPI runs a
# plain `def` dependency in a worker thread, a thread hop per dependency per request.
async def get_runtime(request: Request) -> Runtime[Any]:
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime[Any], Depends(get_runtime)]


def deps_of(kind: type[D]) -> Any:
    """A FastAPI dependency giving an endpoint its service's Deps, typed: a service declares
    `DepsDep = Annotated[PlacementDeps, deps_of(PlacementDeps)]` once (services/<name>/deps.py)
    and its endpoints take `deps: DepsDep` — no casts."""

    async def get(request: Request) -> D:
        deps = request.app.state.runtime.deps
        if not isinstance(deps, kind):
            raise TypeError(f"this service's deps are {type(deps).__name__}, not {kind.__name__}")
        return deps

    return Depends(get)
