"""carepath/persistence/rows.py: plain rows kept with Core statements built once — each row
kind has exactly its table's columns, a saved row is inserted once and updated only when it
changed, and rows read are the ones later saved back; a batch reads a key once and writes each
table once as its transaction commits."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carepath.persistence.batch import RowBatch
from carepath.persistence.db import make_engine
from carepath.persistence.rows import RowStore
from carepath.persistence.uow import Transaction, UnitOfWork
from services.interop.store import TABLE_OF as INTEROP
from services.journey.store import TABLE_OF as JOURNEY
from services.notification import store as notification
from services.notification.repository import FamilyMember, KnownClient, Notification


def _transaction(engine: Engine) -> AbstractContextManager[Transaction]:
    return UnitOfWork(engine, outbox=notification.outbox, inbox=notification.inbox).transaction()


ROW_KINDS = [*JOURNEY.items(), *INTEROP.items(), *notification.TABLE_OF.items()]


@pytest.mark.parametrize(("kind", "table"), ROW_KINDS, ids=[k.__name__ for k, _ in ROW_KINDS])
def test_each_row_kind_has_exactly_its_tables_columns(kind: type[Any], table: Any) -> None:
    assert {f.name for f in fields(kind)} == set(table.columns.keys())


def _writes(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.split()[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            seen.append(verb)

    return seen


def test_a_row_is_inserted_once_numbered_and_updated_only_when_it_changed(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    notification.metadata.create_all(engine)
    writes = _writes(engine)
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    sent = Notification(notification_id="n-1", client_ref="c-1", audience="care_team",
                        recipient_ref="care-team-boston", channel="log", template="t",
                        event_kind="stepped_up", status="pending",
                        trigger_event_id=uuid.uuid4(), trigger_type="T",
                        correlation_id=uuid.uuid4(), created_at=at, next_attempt_at=at)
    with engine.begin() as conn:
        rows = RowStore(conn, notification.TABLE_OF)
        rows.save(sent)
        rows.save(sent)  # unchanged: not written
        client = KnownClient(client_ref="c-1", site_id="boston")
        rows.save(client)
        client.referred = True
        rows.save(client)
    assert sent.seq == 1
    assert writes == ["INSERT", "INSERT", "UPDATE"]
    with engine.begin() as conn:
        rows = RowStore(conn, notification.TABLE_OF)
        found = rows.by_key(Notification, seq=1)
        assert found == sent
        assert rows.by_key(KnownClient, client_ref="c-1") == KnownClient("c-1", "boston", True)
        assert found is not None
        found.status = "sent"
        rows.save(found)  # read here: an update of that row, not a new one
    assert writes[3:] == ["UPDATE"]


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        verb = words[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            table = {"INSERT": words[2], "UPDATE": words[1]}.get(verb) or words[
                words.index("FROM") + 1]
            seen.append(f"{verb} {table}")

    return seen


def _pending(notification_id: str, at: datetime) -> Notification:
    return Notification(notification_id=notification_id, client_ref="c-1", audience="care_team",
                        recipient_ref="care-team-boston", channel="log", template="t",
                        event_kind="stepped_up", status="pending",
                        trigger_event_id=uuid.uuid4(), trigger_type="T",
                        correlation_id=uuid.uuid4(), created_at=at, next_attempt_at=at)


def test_a_batch_reads_each_key_once_and_writes_each_table_once_as_it_commits(
        tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'batch.db'}")
    notification.metadata.create_all(engine)
    with engine.begin() as conn:
        RowStore(conn, notification.TABLE_OF).save(KnownClient("c-1", "boston"))
    statements = _statements(engine)
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with _transaction(engine) as tx:
        batch = RowBatch.of(tx, notification.TABLE_OF)
        assert RowBatch.of(tx, notification.TABLE_OF) is batch  # one per transaction
        client = batch.get(KnownClient, "c-1")
        assert client == KnownClient("c-1", "boston")
        assert batch.get_many(KnownClient, ["c-1", "c-2", "c-3"]) == {"c-1": client}
        assert batch.get(KnownClient, "c-2") is None  # known absent: not read again
        assert client is not None
        client.referred = True
        batch.save(client)
        batch.save(KnownClient("c-2", "worcester"))
        first, second = _pending("n-1", at), _pending("n-2", at)
        for row in (first, second, first):  # saved again before the commit: inserted once
            batch.save(row)
        first.status = "suppressed"
        batch.replace(FamilyMember("c-1", "r-family", "parent"))
        assert statements == ["SELECT known_client", "SELECT known_client"]
    assert statements[2:] == ["INSERT known_client", "UPDATE known_client",
                              "SELECT family_member", "INSERT family_member",
                              "INSERT notification"]
    with engine.begin() as conn:
        rows = RowStore(conn, notification.TABLE_OF)
        assert rows.by_key(KnownClient, client_ref="c-2") == KnownClient("c-2", "worcester")
        assert rows.by_key(KnownClient, client_ref="c-1") == KnownClient("c-1", "boston", True)
        assert [(n.seq, n.notification_id, n.status) for n in (
            rows.by_key(Notification, seq=1), rows.by_key(Notification, seq=2)) if n] == [
            (1, "n-1", "suppressed"), (2, "n-2", "pending")]


def _with_family(path: Any, members: list[tuple[str, str]]) -> Engine:
    """A notification database holding these (client, recipient) parents."""
    engine = make_engine(f"sqlite:///{path}")
    notification.metadata.create_all(engine)
    with engine.begin() as conn:
        rows = RowStore(conn, notification.TABLE_OF)
        for client, recipient in members:
            rows.save(FamilyMember(client, recipient, "parent"))
    return engine


def test_a_batch_query_keeps_the_batchs_own_rows_and_adds_the_databases(tmp_path: Any) -> None:
    engine = _with_family(tmp_path / "where.db", [("c-1", "r-a"), ("c-1", "r-b")])
    with _transaction(engine) as tx:
        batch = RowBatch.of(tx, notification.TABLE_OF)
        changed = batch.get(FamilyMember, ("c-1", "r-a"))
        assert changed is not None
        changed.relationship = "sibling"
        batch.save(changed)
        batch.save(FamilyMember("c-1", "r-c", "partner"))
        found = batch.where(FamilyMember, "client_ref", "c-1")
        assert sorted((m.recipient_ref, m.relationship) for m in found) == [
            ("r-a", "sibling"), ("r-b", "parent"), ("r-c", "partner")]
        assert changed in found
    with engine.begin() as conn:
        stored = conn.execute(notification.TABLE_OF[FamilyMember].select()).all()
    assert sorted((m.recipient_ref, m.relationship) for m in stored) == [
        ("r-a", "sibling"), ("r-b", "parent"), ("r-c", "partner")]


def test_a_read_ahead_asks_once_for_many_values_and_keeps_the_batchs_own_rows(
        tmp_path: Any) -> None:
    engine = _with_family(tmp_path / "ahead.db", [("c-1", "r-a"), ("c-2", "r-b"), ("c-2", "r-c")])
    statements = _statements(engine)
    with _transaction(engine) as tx:
        batch = RowBatch.of(tx, notification.TABLE_OF)
        own = FamilyMember("c-1", "r-a", "sibling")
        batch.replace(own)
        batch.where_among(FamilyMember, "client_ref", ["c-1", "c-2", "c-3", "c-1"])
        assert statements == ["SELECT family_member"]
        assert batch.where(FamilyMember, "client_ref", "c-1") == [own]
        assert sorted(m.recipient_ref for m in batch.where(FamilyMember, "client_ref", "c-2")
                      ) == ["r-b", "r-c"]
        assert batch.where(FamilyMember, "client_ref", "c-3") == []
        batch.where_among(FamilyMember, "client_ref", ["c-1", "c-3"])  # all asked already
        assert statements == ["SELECT family_member"]


def test_a_row_deleted_in_a_batch_is_gone_at_once_and_deleted_as_it_commits(
        tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'delete.db'}")
    notification.metadata.create_all(engine)
    with engine.begin() as conn:
        store = RowStore(conn, notification.TABLE_OF)
        for ref in ("c-1", "c-2", "c-3"):
            store.save(KnownClient(ref, "boston"))
    statements = _statements(engine)
    with _transaction(engine) as tx:
        batch = RowBatch.of(tx, notification.TABLE_OF)
        one, two = batch.get(KnownClient, "c-1"), batch.get(KnownClient, "c-2")
        assert one is not None and two is not None
        batch.delete(one)
        batch.delete(two)
        batch.save(KnownClient("c-2", "worcester"))  # deleted, then kept again: an update
        assert batch.get(KnownClient, "c-1") is None
        assert [c.client_ref for c in batch.where(KnownClient, "site_id", "boston")] == ["c-3"]
        fresh = KnownClient("c-4", "boston")
        batch.save(fresh)
        batch.delete(fresh)  # never in the database: nothing to write
        assert "DELETE known_client" not in statements
    assert statements[-2:] == ["DELETE known_client", "UPDATE known_client"]
    with engine.begin() as conn:
        rows = RowStore(conn, notification.TABLE_OF)
        assert rows.by_key(KnownClient, client_ref="c-1") is None
        assert rows.by_key(KnownClient, client_ref="c-2") == KnownClient("c-2", "worcester")
        assert rows.by_key(KnownClient, client_ref="c-4") is None
