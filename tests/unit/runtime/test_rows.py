"""carepath/persistence/rows.py: plain rows kept with Core statements built once — each row
kind has exactly its table's columns, a saved row is inserted once and updated only when it
changed, and rows read are the ones later saved back."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carepath.persistence.db import make_engine
from carepath.persistence.rows import RowStore
from services.interop.store import TABLE_OF as INTEROP
from services.journey.store import TABLE_OF as JOURNEY
from services.notification import store as notification
from services.notification.repository import KnownClient, Notification

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
