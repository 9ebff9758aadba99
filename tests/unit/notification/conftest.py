"""A small world for notification's handlers and delivery: events through the real consumer
path (tests/harness.py) on SQLite, fake channels that record or refuse, and a clock the test
moves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carepath.config import ChannelConfig
from carepath.persistence.uow import UnitOfWork
from contracts import Envelope, EventData, new_envelope
from contracts.events.notification import DeliveryFailure
from services.notification import store
from services.notification.app import SPEC
from services.notification.channels import Channel, DeliveryError
from services.notification.config import NotificationsConfig
from services.notification.delivery import Delivery
from services.notification.deps import NotificationDeps
from services.notification.domain import Message
from services.notification.repository import Notification
from tests.harness import EventHarness, Outcome

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
    events: EventHarness
    channels: dict[str, FakeChannel]
    clock: Clock = field(default_factory=Clock)
    referral: Envelope | None = None

    @property
    def uow(self) -> UnitOfWork:
        return self.events.uow

    @property
    def deps(self) -> NotificationDeps:
        deps: NotificationDeps = self.events.deps
        return deps

    @deps.setter
    def deps(self, deps: NotificationDeps) -> None:
        self.events.deps = deps

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
        assert self.events.feed(envelope).outcomes == [Outcome.applied], type(data)
        return envelope

    def emitted(self, name: str) -> list[Envelope]:
        return self.events.emitted(name)

    def rows(self) -> dict[tuple[str, str], Notification]:
        with self.uow.transaction() as tx:
            found = store.SqlNotifications.of(tx).search(client_ref=None, audience=None,
                                                         status=None, limit=1000)
            return {(row.audience, row.recipient_ref): row for row in found}

    def deliver_until_settled(self, max_passes: int = 20) -> None:
        for _ in range(max_passes):
            if not self.delivery.deliver_due():
                return
        raise AssertionError("delivery did not settle")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    channels = {name: FakeChannel(name) for name in ("log", "email", "webhook")}
    typed: dict[str, Channel] = dict(channels)
    deps = NotificationDeps(
        config=NotificationsConfig(),
        care_teams={"boston": ChannelConfig(channel="email", address="team@boston.example"),
                    "worcester": ChannelConfig(channel="log", address="care-team-worcester")},
        channels=typed)
    with EventHarness(SPEC, database=f"sqlite:///{tmp_path / 'notification.db'}",
                      deps=deps) as events:
        yield World(events=events, channels=channels)
