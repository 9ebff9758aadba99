"""B2's durable writes, in plain SQL through the database's own driver (sqlite3 or psycopg, no
framework): per fetched batch, one transaction writes what Carepath writes per event — an
inbox row (a repeat is skipped), one state row per event (an upsert by key) and an outbox row
per event sent on — and, once the batch is published, one statement marks its outbox rows
sent. This is the floor of the pipeline's design: the same hops and the same durable writes,
with nothing else."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inbox (consumer VARCHAR(60) NOT NULL, event_id VARCHAR(64) NOT"
    " NULL, processed_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (consumer, event_id))",
    "CREATE TABLE IF NOT EXISTS state (key VARCHAR(64) PRIMARY KEY, events INTEGER NOT NULL,"
    " last_event_id VARCHAR(64) NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (seq {serial} PRIMARY KEY, event_id VARCHAR(64) NOT NULL"
    " UNIQUE, topic VARCHAR(200) NOT NULL, key VARCHAR(64) NOT NULL, payload {blob} NOT NULL,"
    " created_at DOUBLE PRECISION NOT NULL, published_at DOUBLE PRECISION)",
    "CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at)",
)
INBOX = ("INSERT INTO inbox (consumer, event_id, processed_at) VALUES ({p}, {p}, {p})"
         " ON CONFLICT DO NOTHING")
STATE = ("INSERT INTO state (key, events, last_event_id, updated_at) VALUES ({p}, 1, {p}, {p})"
         " ON CONFLICT (key) DO UPDATE SET events = state.events + 1,"
         " last_event_id = excluded.last_event_id, updated_at = excluded.updated_at")
OUTBOX = ("INSERT INTO outbox (event_id, topic, key, payload, created_at)"
          " VALUES ({p}, {p}, {p}, {p}, {p})")


@dataclass(frozen=True)
class Consumed:
    event_id: str
    key: str


@dataclass(frozen=True)
class Emitted:
    event_id: str
    topic: str
    key: str
    payload: bytes


class DurableStore:
    """One stage's database: `apply` a batch in one transaction, then `mark_sent`."""

    def __init__(self, url: str, consumer: str) -> None:
        self.consumer = consumer
        self.postgres = url.startswith("postgresql")
        self.param = "%s" if self.postgres else "?"
        if self.postgres:  # psycopg takes the libpq form, without SQLAlchemy's "+driver"
            self.connection: Any = psycopg.connect(re.sub(r"^postgresql\+\w+://",
                                                          "postgresql://", url))
        else:
            self.connection = sqlite3.connect(url.split("///", 1)[-1], isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
        serial, blob = ("BIGSERIAL", "BYTEA") if self.postgres else ("INTEGER", "BLOB")
        with self._transaction() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement.format(serial=serial, blob=blob))

    def apply(self, consumed: Sequence[Consumed], emitted: Sequence[Emitted], now: float
              ) -> None:
        """A fetched batch's writes, in one transaction: one inbox query says which events
        this consumer already applied (they are skipped), then one statement a table."""
        p = self.param
        with self._transaction() as cursor:
            ids = [c.event_id for c in consumed] or [""]
            seen = {row[0] for row in cursor.execute(
                f"SELECT event_id FROM inbox WHERE consumer = {p} AND event_id IN "
                f"{self._list(len(ids))}", [self.consumer, *ids]).fetchall()}
            fresh = [c for c in consumed if c.event_id not in seen]
            cursor.executemany(INBOX.format(p=p),
                               [(self.consumer, c.event_id, now) for c in fresh])
            cursor.executemany(STATE.format(p=p), [(c.key, c.event_id, now) for c in fresh])
            if emitted:
                cursor.executemany(OUTBOX.format(p=p), [
                    (e.event_id, e.topic, e.key, e.payload, now) for e in emitted])

    def mark_sent(self, event_ids: Sequence[str], now: float) -> None:
        """The relay's mark: the batch's outbox rows are published."""
        if event_ids:
            p = self.param
            with self._transaction() as cursor:
                cursor.execute(f"UPDATE outbox SET published_at = {p} WHERE event_id IN "
                               f"{self._list(len(event_ids))}", [now, *event_ids])

    def counts(self) -> dict[str, int]:
        """Rows per table, events folded into state, and outbox rows not yet marked sent."""
        queries = {table: f"SELECT count(*) FROM {table}" for table in ("inbox", "state", "outbox")}
        queries |= {"state_events": "SELECT coalesce(sum(events), 0) FROM state",
                    "unpublished": "SELECT count(*) FROM outbox WHERE published_at IS NULL"}
        with self._transaction() as cursor:
            return {name: int(cursor.execute(query).fetchall()[0][0])
                    for name, query in queries.items()}

    def _list(self, n: int) -> str:
        return "(" + ", ".join([self.param] * n) + ")"

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        if not self.postgres:
            cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            self.connection.rollback() if self.postgres else cursor.execute("ROLLBACK")
            raise
        self.connection.commit() if self.postgres else cursor.execute("COMMIT")
