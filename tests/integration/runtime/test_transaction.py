"""A unit of work's transaction (carepath/persistence/uow.py) on the suite's real database: what
its repositories keep for the commit is written as it commits, each once, before the ORM's
flush and the outbox; an ORM session is made only for code that asks for one, shares the
transaction's connection and rolls back with it; the consume path begins no session at all.
Placement's tables serve: its client chains are kept for the commit, its notes are ORM rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Table, event, func, select
from sqlalchemy.orm import Session

from carepath.persistence.uow import Transaction, UnitOfWork
from contracts import CausalLink
from services.placement import store
from services.placement.store import SqlRepository
from tests.conftest import DatabaseFactory

REF = "c-transaction1"
AT = datetime(2026, 12, 5, 9, tzinfo=UTC)


@pytest.fixture
def uow(databases: DatabaseFactory) -> Iterator[UnitOfWork]:
    uow = UnitOfWork(databases.engine("transaction", store.metadata), outbox=store.outbox,
                     inbox=store.inbox)
    yield uow
    uow.close()


@pytest.fixture
def sessions_begun() -> Iterator[list[Session]]:
    """Every ORM session that begins a transaction, or is asked to, while the test runs."""
    begun: list[Session] = []

    def seen(session: Session, _transaction: Any) -> None:
        begun.append(session)

    event.listen(Session, "after_transaction_create", seen)
    yield begun
    event.remove(Session, "after_transaction_create", seen)


NOTES: Table = store.NoteRow.__table__  # type: ignore[attr-defined]


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def stored(uow: UnitOfWork) -> list[int]:
    """Placement's client chains, notes and outbox rows."""
    with uow.engine.connect() as conn:
        return [count(conn, table) for table in (store.SQL.chain, NOTES, store.outbox)]


def write_chain_and_note(tx: Transaction) -> None:
    repo = SqlRepository(tx)
    repo.remember(REF, CausalLink(event_id=uuid.uuid4(), correlation_id=uuid.uuid4()))
    repo.add_note(client_ref=REF, site_id="boston", about="transition", reason_code=None,
                  written_by="nurse-17", text="a note", at=AT)


def test_what_is_kept_for_the_commit_is_written_once_each_in_order_before_the_flush(
        uow: UnitOfWork) -> None:
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        tx.before_commit(second)  # asked for by a callback: it runs too

    def second() -> None:
        calls.append(f"second, {count(tx.connection, NOTES)} notes in the transaction")

    with uow.transaction() as tx:
        write_chain_and_note(tx)
        tx.before_commit(first)
        tx.before_commit(first)
        assert calls == []  # not before the commit
    assert calls == ["first", "second, 0 notes in the transaction"]  # the ORM flushes after
    assert stored(uow) == [1, 1, 0]


def test_an_orm_session_shares_the_transaction_and_rolls_back_with_it(
        uow: UnitOfWork) -> None:
    with pytest.raises(RuntimeError), uow.transaction() as tx:
        write_chain_and_note(tx)
        tx.session.flush()  # the note is in the transaction, on its connection
        assert count(tx.connection, NOTES) == 1
        raise RuntimeError("rolled back")
    assert stored(uow) == [0, 0, 0]

    def failing() -> None:
        raise RuntimeError("a write kept for the commit failed")

    with pytest.raises(RuntimeError), uow.transaction() as tx:
        write_chain_and_note(tx)
        tx.before_commit(failing)
    assert stored(uow) == [0, 0, 0]  # nothing of it: neither the chain nor the note

    with uow.transaction() as tx:
        write_chain_and_note(tx)
        note = tx.session.scalars(select(store.NoteRow)).one()  # flushed first, then read
    assert (note.text, note.written_by) == ("a note", "nurse-17")  # not expired by the commit
    assert stored(uow) == [1, 1, 0]


def test_the_consume_path_begins_no_orm_session(
        uow: UnitOfWork, sessions_begun: list[Session]) -> None:
    def apply(tx: Transaction) -> None:
        SqlRepository(tx).remember(REF, CausalLink(event_id=uuid.uuid4(),
                                                   correlation_id=uuid.uuid4()))

    assert uow.consume_batch("carepath.test", [(uuid.uuid4(), apply), (uuid.uuid4(), apply)]
                             ) == [True, True]
    assert stored(uow) == [1, 0, 0]
    assert sessions_begun == []
