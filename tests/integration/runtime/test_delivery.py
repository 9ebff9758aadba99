"""The shared runtime against the real broker and database, through a small probe service:
inbox dedupe, dead letters with reasons, per-client order, outbox relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, event, select
from sqlmodel import Field, SQLModel

from carepath.app.factory import build_app
from carepath.app.spec import RuntimeDep, ServiceSpec
from carepath.errors import InvalidTransition
from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.messaging.kafka import ensure_topics
from carepath.persistence.db import runtime_tables
from carepath.persistence.uow import Transaction
from contracts import CausalLink, Envelope, new_envelope
from contracts.events import ReassessmentRequested
from contracts.levels import LevelOfCare
from tests.conftest import DatabaseFactory, service_settings
from tests.support import EventTap, bearer, publish_envelopes, publish_raw, wait_until


class ProbeTable(SQLModel):
    metadata = MetaData()


class Seen(ProbeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    client_ref: str
    reason: str


probe_outbox, probe_inbox = runtime_tables(ProbeTable.metadata)
handlers = EventHandlers()
router = APIRouter()


@handlers.on(ReassessmentRequested)
def record(event: Incoming, tx: Transaction, deps: None) -> None:
    if event.data.reason == "reject me":
        raise InvalidTransition("probe refuses this reassessment")
    tx.session.add(Seen(client_ref=event.envelope.subject, reason=event.data.reason))


@router.post("/echo/{client_ref}")
def echo(client_ref: str, runtime: RuntimeDep) -> dict[str, str]:
    with runtime.uow.transaction() as tx:
        root = uuid.uuid4()
        envelope = tx.emit(
            ReassessmentRequested(reason="echo", current_level=LevelOfCare.iop),
            subject=client_ref, site_id="boston", episode_id=None,
            cause=CausalLink(event_id=root, correlation_id=root))
    return {"id": str(envelope.id)}


SPEC = ServiceSpec(name="probe", metadata=ProbeTable.metadata, outbox=probe_outbox,
                   inbox=probe_inbox, router=router, handlers=handlers,
                   access={"POST /echo/{client_ref}": frozenset()})  # admin only


@contextmanager
def probe(bootstrap: str, databases: DatabaseFactory, tmp_path: Path) -> Iterator[TestClient]:
    settings = service_settings("probe", bootstrap=bootstrap,
                                database_url=databases.new("probe"), var_dir=tmp_path)
    with TestClient(build_app(SPEC, settings), headers=bearer(settings)) as client:
        yield client


def request(client_ref: str, reason: str):  # type: ignore[no-untyped-def]
    root = uuid.uuid4()
    return new_envelope(ReassessmentRequested(reason=reason, current_level=LevelOfCare.iop),
                        subject=client_ref, site_id="boston", episode_id=None,
                        correlation_id=root, causation_id=root)


def seen_rows(client: TestClient) -> list[tuple[str, str]]:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(Seen.client_ref, Seen.reason).order_by(Seen.id))  # type: ignore
        return [tuple(row) for row in rows]  # type: ignore[misc]


def dead_letters(bootstrap: str, expected: int) -> list[dict[str, str]]:
    tap = EventTap(bootstrap, topics=("carepath.probe.dlq",)).start()
    try:
        wait_until(lambda: len(tap.raw) >= expected)
        return [headers for _, headers in tap.raw]
    finally:
        tap.stop()


def test_poison_messages_go_to_the_dlq_and_the_partition_keeps_flowing(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    topic = ReassessmentRequested.topic()
    with probe(kafka_bootstrap, databases, tmp_path) as client:
        publish_envelopes(kafka_bootstrap, (request("c-aaa111", "first"),))
        publish_raw(kafka_bootstrap, topic, b"c-aaa111", b"{not json")
        unknown = request("c-aaa111", "x").model_copy(update={"type": "carepath.x.Nope.v1"})
        publish_raw(kafka_bootstrap, topic, b"c-aaa111", unknown.to_bytes())
        publish_envelopes(kafka_bootstrap, (request("c-aaa111", "reject me"),
                                            request("c-aaa111", "second")))
        rows = wait_until(lambda: len(seen_rows(client)) == 2 and seen_rows(client))
    assert rows == [("c-aaa111", "first"), ("c-aaa111", "second")]
    letters = dead_letters(kafka_bootstrap, 3)
    assert sorted(h["carepath.dlq.error_class"] for h in letters) == [
        "InvalidEvent", "InvalidTransition", "UnknownEventType"]
    assert all(h["carepath.dlq.original_topic"] == topic for h in letters)
    assert {h["carepath.dlq.original_offset"] for h in letters} == {"1", "2", "3"}
    reasons = " | ".join(h["carepath.dlq.reason"] for h in letters)
    assert "probe refuses this reassessment" in reasons and "unknown event type" in reasons


def test_a_redelivered_event_has_no_second_effect(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    event = request("c-bbb222", "once")
    with probe(kafka_bootstrap, databases, tmp_path) as client:
        publish_envelopes(kafka_bootstrap, (event, event, event, request("c-bbb222", "after")))
        wait_until(lambda: ("c-bbb222", "after") in seen_rows(client))
        assert seen_rows(client) == [("c-bbb222", "once"), ("c-bbb222", "after")]


def test_the_outbox_relay_publishes_what_a_request_committed(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path, event_tap: EventTap
) -> None:
    with probe(kafka_bootstrap, databases, tmp_path) as client:
        event_id = client.post("/echo/c-ccc333").json()["id"]
        published = event_tap.wait_for(lambda e: str(e.id) == event_id)
        # the probe consumes its own topic too: the event it emitted comes back exactly once
        wait_until(lambda: seen_rows(client) == [("c-ccc333", "echo")])
    assert published.partitionkey == "c-ccc333"
    assert published.recordedat <= datetime.now(UTC)


def backlog_then_probe(bootstrap: str, envelopes: tuple[Envelope, ...]) -> None:
    """Publish before the probe starts, so its consumer meets a backlog it fetches in batches."""
    asyncio.run(ensure_topics(bootstrap, 3, timeout_s=30))
    publish_envelopes(bootstrap, envelopes)


def test_a_backlog_is_applied_in_batches_one_transaction_each(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    events = tuple(request("c-ddd444", f"n{i}") for i in range(60))
    backlog_then_probe(kafka_bootstrap, events)
    settings = service_settings("probe", bootstrap=kafka_bootstrap,
                                database_url=databases.new("probe"), var_dir=tmp_path)
    app = build_app(SPEC, settings)
    commits: list[int] = []
    event.listen(app.state.runtime.engine, "commit", lambda _conn: commits.append(1))
    with TestClient(app, headers=bearer(settings)) as client:
        rows = wait_until(lambda: len(seen_rows(client)) == 60 and seen_rows(client))
    assert rows == [("c-ddd444", f"n{i}") for i in range(60)]
    assert len(commits) < 30  # one per fetched batch, not one per event


def test_a_batch_with_a_bad_event_falls_back_to_one_event_at_a_time(
    kafka_bootstrap: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    repeated = request("c-eee555", "repeated")
    events = (request("c-eee555", "first"), repeated, request("c-eee555", "reject me"),
              repeated, request("c-eee555", "last"))
    backlog_then_probe(kafka_bootstrap, events)
    with probe(kafka_bootstrap, databases, tmp_path) as client:
        wait_until(lambda: ("c-eee555", "last") in seen_rows(client))
        assert seen_rows(client) == [("c-eee555", "first"), ("c-eee555", "repeated"),
                                     ("c-eee555", "last")]
    [letter] = dead_letters(kafka_bootstrap, 1)
    assert letter["carepath.dlq.error_class"] == "InvalidTransition"
    assert letter["carepath.dlq.original_offset"] == "2"
