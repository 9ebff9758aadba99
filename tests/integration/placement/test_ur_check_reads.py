"""Placement's UR check reads what it asks of the clients in care in a few queries, however many
they are (every client stays in care through aftercare: four queries a client, each round, were
about 2 s of CPU a round for 3,000 clients), and still observes each client's stay and owes each
expiring authorization its event. On PostgreSQL when CAREPATH_TEST_DATABASE_URL is set, else
SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from carepath.observability.client_trace import client_traces
from carepath.persistence import migrations
from carepath.persistence.db import make_engine
from carepath.persistence.uow import UnitOfWork
from carepath.settings import Settings
from contracts.events import AuthorizationExpiring
from services.placement.app import SPEC
from services.placement.deps import make_deps
from services.placement.store import EpisodeRow, LevelStayRow
from services.placement.ur_store import AuthorizationRow, UrMarkRow, check_utilization
from tests.conftest import DatabaseFactory

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def in_aftercare(engine: Engine, first: int, count: int) -> None:
    """Clients admitted yesterday to aftercare, whose stays the check has not seen yet; every
    third with an authorization ending tomorrow."""
    episodes, authorizations = [], []
    for i in range(first, first + count):
        ref = f"c-{i:012d}"
        episodes.append({"episode_id": uuid.uuid4(), "client_ref": ref, "site_id": "boston",
                         "level": "aftercare", "status": "active", "since": NOW - timedelta(1),
                         "opened_at": NOW - timedelta(1), "admitted_at": NOW - timedelta(1),
                         "arrived_at": NOW - timedelta(1), "populations": ""})
        if i % 3 == 0:
            authorizations.append({
                "authorization_id": f"auth-{i}", "client_ref": ref, "payer_ref": "bcbs-ma",
                "level": "aftercare", "site_id": "boston", "starts_on": NOW.date(),
                "ends_on": NOW.date() + timedelta(1), "approved_days": 2,
                "authorization_number": f"N-{i}", "recorded_by": "nurse-31",
                "recorded_at": NOW})
    with engine.begin() as conn:
        conn.execute(insert(EpisodeRow.__table__), episodes)
        if authorizations:
            conn.execute(insert(AuthorizationRow.__table__),
                         authorizations)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def reads_of_clients(statements: list[str]) -> int:
    """The reads about the clients in care: all but those about an event owed (whether it was
    emitted, `ur_mark`; the cause it continues, `client_chain`), a read per event owed."""
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")
               and "FROM ur_mark" not in s and "FROM client_chain" not in s)


def test_the_check_reads_its_clients_in_care_in_a_few_queries_however_many(
        databases: DatabaseFactory) -> None:
    engine = make_engine(databases.new("ur"))
    migrations.recreate(engine, "placement")
    uow = UnitOfWork(engine, outbox=SPEC.outbox, inbox=SPEC.inbox,
                     traces=client_traces(SPEC.metadata))
    windows = make_deps(Settings()).policy.utilization_review
    try:
        in_aftercare(engine, 0, 6)
        with counted(engine) as few:
            owed_few = check_utilization(uow, windows, NOW)
        in_aftercare(engine, 6, 60)
        with counted(engine) as many:
            owed_many = check_utilization(uow, windows, NOW)
        with engine.connect() as conn:
            stays = conn.execute(select(LevelStayRow.client_ref)).scalars().all()
            marks = conn.execute(select(UrMarkRow.key)).scalars().all()
    finally:
        engine.dispose()
    assert reads_of_clients(many) == reads_of_clients(few) == 6  # not a query a client
    assert sorted(stays) == [f"c-{i:012d}" for i in range(66)]  # each stay observed
    assert [type(d.event) for d in owed_few] == [AuthorizationExpiring] * 2
    assert [type(d.event) for d in owed_many] == [AuthorizationExpiring] * 20  # the new ones
    assert sorted(marks) == sorted(f"expiring/auth-{i}" for i in range(0, 66, 3))
