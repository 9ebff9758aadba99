"""One service's event consumption in memory, for tests: envelopes become the Kafka records a
broker would deliver (the relay's bytes and headers) and go through the real
`EventProcessor.process_batch` — decode, handler lookup, inbox (`consume_batch`, or
`consume_once` with retries after a failed batch), handler, outbox — with no broker. What would
be dead-lettered is kept, not sent (the counterpart of FastStream's `TestKafkaBroker`).

    with EventHarness(SPEC, deps=fakes) as service:
        fed = service.feed(envelope)
        assert fed.outcomes == [Outcome.applied] and fed.emitted[0].type == ...

The API is synchronous: each feed runs on the harness's own event loop in its own thread, so it
can be called from plain tests, from async tests (the pytest-asyncio loop keeps its thread) and
from `asyncio.to_thread`."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from threading import Lock
from types import TracebackType
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from carepath.app.spec import ServiceSpec
from carepath.messaging.consumer import EventProcessor
from carepath.observability.client_trace import client_traces
from carepath.observability.telemetry import Metrics
from carepath.persistence.db import make_engine
from carepath.persistence.uow import UnitOfWork
from carepath.settings import Settings
from contracts import (
    CONTENT_TYPE,
    EVENT_TYPES,
    Envelope,
    InvalidEvent,
    UnknownEventType,
    topic_for,
)

T = TypeVar("T")
DLQ_HEADER = "carepath.dlq."
_FROM_SPEC: Any = object()  # deps not given: the service's own, from `spec.make_deps`


class Outcome(StrEnum):
    """What became of one fed record."""

    applied = "applied"  # the handler ran and its transaction committed (inbox row added)
    repeat = "repeat"  # the inbox already had it: no effect
    ignored = "ignored"  # this service has no handler for its type
    dead_lettered = "dead_lettered"


@dataclass(frozen=True)
class DeadLetter:
    """A record the processor sent to its DLQ topic (the fake producer kept it)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    error: BaseException

    @property
    def reason(self) -> str:
        return self.headers[DLQ_HEADER + "reason"]

    @property
    def error_class(self) -> str:
        return self.headers[DLQ_HEADER + "error_class"]

    @property
    def original(self) -> tuple[str, int]:
        """The original topic and offset."""
        return (self.headers[DLQ_HEADER + "original_topic"],
                int(self.headers[DLQ_HEADER + "original_offset"]))


@dataclass
class Fed:
    """What one `feed` did, per record in the order given, and what it emitted."""

    outcomes: list[Outcome]
    emitted: list[Envelope]
    dead_letters: list[DeadLetter]

    @property
    def applied(self) -> list[bool]:
        """Per record: True where it had an effect (False: a repeat, ignored or dead)."""
        return [outcome is Outcome.applied for outcome in self.outcomes]


class DeadLettered(AssertionError):
    """A feed dead-lettered a record it was not allowed to (the handler's error is the
    cause)."""


@dataclass
class _KeptSends:
    """The producer `EventProcessor.dead_letter` sends with: it keeps what it is given."""

    sent: list[tuple[str, bytes | None, bytes, dict[str, str]]] = field(default_factory=list)

    async def send_and_wait(self, topic: str, value: bytes | None = None,
                            key: bytes | None = None,
                            headers: Sequence[tuple[str, bytes]] = ()) -> None:
        self.sent.append((topic, key, value or b"",
                          {k: v.decode(errors="replace") for k, v in headers}))


class _Processor(EventProcessor):
    """The real processor; its dead letters also keep the error that caused them."""

    errors: list[BaseException]

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes],
                          error: BaseException) -> None:
        self.errors.append(error)
        await super().dead_letter(record, error)


class _CountingUnitOfWork(UnitOfWork):
    """The real unit of work; it also notes, per event, whether it was applied or a repeat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: list[tuple[str, bool]] = []
        self._lock = Lock()

    def consume_batch(self, consumer: str, events: Sequence[tuple[uuid.UUID, Any]], *,
                      before: Any = None) -> list[bool]:
        applied = super().consume_batch(consumer, events, before=before)  # raises: no commit
        with self._lock:
            self.outcomes += [(str(event_id), new)
                              for (event_id, _), new in zip(events, applied, strict=True)]
        return applied


class EventHarness:
    """A service's handlers behind its real consumer path, on a database of its own (default: a
    SQLite file in a temporary directory) or any URL or engine given (tables are created from
    the spec's metadata when missing)."""

    def __init__(self, spec: ServiceSpec, *, database: str | Engine | None = None,
                 deps: Any = _FROM_SPEC, settings: Settings | None = None,
                 max_backoff_s: float = 0.05, unknown_attempts: int | None = None) -> None:
        settings = settings or Settings()
        self.spec = spec
        self._tmp_dir: Path | None = None
        self._owns_engine = not isinstance(database, Engine)
        if isinstance(database, Engine):
            self.engine = database
        else:
            if database is None:
                self._tmp_dir = Path(tempfile.mkdtemp(prefix=f"harness-{spec.name}-"))
                database = f"sqlite:///{self._tmp_dir / f'{spec.name}.db'}"
            self.engine = make_engine(database)
        spec.metadata.create_all(self.engine)
        self.uow = _CountingUnitOfWork(self.engine, outbox=spec.outbox, inbox=spec.inbox,
                                       traces=client_traces(spec.metadata))
        self.producer = _KeptSends()
        self.metrics = Metrics(spec.name)
        self.processor = _Processor(
            service=spec.name, handlers=spec.handlers, uow=self.uow,
            producer=self.producer,  # type: ignore[arg-type]  # it only needs send_and_wait
            metrics=self.metrics,
            deps=spec.make_deps(settings) if deps is _FROM_SPEC else deps,
            max_backoff_s=max_backoff_s,
            unknown_attempts=unknown_attempts or settings.retry_unknown_attempts)
        self.processor.errors = []
        self._offsets: dict[str, int] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"harness-{spec.name}")
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what tests use ------------------------------------------------------------------

    @property
    def deps(self) -> Any:
        return self.processor.deps

    @deps.setter
    def deps(self, value: Any) -> None:
        self.processor.deps = value

    def feed(self, *envelopes: Envelope, traceparent: str | None = None,
             allow_dead_letters: bool = False) -> Fed:
        """Deliver the envelopes as one fetched batch, in order, each on its type's topic with
        the headers the relay sends (content-type; `traceparent` if given). A dead letter
        raises `DeadLettered` unless `allow_dead_letters`."""
        headers = {"content-type": CONTENT_TYPE}
        if traceparent is not None:
            headers["traceparent"] = traceparent
        records = [self._record(_topic_of(envelope), envelope.partitionkey.encode(),
                                envelope.to_bytes(), headers) for envelope in envelopes]
        return self._process(records, [str(envelope.id) for envelope in envelopes],
                             allow_dead_letters)

    def feed_raw(self, value: bytes, *, topic: str | None = None, key: bytes | None = None,
                 headers: dict[str, str] | None = None) -> Fed:
        """Deliver any bytes (a poison record, an unknown type) on `topic` (default: the first
        this service reads); dead letters are expected."""
        topic = topic or self.spec.handlers.topics()[0]
        record = self._record(topic, key, value,
                              {"content-type": CONTENT_TYPE} if headers is None else headers)
        return self._process([record], [_event_id_of(value)], allow_dead_letters=True)

    @property
    def dead_letters(self) -> list[DeadLetter]:
        """Every record dead-lettered so far."""
        return [DeadLetter(topic, key, value, headers, error) for (topic, key, value, headers),
                error in zip(self.producer.sent, self.processor.errors, strict=True)]

    def emitted(self, name: str | None = None) -> list[Envelope]:
        """Every envelope in the outbox, in commit order; only those named `name` (e.g.
        "SessionsScheduled") if given."""
        return [e for e in self._outbox_since(0) if name is None or e.event_name == name]

    def close(self) -> None:
        if self._loop is not None:
            loop = self._loop
            self._run(loop.shutdown_default_executor())
            self._thread.submit(loop.close).result()
        self._thread.shutdown()
        if self._owns_engine:
            self.engine.dispose()
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __enter__(self) -> EventHarness:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                 ) -> None:
        self.close()

    # -- how -----------------------------------------------------------------------------

    def _record(self, topic: str, key: bytes | None, value: bytes,
                headers: dict[str, str]) -> ConsumerRecord[bytes, bytes]:
        offset = self._offsets.get(topic, 0)
        self._offsets[topic] = offset + 1
        return ConsumerRecord(
            topic=topic, partition=0, offset=offset, timestamp=0,
            timestamp_type=0, key=key, value=value, checksum=None,
            serialized_key_size=len(key or b""), serialized_value_size=len(value),
            headers=[(k, v.encode()) for k, v in headers.items()])

    def _process(self, records: list[ConsumerRecord[bytes, bytes]],
                 event_ids: list[str | None], allow_dead_letters: bool) -> Fed:
        mark, letters = self._outbox_mark(), len(self.producer.sent)
        del self.uow.outcomes[:]
        self._run(self.processor.process_batch(records))
        dead = self.dead_letters[letters:]
        dead_at = {letter.original for letter in dead}
        counted = list(self.uow.outcomes)
        outcomes = []
        for record, event_id in zip(records, event_ids, strict=True):
            if (record.topic, record.offset) in dead_at:
                outcomes.append(Outcome.dead_lettered)
                continue
            found = next((i for i, (seen, _) in enumerate(counted) if seen == event_id), None)
            if found is None:
                outcomes.append(Outcome.ignored)
                continue
            outcomes.append(Outcome.applied if counted.pop(found)[1] else Outcome.repeat)
        if dead and not allow_dead_letters:
            raise DeadLettered(f"dead-lettered: {[letter.reason for letter in dead]}"
                               ) from dead[0].error
        return Fed(outcomes=outcomes, emitted=self._outbox_since(mark), dead_letters=dead)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        def run() -> T:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(work)

        return self._thread.submit(run).result()

    def _outbox_mark(self) -> int:
        seq = self.spec.outbox.c.seq
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(seq), 0))).scalar_one())

    def _outbox_since(self, mark: int) -> list[Envelope]:
        outbox = self.spec.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.payload).where(outbox.c.seq > mark)
                                .order_by(outbox.c.seq))
            return [Envelope.from_bytes(row[0]) for row in rows]


def _topic_of(envelope: Envelope) -> str:
    known = EVENT_TYPES.get(envelope.type)
    return known.topic() if known is not None else topic_for(envelope.source.split("/")[-1])


def _event_id_of(value: bytes) -> str | None:
    try:
        return str(Envelope.from_bytes(value).id)
    except (InvalidEvent, UnknownEventType):
        return None


def traceparent_of(trace_id: str) -> str:
    """A W3C traceparent header in trace `trace_id` (32 hex digits)."""
    return f"00-{trace_id}-{'0' * 15}1-01"

