"""`run` (carepath/persistence/direct.py): statements built once, run on the driver's cursor,
give what `Connection.execute` gives — the same rows, values converted as SQLAlchemy converts
them (aware UTC timestamps, UUIDs, JSON), the same rowcounts — inside the connection's
transaction, and fail as SQLAlchemy's statements fail, without the parameters in the error."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, bindparam, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from carepath import registry
from carepath.messaging.retry import is_transient
from carepath.persistence.batch import keyed_of
from carepath.persistence.direct import run
from carepath.persistence.rows import statements_of, upsert_of
from services.journey.store import JourneyEvent
from tests.conftest import DatabaseFactory

EVENTS = JourneyEvent.__table__  # type: ignore[attr-defined]
AT = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)
BY_CLIENT = EVENTS.select().where(EVENTS.c.client_ref == bindparam("client_ref")).order_by(
    EVENTS.c.time)


def event_row(i: int, client_ref: str = "c-direct") -> dict[str, Any]:
    """A journey event row: UUIDs, text, a nullable column set and one not, a timestamp, JSON."""
    return {"id": uuid.UUID(int=i + 1), "client_ref": client_ref, "episode_id": uuid.UUID(int=99),
            "site_id": None if i % 2 else "boston", "type": "org.carepath.placement.ClientAdmitted",
            "name": "ClientAdmitted", "source": "placement", "time": AT + timedelta(minutes=i),
            "recorded_at": AT, "causation_id": None, "correlation_id": uuid.UUID(int=500 + i),
            "trace_id": None, "data": {"level": "iop", "sessions": [i, i + 1], "note": None}}


@pytest.fixture
def engine(databases: DatabaseFactory) -> Engine:
    return databases.engine("direct", registry.spec_of("journey").metadata)


def by_sqlalchemy(conn: Connection, client_ref: str) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(BY_CLIENT, {"client_ref": client_ref}).mappings()]


def test_rows_written_and_read_directly_are_sqlalchemys(engine: Engine) -> None:
    statements = statements_of(EVENTS)
    with engine.begin() as conn:
        for i in range(3):
            run(conn, statements.insert, event_row(i))
            conn.execute(statements.insert, event_row(i + 10, "c-core"))
    with engine.begin() as conn:
        read = run(conn, BY_CLIENT, {"client_ref": "c-direct"}).mappings()
        assert read == [event_row(i) for i in range(3)] == by_sqlalchemy(conn, "c-direct")
        assert run(conn, BY_CLIENT, {"client_ref": "c-core"}).mappings() == by_sqlalchemy(
            conn, "c-core") == [event_row(i + 10, "c-core") for i in range(3)]
        assert read[0]["time"].tzinfo is not None and isinstance(read[0]["id"], uuid.UUID)
        assert run(conn, statements.get, {"key_id": uuid.UUID(int=2)}).mappings() == [
            event_row(1)]
        found = run(conn, keyed_of(EVENTS).keys_in, {"keys": [uuid.UUID(int=1),
                                                               uuid.UUID(int=3),
                                                               uuid.UUID(int=404)]})
        assert sorted(found.scalars()) == [uuid.UUID(int=1), uuid.UUID(int=3)]


def test_updates_count_their_rows_one_set_of_parameters_or_many(engine: Engine) -> None:
    statements = statements_of(EVENTS)
    with engine.begin() as conn:
        for i in range(3):
            run(conn, statements.insert, event_row(i))
        assert run(conn, statements.update, {"key_id": uuid.UUID(int=404),
                                             "name": "x"}).rowcount == 0
        assert run(conn, statements.update, {"key_id": uuid.UUID(int=1),
                                             "name": "Renamed"}).rowcount == 1
        run(conn, statements.update, [{"key_id": uuid.UUID(int=i + 1), "site_id": "salem"}
                                      for i in (1, 2)])
        run(conn, statements.delete, {"key_id": uuid.UUID(int=3)})
    with engine.connect() as conn:
        rows = by_sqlalchemy(conn, "c-direct")
    assert [(row["name"], row["site_id"]) for row in rows] == [
        ("Renamed", "boston"), ("ClientAdmitted", "salem")]


def test_an_upsert_and_an_insert_returning_rows_as_sqlalchemy(engine: Engine) -> None:
    spec = registry.spec_of("journey")
    traces = spec.metadata.tables["client_trace"]
    upsert = upsert_of(traces, engine.dialect.name)
    with engine.begin() as conn:
        for parent in ("00-a", "00-b"):
            run(conn, upsert, {"client_ref": "c-direct", "traceparent": parent,
                               "updated_at": AT})
        assert conn.execute(text("SELECT traceparent FROM client_trace")).scalar() == "00-b"
        inbox = spec.inbox
        returning = statements_of(inbox).insert.returning(inbox.c.event_id)
        first = run(conn, returning, {"consumer": "c", "event_id": uuid.UUID(int=7),
                                      "processed_at": AT})
        assert first.scalar_one() == uuid.UUID(int=7) and first.keys == ["event_id"]


def test_a_naive_timestamp_is_bound_as_utc_whatever_the_sessions_time_zone(
        engine: Engine) -> None:
    naive = {**event_row(0), "time": AT.replace(tzinfo=None)}
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        run(conn, statements_of(EVENTS).insert, naive)
    with engine.connect() as conn:
        assert by_sqlalchemy(conn, "c-direct")[0]["time"] == AT


def test_it_runs_in_the_connections_transaction_begun_if_need_be(engine: Engine) -> None:
    with engine.connect() as conn:
        run(conn, statements_of(EVENTS).insert, event_row(0))
        assert conn.in_transaction()
        conn.rollback()
    with engine.connect() as conn:
        assert by_sqlalchemy(conn, "c-direct") == []


def test_a_key_taken_is_an_integrity_error_that_names_no_parameter(engine: Engine) -> None:
    row = event_row(0, client_ref="c-phi-7f3a")
    with engine.begin() as conn:
        run(conn, statements_of(EVENTS).insert, row)
    with pytest.raises(IntegrityError) as failed, engine.begin() as conn:
        run(conn, statements_of(EVENTS).insert, row)
    assert "c-phi-7f3a" not in str(failed.value)


def test_a_connection_lost_is_a_transient_error_and_the_next_transaction_works(
        engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server's backend to terminate is PostgreSQL's")
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with pytest.raises(OperationalError) as failed:
            run(conn, statements_of(EVENTS).insert, event_row(0))
    assert is_transient(failed.value) and failed.value.connection_invalidated
    with engine.begin() as conn:
        run(conn, statements_of(EVENTS).insert, event_row(0))
    with engine.connect() as conn:
        assert len(by_sqlalchemy(conn, "c-direct")) == 1


def test_a_listener_to_cursor_executions_still_sees_every_statement(engine: Engine) -> None:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper())

    with engine.begin() as conn:
        run(conn, statements_of(EVENTS).insert, event_row(0))
        run(conn, BY_CLIENT, {"client_ref": "c-direct"})
    assert seen == ["INSERT", "SELECT"]
