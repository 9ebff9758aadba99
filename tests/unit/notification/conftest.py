"""A small world for notification's handlers and delivery: a real SQLite unit of work, fake
channels that record or refuse, and a clock the test moves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carepath.config import ChannelConfig
from carepath.consumer import Incoming
from carepath.db import make_engine
from carepath.uow import UnitOfWork
from contracts import Envelope, EventData, new_envelope
from contracts.events.notification import DeliveryFailure
from services.notification import store
from services.notification.channels import Channel, DeliveryError
from services.notification.config import NotificationDeps, NotificationsConfig
from services.notification.delivery import Delivery
from services.notification.domain import Message
from services.notification.handlers import handlers
from services.notification.store import Notification

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[Message, str | None]] = []
        self.refusing = False

    def send(self, message: Message, *, address: str | None) -> None:
        if self.refusing:
            raise DeliveryError(DeliveryFailure.server_error, f"{self.name}: SMTPDataError 451")
        self.sent.append((message, address))

    def audiences(self) -> list[str]:
        return [message.audience.value for message, _ in self.sent]


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    uow: UnitOfWork
    deps: NotificationDeps
    channels: dict[str, FakeChannel]
    clock: Clock = field(default_factory=Clock)
    referral: Envelope | None = None

    @property
    def delivery(self) -> Delivery:
        return Delivery(uow=self.uow, deps=self.deps, clock=self.clock)

    def apply(self, data: EventData, *, client_ref: str = "c-client01",
              site_id: str | None = "boston", at: datetime = NOW) -> Envelope:
        root = self.referral
        envelope = new_envelope(data, subject=client_ref, site_id=site_id,
                                episode_id=uuid.uuid4() if data.service == "placement" else None,
                                correlation_id=root.id if root else None,
                                causation_id=root.id if root else None, time=at)
        if root is None:
            self.referral = envelope
        handler = handlers.get(type(data))
        assert handler is not None, type(data)
        incoming = Incoming(envelope=envelope, data=data, trace_id=None)
        self.uow.consume_once("carepath.notification", envelope.id,
                              lambda tx: handler(incoming, tx, self.deps))
        return envelope

    def emitted(self, name: str) -> list[Envelope]:
        with self.uow.engine.connect() as conn:
            payloads = conn.execute(select(store.outbox.c.payload).order_by(store.outbox.c.seq))
            envelopes = [Envelope.from_bytes(row[0]) for row in payloads]
        return [e for e in envelopes if e.type.split(".")[2] == name]

    def rows(self) -> dict[tuple[str, str], Notification]:
        with self.uow.transaction() as tx:
            found = store.search(tx.session, client_ref=None, audience=None, status=None,
                                 limit=1000)
            return {(row.audience, row.recipient_ref): row for row in found}

    def deliver_until_settled(self, max_passes: int = 20) -> None:
        for _ in range(max_passes):
            if not self.delivery.deliver_due():
                return
        raise AssertionError("delivery did not settle")


@pytest.fixture
def world(tmp_path: Path) -> World:
    engine = make_engine(f"sqlite:///{tmp_path / 'notification.db'}")
    store.metadata.create_all(engine)
    channels = {name: FakeChannel(name) for name in ("log", "email", "webhook")}
    typed: dict[str, Channel] = dict(channels)
    deps = NotificationDeps(
        config=NotificationsConfig(),
        care_teams={"boston": ChannelConfig(channel="email", address="team@boston.example"),
                    "worcester": ChannelConfig(channel="log", address="care-team-worcester")},
        channels=typed)
    return World(uow=UnitOfWork(engine, outbox=store.outbox, inbox=store.inbox), deps=deps,
                 channels=channels)
