"""`insert_rows` (carepath/persistence/batch.py): a live transaction's many new rows through
`COPY` on PostgreSQL, stored as `executemany` stores them, failing as SQLAlchemy's statements
fail (the consumer's retry tells a database that went away by that)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from carepath import registry
from carepath.messaging.retry import is_transient
from carepath.persistence.batch import COPY_FROM_ROWS, insert_rows
from carepath.persistence.rows import statements_of
from services.scheduling.store import _sessions
from tests.conftest import DatabaseFactory

AT = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)


def plan(prefix: str, count: int) -> list[dict[str, Any]]:
    """Sessions as scheduling's plan writes them: every column but attendance, one None."""
    episode = uuid.UUID(int=7)
    return [{"session_id": f"{prefix}-{i}", "client_ref": "c-insert-rows", "episode_id": episode,
             "site_id": "boston", "level": "iop", "kind": "group",
             "modality": None if i % 2 else "telehealth", "starts_at": AT + timedelta(days=i),
             "duration_min": 90, "status": "scheduled", "scheduled_event_id": uuid.UUID(int=i),
             "correlation_id": uuid.UUID(int=1000 + i)} for i in range(count)]


@pytest.fixture
def engine(databases: DatabaseFactory) -> Engine:
    return databases.engine("insert-rows", registry.spec_of("scheduling").metadata)


def stored(engine: Engine, prefix: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(_sessions).where(_sessions.c.session_id.like(f"{prefix}-%"))
                            .order_by(_sessions.c.starts_at)).mappings().all()
    return [{**row, "session_id": row["session_id"].split("-", 1)[1]} for row in rows]


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS, 50])
def test_rows_are_stored_as_executemany_stores_them(engine: Engine, count: int) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session.connection(), _sessions, plan("copied", count))
        session.connection().execute(statements_of(_sessions).insert, plan("plain", count))
    copied = stored(engine, "copied")
    assert len(copied) == count
    assert copied == stored(engine, "plain")
    assert copied[0]["starts_at"] == AT and copied[0]["attendance_recorded_at"] is None


def test_a_key_already_taken_fails_as_an_integrity_error_and_writes_nothing(
        engine: Engine) -> None:
    rows = plan("taken", COPY_FROM_ROWS)
    with Session(engine) as session, session.begin():
        insert_rows(session.connection(), _sessions, rows[:1])
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_rows(session.connection(), _sessions, rows)
    assert len(stored(engine, "taken")) == 1


def test_a_connection_lost_mid_copy_is_a_transient_error_and_the_next_transaction_works(
        engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite's executemany fails as SQLAlchemy's own")
    with Session(engine) as session:
        session.begin()
        backend = session.connection().execute(text("SELECT pg_backend_pid()")).scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with pytest.raises(OperationalError) as failed:  # from the COPY, not the rollback
            insert_rows(session.connection(), _sessions, plan("lost", COPY_FROM_ROWS))
    assert is_transient(failed.value) and failed.value.connection_invalidated
    with Session(engine) as session, session.begin():
        insert_rows(session.connection(), _sessions, plan("lost", COPY_FROM_ROWS))
    assert len(stored(engine, "lost")) == COPY_FROM_ROWS


def test_a_naive_timestamp_is_stored_as_utc_whatever_the_sessions_time_zone(
        engine: Engine) -> None:
    rows = plan("naive", COPY_FROM_ROWS)
    for row in rows:
        row["starts_at"] = row["starts_at"].replace(tzinfo=None)  # UtcDateTime: naive is UTC
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":  # what a COPY's text would be read in
            session.connection().execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        insert_rows(session.connection(), _sessions, rows)
    assert [row["starts_at"] for row in stored(engine, "naive")] == [
        AT + timedelta(days=i) for i in range(COPY_FROM_ROWS)]
