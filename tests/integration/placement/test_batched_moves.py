"""A fetched batch applied in one transaction places everyone as one transaction per event
does: the repository remembers what its transaction read and wrote (services/placement/sql.py),
and what it remembers must be what the database holds — admissions, a full place's waitlist,
moves that free beds for it, the level stays and each client's latest event."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from carepath.messaging.consumer import Incoming
from carepath.persistence.db import make_engine
from carepath.persistence.uow import Transaction, UnitOfWork
from contracts import Envelope, LevelOfCare
from services.placement import store
from services.placement.app import SPEC
from services.placement.policy import DEFAULT_POLICY
from tests.conftest import DatabaseFactory
from tests.integration.placement.helpers import Client

CONSUMER = "carepath.placement"


@pytest.fixture
def engines(databases: DatabaseFactory) -> Iterator[list[Engine]]:
    engines = [make_engine(databases.new("placement")) for _ in range(2)]
    for engine in engines:
        store.metadata.create_all(engine)
        with UnitOfWork(engine, outbox=store.outbox, inbox=store.inbox).transaction() as tx:
            store.SqlRepository(tx).set_capacity(
                "boston", {level: 2 for level in LevelOfCare})
    yield engines
    for engine in engines:
        engine.dispose()


def _events() -> list[Envelope]:
    """Five clients for two residential beds: three wait; stepping down frees beds for them."""
    clients = [Client(f"batch{i}") for i in range(5)]
    events = [client.assessed("residential") for client in clients]
    events += [client.assessed("php", kind="reassessment") for client in clients[:2]]
    events += [clients[0].flagged("moderate"), clients[2].assessed("iop", kind="reassessment")]
    return events


def _apply(uow: UnitOfWork, events: list[Envelope], size: int) -> None:
    def applying(envelope: Envelope) -> Callable[[Transaction], None]:
        incoming = Incoming(envelope=envelope, data=envelope.payload(), trace_id=None)
        handler = SPEC.handlers.get(type(incoming.data))
        return lambda tx: handler(incoming, tx, _DEPS)

    for start in range(0, len(events), size):
        uow.consume_batch(CONSUMER, [(e.id, applying(e)) for e in events[start:start + size]])


class _Deps:
    policy = DEFAULT_POLICY  # what the handlers use of PlacementDeps


_DEPS: Any = _Deps()


def _state(engine: Engine) -> dict[str, list[Any]]:
    tables = store.metadata.tables
    with engine.connect() as conn:
        episodes = sorted(conn.execute(select(
            tables["episode"].c["client_ref", "site_id", "level", "status"])).all())
        waiting = conn.execute(select(tables["waitlist"].c["client_ref", "level"])
                               .order_by(tables["waitlist"].c.seq)).all()
        stays = sorted(conn.execute(select(
            tables["ur_level_stay"].c["client_ref", "level", "until"])).all(), key=str)
        chains = sorted(conn.execute(select(tables["client_chain"].c.client_ref)).all())
        emitted = conn.execute(select(store.outbox.c.event_type)
                               .order_by(store.outbox.c.created_at)).scalars().all()
    return {"episodes": list(episodes), "waiting": list(waiting), "stays": stays,
            "chains": list(chains), "emitted": sorted(emitted)}


def test_a_batch_in_one_transaction_places_everyone_as_one_event_at_a_time(
        engines: list[Engine]) -> None:
    events = _events()
    one_by_one, batched = engines
    _apply(UnitOfWork(one_by_one, outbox=store.outbox, inbox=store.inbox), events, 1)
    _apply(UnitOfWork(batched, outbox=store.outbox, inbox=store.inbox), events, len(events))

    expected = _state(one_by_one)
    assert _state(batched) == expected
    assert expected["waiting"] == []  # the three who waited were admitted as beds freed
    assert sum(t.endswith("PlacementWaitlisted.v1") for t in expected["emitted"]) == 3
    assert sum(t.endswith("ClientAdmitted.v1") for t in expected["emitted"]) == 5
    assert len(expected["chains"]) == 5
