"""What notification's handlers, outcomes and delivery worker need of storage and of the unit of
work they run in — no SQL here: `store.SqlNotifications` keeps the rows in the service's
database. The rows are plain values with the columns of store.py's tables (a unit test holds
them equal): read and changed in memory, stored by `save`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from contracts import CausalLink, Envelope, EventData
from contracts.consent import ExpiryEvent
from services.notification.consent import Grant


@dataclass(slots=True)
class KnownClient:
    """What notification knows of a client (table known_client)."""

    client_ref: str
    site_id: str | None = None
    referred: bool = False

    @classmethod
    def noted(cls, known: KnownClient | None, client_ref: str, site_id: str | None, *,
              referred: bool) -> KnownClient:
        """`known` (or a new row) with the client's latest known site, and that their
        referral arrived (`NotificationRepository.note_site`)."""
        client = known or cls(client_ref=client_ref, site_id=site_id)
        if known is not None and site_id:
            client.site_id = site_id
        if referred:
            client.referred = True
        return client


@dataclass(slots=True)
class AwaitingReferral:
    """A placement event seen before the client's referral (triggers.await_referral)."""

    event_id: uuid.UUID
    client_ref: str
    event_type: str
    correlation_id: uuid.UUID
    site_id: str | None
    episode_id: uuid.UUID | None
    event_kind: str
    level: str | None
    at: datetime
    from_level: str | None = None
    reason_code: str | None = None
    proposal_id: str | None = None


@dataclass(slots=True)
class FamilyMember:
    client_ref: str
    recipient_ref: str
    relationship: str


@dataclass(slots=True)
class ConsentGrant:
    """A consent as recorded (table consent_grant); `information`: InformationCategory codes
    (null for consents recorded before 2026-12: none)."""

    consent_id: str
    client_ref: str
    recipient_ref: str
    purpose: str
    granted_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    information: list[str] | None = None
    expires_on: str | None = None

    def as_grant(self) -> Grant:
        return Grant(consent_id=self.consent_id, recipient_ref=self.recipient_ref,
                     purpose=self.purpose, granted_at=self.granted_at,
                     information=frozenset(self.information or ()),
                     expires_at=self.expires_at,
                     expires_on=ExpiryEvent(self.expires_on) if self.expires_on else None,
                     revoked_at=self.revoked_at)


@dataclass(slots=True)
class EpisodeEnd:
    """A discharge: the event a consent given `expires_on: discharge` ends with."""

    event_id: uuid.UUID
    client_ref: str
    ended_at: datetime
    episode_id: uuid.UUID | None = None


@dataclass(slots=True)
class Disclosure:
    """A family or payer message sent under a consent: the accounting of disclosures (42 CFR
    2.25)."""

    notification_id: str
    client_ref: str
    site_id: str | None
    recipient_ref: str
    consent_id: str
    purpose: str
    information: str
    event_kind: str
    channel: str
    disclosed_at: datetime
    seq: int | None = None  # numbered by the database


@dataclass(slots=True)
class Notification:
    """One message to one recipient, and its delivery (table notification)."""

    notification_id: str
    client_ref: str
    audience: str
    recipient_ref: str
    channel: str
    template: str
    event_kind: str
    status: str
    trigger_event_id: uuid.UUID
    trigger_type: str
    correlation_id: uuid.UUID
    created_at: datetime
    seq: int | None = None  # numbered by the database
    address: str | None = None
    level: str | None = None
    from_level: str | None = None
    reason_code: str | None = None
    proposal_id: str | None = None
    site_id: str | None = None
    episode_id: uuid.UUID | None = None
    purpose: str | None = None
    information: str | None = None
    consent_id: str | None = None  # the consent it was sent under
    reason: str | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    trace_headers: dict[str, str] | None = None
    # An authorization's id and last day (AuthorizationExpiring; since 2026-12).
    authorization_id: str | None = None
    ends_on: date | None = None


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
    def by_ids(self, notification_ids: Sequence[str]) -> dict[str, Notification]: ...
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
