"""Unit of work: a state change, the events it emits (outbox) and what it consumed (inbox),
committed in one database transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from threading import Lock
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from carepath.observability.client_trace import TRACEPARENT, ClientTraces, joins_journey, trace_id
from carepath.observability.telemetry import current_trace_headers
from carepath.persistence.db import PING_IDLE_S
from carepath.persistence.direct import run
from carepath.persistence.rows import dialect_insert, statements_of
from contracts import CONTENT_TYPE, CausalLink, Envelope, EventData, new_envelope


@dataclass(eq=False)
class Transaction:
    """One database transaction on `connection`: what consumers and commands write in it, the
    events they emit (written to the outbox as it commits), and `info`, what its repositories
    keep for its length (a `RowBatch`, what a store has read). An ORM `session` is made only
    for code that asks for one (HTTP commands and queries over SQLModel classes); the consume
    path goes without: a session's begin, flush and commit cost about a third of a one-event
    consume transaction's client CPU (measured in process on PostgreSQL: 660-790 us with a
    session on the kept connection, 460-565 without)."""

    connection: Connection
    outbox: Table
    emitted: list[Envelope] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)
    traces: ClientTraces | None = None
    staged: list[dict[str, Any]] = field(default_factory=list)  # outbox rows, written at commit
    remembered: dict[str, str] = field(default_factory=dict)  # client_ref -> trace id, this tx
    info: dict[Any, Any] = field(default_factory=dict)
    committing: list[Callable[[], None]] = field(default_factory=list)
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session in this transaction (made on first use): it flushes as the
        transaction commits and rolls it back if it fails; it never commits it."""
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False,
                                    join_transaction_mode="rollback_only")
        return self._session

    def close(self) -> None:
        """End the ORM session, if one was made (the connection is its unit of work's)."""
        if self._session is not None:
            self._session.close()

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (once, however often it is asked for) as this transaction commits,
        before the session's flush and the outbox: a repository's writes kept until then."""
        if callback not in self.committing:
            self.committing.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (once, however often it is asked for) if this transaction commits."""
        if callback not in self.committed:
            self.committed.append(callback)

    def _commit(self) -> None:
        """Everything kept for the commit, written, in order; the commit itself is the
        caller's. A callback may ask for another (a flush that emits): they run until none
        is left."""
        done = 0
        while done < len(self.committing):
            self.committing[done]()
            done += 1
        if self._session is not None:
            self._session.commit()  # a flush: the connection's transaction is not the session's
        self.write_outbox()

    def emit(
        self,
        data: EventData,
        *,
        subject: str,
        site_id: str | None,
        episode_id: uuid.UUID | None,
        cause: CausalLink | None,
        time: datetime | None = None,
    ) -> Envelope:
        envelope = new_envelope(
            data,
            subject=subject,
            site_id=site_id,
            episode_id=episode_id,
            correlation_id=cause.correlation_id if cause else None,
            causation_id=cause.event_id if cause else None,
            time=time,
        )
        headers = {"content-type": CONTENT_TYPE, **self._trace_headers(subject)}
        self.remember_trace(subject, headers)
        self.staged.append({
            "event_id": envelope.id, "event_type": envelope.type, "topic": data.topic(),
            "key": envelope.partitionkey, "payload": envelope.to_bytes(), "headers": headers,
            "created_at": datetime.now(UTC)})
        self.emitted.append(envelope)
        return envelope

    def write_outbox(self) -> None:
        """The transaction's events into the outbox, in the order emitted, in one statement
        (`executemany`; a pipeline of one round trip on PostgreSQL) built once, on the
        transaction's connection — not a statement per event. Called as it commits."""
        if self.staged:
            run(self.connection, statements_of(self.outbox).insert, self.staged)
            self.staged = []

    def _trace_headers(self, subject: str) -> dict[str, str]:
        """The current span's context; but a request that began before this service knew the
        client's trace, and now finds it, emits into the client's journey trace."""
        if self.traces is not None and joins_journey(subject):
            remembered = self.traces.headers_for(self.connection, subject)
            if remembered:
                return remembered
        return current_trace_headers()

    def remember_trace(self, client_ref: str, headers: dict[str, str]) -> None:
        """The client's journey is in this trace (carepath/observability/client_trace.py)."""
        if self.traces is None:
            return
        current = trace_id(headers.get(TRACEPARENT))
        if current is not None and self.remembered.get(client_ref) == current:
            return  # written (or found unchanged) earlier in this transaction
        cached = self.traces.remember(self.connection, client_ref, headers)
        if cached is not None:
            self.after_commit(cached)
        if current is not None:
            self.remembered[client_ref] = current


class UnitOfWork:
    keep_idle_s = PING_IDLE_S  # how long the consume connection is kept idle (`_consuming`)

    def __init__(self, engine: Engine, *, outbox: Table, inbox: Table,
                 traces: ClientTraces | None = None) -> None:
        self.engine = engine
        self.outbox = outbox
        self.inbox = inbox
        self.traces = traces
        self._listeners: list[Callable[[], None]] = []
        self._pin = Lock()  # held while a transaction runs on the kept connection
        self._kept: Connection | None = None
        self._kept_at = 0.0

    def on_commit(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    @contextmanager
    def transaction(self, *, bind: Connection | None = None) -> Iterator[Transaction]:
        """A transaction on a pooled connection, or on `bind` (the consume loop's own)."""
        with ExitStack() as stack:
            connection = bind if bind is not None else stack.enter_context(self.engine.connect())
            tx = Transaction(connection=connection, outbox=self.outbox, traces=self.traces)
            try:
                with connection.begin():
                    yield tx
                    tx._commit()
            finally:
                tx.close()
        for callback in tx.committed:
            callback()
        if tx.emitted:
            for listener in self._listeners:
                listener()

    def consume_once(
        self, consumer: str, event_id: uuid.UUID, apply: Callable[[Transaction], None]
    ) -> bool:
        """Apply an event's effect unless this consumer already did; False if it was a repeat."""
        return self.consume_batch(consumer, [(event_id, apply)])[0]

    def consume_batch(
        self, consumer: str, events: Sequence[tuple[uuid.UUID, Callable[[Transaction], None]]],
        *, before: Callable[[Transaction], None] | None = None,
    ) -> list[bool]:
        """Apply events in order in one transaction, each unless this consumer already did (one
        inbox statement); per event, False if it was a repeat. All or nothing.
        `before` runs first in the transaction (a read ahead for the batch)."""
        applied: list[bool] = []
        with self._consuming() as bind, self.transaction(bind=bind) as tx:
            connection = tx.connection
            now = datetime.now(UTC)
            new = set(run(connection, _record_new(self.inbox, connection.dialect.name), [
                {"consumer": consumer, "event_id": event_id, "processed_at": now}
                for event_id in dict.fromkeys(event_id for event_id, _ in events)]).scalars())
            if before is not None and new:
                before(tx)
            for event_id, apply in events:
                applied.append(event_id in new)
                if event_id in new:
                    apply(tx)
                    new.discard(event_id)  # a repeat later in the batch is a repeat
        return applied

    @contextmanager
    def _consuming(self) -> Iterator[Connection | None]:
        """The connection consumed events are applied on: one kept from transaction to
        transaction while they follow each other, not taken from the pool and given back for
        each (a checkout and a check-in cost about a tenth of a one-event consume transaction's
        client CPU; measured in process on PostgreSQL, `Session` on the pool against one bound
        to a kept connection: 820-990 against 660-790 us). Kept idle for longer than
        PING_IDLE_S, it goes back to the pool, whose checkout pings it; after a failure too
        (it may be the connection that failed: a retry gets another). A second consumer at the
        same moment (a test's, a tool's) gets a pooled connection."""
        if not self._pin.acquire(blocking=False):
            yield None
            return
        try:
            kept = self._kept
            if kept is not None and time.monotonic() - self._kept_at > self.keep_idle_s:
                kept.close()
                kept = self._kept = None
            if kept is None:
                kept = self._kept = self.engine.connect()
            try:
                yield kept
            except BaseException:
                self._kept = None
                kept.close()
                raise
            self._kept_at = time.monotonic()
        finally:
            self._pin.release()

    def close(self) -> None:
        """Give the kept connection back to the pool (before the engine is disposed)."""
        with self._pin:
            if self._kept is not None:
                self._kept.close()
                self._kept = None


@cache
def _record_new(inbox: Table, dialect: str) -> Any:
    """A batch's events into a consumer's inbox, learning in the same statement which were new:
    `INSERT … ON CONFLICT DO NOTHING RETURNING event_id` (PostgreSQL; SQLite since 3.35), one
    round trip where a query of the seen ones and an insert of the rest were two. A replica
    applying the same event at the same moment waits on the first one's row, then finds it
    there. Built once per inbox and dialect."""
    return dialect_insert(inbox, dialect).on_conflict_do_nothing(
        index_elements=list(inbox.primary_key)).returning(inbox.c.event_id)
