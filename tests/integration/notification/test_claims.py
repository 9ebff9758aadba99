"""Delivery workers (or replicas) sharing one database: each due notification is claimed, and
sent, by exactly one of them — on PostgreSQL when CAREPATH_TEST_DATABASE_URL names one."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from carepath.persistence.db import make_engine
from carepath.persistence.uow import UnitOfWork
from services.notification import store
from services.notification.channels import Channel
from services.notification.config import NotificationsConfig
from services.notification.delivery import Delivery
from services.notification.deps import NotificationDeps
from services.notification.domain import Message
from services.notification.repository import Notification
from services.notification.store import SqlNotifications
from tests.conftest import TEST_ENV, DatabaseFactory

COUNT = 60
LEASE = timedelta(seconds=60)


class RecordingChannel:
    name = "log"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (worker, notification_id)
        self._lock = threading.Lock()

    def send(self, message: Message, *, address: str | None) -> None:
        with self._lock:
            self.sent.append((threading.current_thread().name, message.notification_id))


@pytest.fixture
def engines(databases: DatabaseFactory) -> Iterator[tuple[Engine, Engine]]:
    """Two engines (two connection pools, as two replicas have) on one database of due
    notifications."""
    url = databases.new("notification")
    first, second = make_engine(url), make_engine(url)
    store.metadata.create_all(first)
    with UnitOfWork(first, outbox=store.outbox, inbox=store.inbox).transaction() as tx:
        repo = SqlNotifications.of(tx)
        for i in range(COUNT):
            repo.save(_due(i))
    yield first, second
    first.dispose()
    second.dispose()


def test_two_workers_on_one_database_send_each_notification_once(
        engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    claim = SqlNotifications.claim_due

    def slow_claim(repo: SqlNotifications, **kwargs: Any) -> list[Notification]:
        claimed = claim(repo, **kwargs)
        time.sleep(0.02)  # keep this claim uncommitted while the other worker claims
        return claimed

    monkeypatch.setattr(SqlNotifications, "claim_due", slow_claim)
    channel = RecordingChannel()
    channels: dict[str, Channel] = {"log": channel}
    deps = NotificationDeps(config=NotificationsConfig(), care_teams={}, channels=channels)
    start = threading.Barrier(2)

    def work(engine: Engine) -> None:
        delivery = Delivery(uow=UnitOfWork(engine, outbox=store.outbox, inbox=store.inbox),
                            deps=deps)
        start.wait()
        while delivery.deliver_due():
            pass

    workers = [threading.Thread(target=work, args=(engine,), name=f"worker-{i}")
               for i, engine in enumerate(engines)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    sent_ids = sorted(notification_id for _, notification_id in channel.sent)
    assert sent_ids == sorted(_id(i) for i in range(COUNT))  # every one, none twice
    if TEST_ENV.database_url:  # SQLite's one writer at a time may serve one worker throughout
        assert {worker for worker, _ in channel.sent} == {"worker-0", "worker-1"}
    with engines[0].connect() as conn:
        events = conn.execute(select(func.count()).select_from(store.outbox)).scalar_one()
    assert events == COUNT  # one NotificationSent each


@pytest.mark.skipif(not TEST_ENV.database_url, reason="row locks: PostgreSQL only")
def test_a_claim_passes_over_rows_another_worker_is_claiming(
        engines: tuple[Engine, Engine]) -> None:
    now = datetime.now(UTC)
    first = UnitOfWork(engines[0], outbox=store.outbox, inbox=store.inbox)
    second = UnitOfWork(engines[1], outbox=store.outbox, inbox=store.inbox)
    with first.transaction() as open_claim:
        held = SqlNotifications.of(open_claim).claim_due(now=now, lease=LEASE, limit=10)
        with second.transaction() as tx:  # does not wait for the open claim to commit
            taken = SqlNotifications.of(tx).claim_due(now=now, lease=LEASE, limit=COUNT)
    assert len(held) == 10 and len(taken) == COUNT - 10
    assert not {row.seq for row in held} & {row.seq for row in taken}


def _id(i: int) -> str:
    return f"n-{i:03d}"


def _due(i: int) -> Notification:
    now = datetime.now(UTC) - timedelta(seconds=1)
    return Notification(
        notification_id=_id(i), client_ref=f"c-{i:03d}", audience="care_team",
        recipient_ref="care-team-boston", channel="log", template="care_team.stepped_up",
        event_kind="stepped_up", status="pending", trigger_event_id=uuid.uuid4(),
        trigger_type="carepath.placement.SteppedUp.v1", correlation_id=uuid.uuid4(),
        created_at=now, next_attempt_at=now)
