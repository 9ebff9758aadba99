"""What intake's referral, identity and consent endpoints need of storage and of the unit of
work they run in — no SQL here: `store.SqlIntake` keeps the rows in the service's database, a
test may keep them in memory. The rows (store's SQLModel classes) are plain values to them:
read and changed in memory, stored by `add_client`, `save_client`, `save_consent` and
`record_access`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from contracts import CausalLink, Envelope, EventData
from services.intake.store import Client, Consent, FamilyContact, PhiAccess


class IntakeRepository(Protocol):
    def client(self, client_ref: str) -> Client | None: ...
    def add_client(self, client: Client, contacts: Sequence[FamilyContact]) -> None: ...
    def save_client(self, client: Client) -> None: ...
    def contacts_of(self, client_ref: str) -> list[FamilyContact]: ...
    def contact(self, recipient_ref: str) -> FamilyContact | None: ...
    def consent(self, consent_id: str) -> Consent | None: ...
    def save_consent(self, consent: Consent) -> None: ...
    def record_access(self, access: PhiAccess) -> None: ...


class Outbox(Protocol):
    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...
