"""The consume connection (`UnitOfWork._consuming`, carepath/persistence/uow.py) on the suite's
real database: transactions that follow each other run on one connection, kept out of the pool
and committed as any; kept idle for too long, or after a failure, it goes back to the pool and
the next transaction takes another; a second consumer at the same moment takes a pooled one."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from carepath.messaging.retry import is_transient
from carepath.persistence.db import runtime_tables
from carepath.persistence.uow import Transaction, UnitOfWork
from tests.conftest import DatabaseFactory

CONSUMER = "carepath.test"


@pytest.fixture
def uow(databases: DatabaseFactory) -> Any:
    metadata = MetaData()
    outbox, inbox = runtime_tables(metadata)
    uow = UnitOfWork(databases.engine("kept", metadata), outbox=outbox, inbox=inbox)
    yield uow
    uow.close()


def driver_of(uow: UnitOfWork, seen: list[Any] | None = None) -> Any:
    """Consume one event; the driver connection it ran on."""
    found: list[Any] = []

    def apply(tx: Transaction) -> None:
        found.append(tx.connection.connection.driver_connection)
        if seen is not None:
            seen.append(found[-1])

    assert uow.consume_batch(CONSUMER, [(uuid.uuid4(), apply)]) == [True]
    return found[0]


def checked_out(uow: UnitOfWork) -> int:
    """The engine's connections out of its pool (a `QueuePool`, on SQLite files too)."""
    return int(uow.engine.pool.checkedout())  # type: ignore[attr-defined]


def recorded(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one())


def checkouts(uow: UnitOfWork) -> list[None]:
    """A list growing by one at each checkout from the engine's pool."""
    taken: list[None] = []
    event.listen(uow.engine, "checkout", lambda *_: taken.append(None))
    return taken


def test_transactions_that_follow_each_other_share_a_kept_connection_and_commit(
        uow: UnitOfWork) -> None:
    taken = checkouts(uow)
    first = driver_of(uow)
    assert all(driver_of(uow) is first for _ in range(5))
    assert len(taken) == 1
    assert checked_out(uow) == 1  # kept out of the pool between transactions
    assert recorded(uow.engine) == 6  # committed: seen on another connection
    uow.close()
    assert checked_out(uow) == 0


def test_kept_idle_too_long_it_goes_back_to_the_pool(uow: UnitOfWork) -> None:
    uow.keep_idle_s = 0.05
    taken = checkouts(uow)
    driver_of(uow)
    driver_of(uow)
    time.sleep(0.1)
    driver_of(uow)
    assert len(taken) == 2  # given back after the pause and taken again (the pool pings it)
    assert checked_out(uow) == 1


def test_after_a_failure_the_next_transaction_takes_another_connection(uow: UnitOfWork) -> None:
    driver_of(uow)

    def fails(tx: Transaction) -> None:
        raise RuntimeError("a handler's failure")

    with pytest.raises(RuntimeError):
        uow.consume_batch(CONSUMER, [(uuid.uuid4(), fails)])
    assert checked_out(uow) == 0
    assert recorded(uow.engine) == 1  # the failed transaction wrote nothing
    driver_of(uow)
    assert checked_out(uow) == 1


def test_a_kept_connection_the_server_closed_fails_once_as_transient_then_is_replaced(
        uow: UnitOfWork) -> None:
    if uow.engine.dialect.name != "postgresql":
        pytest.skip("a server's backend to terminate is PostgreSQL's")
    kept = driver_of(uow)
    url = uow.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (kept.info.backend_pid,))
    with pytest.raises(OperationalError) as failed:
        driver_of(uow)
    assert is_transient(failed.value)
    assert driver_of(uow) is not kept
    assert recorded(uow.engine) == 2


def test_a_second_consumer_at_the_same_moment_takes_a_pooled_connection(
        uow: UnitOfWork) -> None:
    inside, release = threading.Event(), threading.Event()
    drivers: list[Any] = []

    def slow(tx: Transaction) -> None:
        drivers.append(tx.connection.connection.driver_connection)
        inside.set()
        release.wait(5)

    thread = threading.Thread(target=uow.consume_batch, args=(CONSUMER, [(uuid.uuid4(), slow)]))
    thread.start()
    assert inside.wait(5)
    try:
        other = driver_of(uow)  # while the first holds the kept connection
    finally:
        release.set()
        thread.join(5)
    assert other is not drivers[0]
    assert recorded(uow.engine) == 2
