"""What interop's projection (projection.py) works on and needs of storage — no SQL here. The
rows are plain values with the columns of store.py's tables (a unit test holds them equal):
the projection reads, changes and `save`s them. `store.SqlInterop` keeps them (and the ADT
feed's outbox) in the service's database, a test in a fake."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True)
class Patient:
    """A client seen on the bus (table fhir_patient)."""

    client_ref: str
    site_id: str | None
    first_seen: datetime
    last_updated: datetime
    event_id: uuid.UUID


@dataclass(slots=True)
class EpisodeOfCare:
    """An episode of care (table fhir_episode); `history` its earlier statuses."""

    episode_id: uuid.UUID
    client_ref: str
    site_id: str
    status: str
    status_since: datetime
    opened_at: datetime
    last_updated: datetime
    event_id: uuid.UUID
    history: list[dict[str, Any]] = field(default_factory=list)
    disposition: str | None = None
    closed_at: datetime | None = None


@dataclass(slots=True)
class Encounter:
    """A level segment (table fhir_encounter); its id is the event that started it."""

    encounter_id: uuid.UUID
    episode_id: uuid.UUID
    client_ref: str
    site_id: str
    level: str
    started_at: datetime
    last_updated: datetime
    event_id: uuid.UUID
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(slots=True)
class Appointment:
    """A scheduled session (table fhir_appointment)."""

    session_id: str
    client_ref: str
    level: str
    kind: str
    starts_at: datetime
    duration_min: int
    status: str
    last_updated: datetime
    event_id: uuid.UUID
    episode_id: uuid.UUID | None = None
    site_id: str | None = None
    modality: str | None = None


@dataclass(slots=True)
class Flag:
    """A relapse-risk flag (table fhir_flag): indicator codes, never their detail."""

    flag_id: str
    client_ref: str
    severity: str
    score: float
    flagged_at: datetime
    last_updated: datetime
    event_id: uuid.UUID
    indicators: list[str] = field(default_factory=list)
    episode_id: uuid.UUID | None = None
    site_id: str | None = None
    level: str | None = None


@dataclass(slots=True)
class Consent:
    """A 42 CFR Part 2 consent (table fhir_consent)."""

    consent_id: str
    client_ref: str
    recipient_ref: str
    purpose: str
    recorded_at: datetime
    last_updated: datetime
    event_id: uuid.UUID
    information: list[str] = field(default_factory=list)
    site_id: str | None = None
    expires_at: datetime | None = None
    expires_on: str | None = None
    signed_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(slots=True)
class QueuedAdt:
    """An ADT message queued in the feed's outbox (table adt_message); `seq` is the database's."""

    control_id: str
    client_ref: str
    trigger: str
    message: str
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    seq: int | None = None


Row = Patient | EpisodeOfCare | Encounter | Appointment | Flag | Consent | QueuedAdt


class InteropRepository(Protocol):
    def patient(self, client_ref: str) -> Patient | None: ...
    def episode(self, episode_id: uuid.UUID) -> EpisodeOfCare | None: ...

    def open_episode_of(self, client_ref: str) -> EpisodeOfCare | None:
        """The client's episode still in progress (waitlisted or active), the latest opened."""
        ...

    def open_encounter(self, episode_id: uuid.UUID) -> Encounter | None:
        """The episode's encounter (level segment) not ended yet (the latest started)."""
        ...

    def appointment(self, session_id: str) -> Appointment | None: ...

    def appointments_among(self, session_ids: Iterable[str]) -> dict[str, Appointment]:
        """Those of the sessions that exist, by id."""
        ...

    def consent(self, consent_id: str) -> Consent | None: ...

    def save(self, row: Row) -> None:
        """Store a row, new or read from here (an ADT message is queued)."""
        ...

    def replace(self, row: Flag | Consent) -> None:
        """Store a row whole in place of any stored under its id."""
        ...
