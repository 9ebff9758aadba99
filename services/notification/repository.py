"""What notification's handlers, outcomes and delivery worker need of storage and of the unit of
work they run in — no SQL here: `store.SqlNotifications` keeps the rows in the service's
database, a test may keep them in memory. The rows (store's SQLModel classes) are plain values
to them: read and changed in memory, stored by `save`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from contracts import CausalLink, Envelope, EventData
from services.notification.consent import Grant
from services.notification.store import (
    AwaitingReferral,
    ConsentGrant,
    Disclosure,
    EpisodeEnd,
    KnownClient,
    Notification,
)


class NotificationRepository(Protocol):
    # What notification knows of a client: latest site, family, consents, episode ends.
    def note_site(self, client_ref: str, site_id: str | None, *,
                  referred: bool = False) -> KnownClient: ...
    def family_of(self, client_ref: str) -> list[str]: ...
    def add_family(self, client_ref: str, recipient_ref: str, relationship: str) -> None: ...
    def consent(self, consent_id: str) -> ConsentGrant | None: ...
    def save_consent(self, grant: ConsentGrant) -> None: ...
    def grants_of(self, client_ref: str) -> list[Grant]: ...
    def add_episode_end(self, end: EpisodeEnd) -> None: ...
    def episode_ends_of(self, client_ref: str) -> list[datetime]: ...
    # Placement events seen before the client's referral.
    def keep_awaiting(self, awaiting: AwaitingReferral) -> None: ...
    def release_awaiting(self, client_ref: str) -> list[AwaitingReferral]: ...
    # The delivery log and the disclosures.
    def save(self, row: Notification) -> None: ...
    def by_id(self, notification_id: str) -> Notification | None: ...
    def claim_due(self, *, now: datetime, lease: timedelta, limit: int
                  ) -> list[Notification]: ...
    def add_disclosure(self, disclosure: Disclosure) -> None: ...


class Effects(Protocol):
    """What a unit of work does besides storing (carepath/persistence/uow.py `Transaction`): emit
    events into its outbox, and run a callback once it commits."""

    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...
    def after_commit(self, callback: Callable[[], None]) -> None: ...
