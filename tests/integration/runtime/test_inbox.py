"""The inbox on the suite's real database (SQLite or PostgreSQL): a batch's events are recorded
and sorted into new and seen in one statement, and two replicas applying the same event at
the same moment apply it once — the second waits on the first one's row, then finds it."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import MetaData

from carepath.persistence.db import make_engine, runtime_tables
from carepath.persistence.uow import Transaction, UnitOfWork
from tests.conftest import DatabaseFactory

CONSUMER = "carepath.test"


def test_two_replicas_applying_one_event_at_once_apply_it_once(
        databases: DatabaseFactory) -> None:
    metadata = MetaData()
    outbox, inbox = runtime_tables(metadata)
    url = databases.new("inbox")
    first, second = make_engine(url), make_engine(url)  # two replicas' pools
    metadata.create_all(first)
    event, other = uuid.uuid4(), uuid.uuid4()
    applied: list[str] = []
    started = threading.Event()

    def slow(tx: Transaction) -> None:
        applied.append("first")
        started.set()
        time.sleep(0.3)  # the first replica's transaction stays open meanwhile

    def consume(uow: UnitOfWork, events: list[uuid.UUID], wait: bool) -> list[bool]:
        if wait:
            started.wait(5)
        return uow.consume_batch(CONSUMER, [
            (e, slow if not wait else (lambda tx, e=e: applied.append(f"second {e}")))
            for e in events])

    try:
        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(consume, UnitOfWork(first, outbox=outbox, inbox=inbox),
                              [event], False)
            two = pool.submit(consume, UnitOfWork(second, outbox=outbox, inbox=inbox),
                              [event, other, other], True)
            assert one.result() == [True]
            assert two.result() == [False, True, False]  # seen; new; a repeat in the batch
        assert applied == ["first", f"second {other}"]
        assert UnitOfWork(first, outbox=outbox, inbox=inbox).consume_batch(
            CONSUMER, [(event, slow), (other, slow)]) == [False, False]
    finally:
        first.dispose()
        second.dispose()
