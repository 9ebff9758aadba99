"""Interop's tables: the projection the FHIR resources are read from (patients, episodes of care,
level segments as encounters, sessions as appointments, relapse-risk flags, consents), the HL7 v2
ADT feed's outbox and dead letters, and bulk-export jobs. Every projection row carries
`last_updated` (FHIR `meta.lastUpdated`, `_lastUpdated` and `_since`) and the event that last
changed it (`meta.source`). `SqlInterop` is the projection's repository on them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, Table, Text
from sqlmodel import Field, SQLModel

from carepath.persistence.batch import RowBatch
from carepath.persistence.db import runtime_tables
from carepath.persistence.db import utc_column as moment
from carepath.persistence.uow import Transaction
from contracts.stays import OPEN_STATUSES
from services.interop.ports import (
    Appointment,
    Consent,
    Encounter,
    EpisodeOfCare,
    Flag,
    Patient,
    QueuedAdt,
    Row,
)


def json_column(default: Any = list) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class InteropTable(SQLModel):
    metadata = MetaData()


class PatientRow(InteropTable, table=True):
    """A client seen on the bus: pseudonymous (the client_ref and the site, nothing else)."""

    __tablename__ = "fhir_patient"

    client_ref: str = Field(primary_key=True, max_length=64)
    site_id: str | None = Field(default=None, max_length=64)
    first_seen: datetime = moment()
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class EpisodeRow(InteropTable, table=True):
    """An episode of care. `status` is contracts.stays.EpisodeStatus; `history` its earlier
    statuses as [{status, start, end}] (FHIR EpisodeOfCare.statusHistory)."""

    __tablename__ = "fhir_episode"

    episode_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=64)
    site_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    status_since: datetime = moment()
    history: list[dict[str, Any]] = json_column()
    disposition: str | None = Field(default=None, max_length=30)
    opened_at: datetime = moment()
    closed_at: datetime | None = moment(nullable=True)
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class EncounterRow(InteropTable, table=True):
    """A level segment: a stretch of an episode at one level of care and one site. Its id is
    the event that started it."""

    __tablename__ = "fhir_encounter"

    encounter_id: uuid.UUID = Field(primary_key=True)
    episode_id: uuid.UUID = Field(index=True)
    client_ref: str = Field(index=True, max_length=64)
    site_id: str = Field(max_length=64)
    level: str = Field(max_length=20)
    started_at: datetime = moment()
    ended_at: datetime | None = moment(nullable=True)
    end_reason: str | None = Field(default=None, max_length=30)
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class AppointmentRow(InteropTable, table=True):
    """A scheduled session; `status` is scheduled, attended, late, missed, excused or
    cancelled (scheduling's words; the FHIR API maps them to AppointmentStatus)."""

    __tablename__ = "fhir_appointment"

    session_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(index=True, max_length=64)
    episode_id: uuid.UUID | None = None
    site_id: str | None = Field(default=None, max_length=64)
    level: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    modality: str | None = Field(default=None, max_length=40)
    starts_at: datetime = moment()
    duration_min: int
    status: str = Field(max_length=20)
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class FlagRow(InteropTable, table=True):
    """A relapse-risk flag: severity, score and the indicator codes (never their detail)."""

    __tablename__ = "fhir_flag"

    flag_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(index=True, max_length=64)
    episode_id: uuid.UUID | None = None
    site_id: str | None = Field(default=None, max_length=64)
    severity: str = Field(max_length=20)
    score: float
    indicators: list[str] = json_column()
    level: str | None = Field(default=None, max_length=20)
    flagged_at: datetime = moment()
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class ConsentRow(InteropTable, table=True):
    """A 42 CFR Part 2 consent (§2.31): who may receive what, for what, until when."""

    __tablename__ = "fhir_consent"

    consent_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(index=True, max_length=64)
    site_id: str | None = Field(default=None, max_length=64)
    recipient_ref: str = Field(max_length=64)
    purpose: str = Field(max_length=60)
    information: list[str] = json_column()
    expires_at: datetime | None = moment(nullable=True)
    expires_on: str | None = Field(default=None, max_length=40)
    signed_at: datetime | None = moment(nullable=True)
    recorded_at: datetime = moment()
    revoked_at: datetime | None = moment(nullable=True)
    last_updated: datetime = moment(index=True)
    event_id: uuid.UUID


class AdtMessage(InteropTable, table=True):
    """The HL7 v2 ADT feed's outbox: one message per placement event, written with the
    projection in the same transaction, sent in `seq` order (so in order per client) until the
    receiver acknowledges it. `control_id` (MSH-10) comes from the event id: a resend is the
    same message, which a receiver dedupes."""

    __tablename__ = "adt_message"
    __table_args__ = (Index("ix_adt_message_pending", "status", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    control_id: str = Field(unique=True, max_length=20)
    client_ref: str = Field(index=True, max_length=64)
    trigger: str = Field(max_length=3)
    message: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending | acked | dead
    attempts: int = 0
    created_at: datetime = moment()
    sent_at: datetime | None = moment(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


class AdtDeadLetter(InteropTable, table=True):
    """A message the receiver refused (MSA-1 AE or AR): kept with the receiver's answer until
    someone re-drives it (`carepath hl7 redrive`)."""

    __tablename__ = "adt_dead_letter"

    seq: int = Field(primary_key=True)  # the AdtMessage it was
    control_id: str = Field(max_length=20)
    client_ref: str = Field(max_length=64)
    trigger: str = Field(max_length=3)
    ack_code: str = Field(max_length=2)
    error: str = Field(max_length=500)
    dead_at: datetime = moment()


class ExportJob(InteropTable, table=True):
    """A FHIR Bulk Data `$export`: what was asked, how far it has got, and its files."""

    __tablename__ = "export_job"

    job_id: uuid.UUID = Field(primary_key=True)
    status: str = Field(max_length=12)  # accepted | running | completed | failed | cancelled
    types: list[str] = json_column()
    since: datetime | None = moment(nullable=True)
    requested_by: str = Field(max_length=120)
    sites: list[str] = json_column()  # the requester's site scope ("*": every site)
    request_url: str = Field(max_length=2000)
    created_at: datetime = moment()
    transaction_time: datetime = moment()
    claimed_at: datetime | None = moment(nullable=True)  # the exporter's lease (export.py)
    done_types: int = 0
    output: list[dict[str, Any]] = json_column()  # [{type, file, count}]
    error: str | None = Field(default=None, max_length=500)
    finished_at: datetime | None = moment(nullable=True)


metadata = InteropTable.metadata
outbox, inbox = runtime_tables(metadata)


# Each projection row (ports.py) and the table that keeps it.
TABLE_OF: dict[type[Any], Table] = {
    Patient: PatientRow.__table__,  # type: ignore[attr-defined]
    EpisodeOfCare: EpisodeRow.__table__,  # type: ignore[attr-defined]
    Encounter: EncounterRow.__table__,  # type: ignore[attr-defined]
    Appointment: AppointmentRow.__table__,  # type: ignore[attr-defined]
    Flag: FlagRow.__table__,  # type: ignore[attr-defined]
    Consent: ConsentRow.__table__,  # type: ignore[attr-defined]
    QueuedAdt: AdtMessage.__table__,  # type: ignore[attr-defined]
}


class SqlInterop:
    """Interop's projection rows and ADT outbox in its database, in the transaction of one unit
    of work (`ports.InteropRepository`): one `RowBatch` per transaction (a consumed batch of
    events) — a row read once per batch, the appointments of a plan in one query, and every
    change written at commit, one `executemany` per table (carepath/persistence/rows.py)."""

    def __init__(self, tx: Transaction) -> None:
        self.rows = RowBatch.of(tx, TABLE_OF)

    @classmethod
    def of(cls, tx: Transaction) -> SqlInterop:
        return cls(tx)

    def read_ahead(self, *, clients: list[str], placed: list[str],
                   episodes: list[uuid.UUID]) -> None:
        """What a batch will read, a query per table: its clients' Patients; for its placement
        events, their clients' episodes and their episodes' encounters."""
        self.rows.get_many(Patient, clients)
        self.rows.where_among(EpisodeOfCare, "client_ref", placed)
        self.rows.where_among(Encounter, "episode_id", episodes)

    def patient(self, client_ref: str) -> Patient | None:
        return self.rows.get(Patient, client_ref)

    def episode(self, episode_id: uuid.UUID) -> EpisodeOfCare | None:
        return self.rows.get(EpisodeOfCare, episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeOfCare | None:
        return max((e for e in self.rows.where(EpisodeOfCare, "client_ref", client_ref)
                    if e.status in OPEN_STATUSES), key=_opened_at, default=None)

    def open_encounter(self, episode_id: uuid.UUID) -> Encounter | None:
        return max((e for e in self.rows.where(Encounter, "episode_id", episode_id)
                    if e.ended_at is None), key=_started_at, default=None)

    def appointment(self, session_id: str) -> Appointment | None:
        return self.rows.get(Appointment, session_id)

    def appointments_among(self, session_ids: Iterable[str]) -> dict[str, Appointment]:
        return self.rows.get_many(Appointment, session_ids)

    def consent(self, consent_id: str) -> Consent | None:
        return self.rows.get(Consent, consent_id)

    def save(self, row: Row) -> None:
        self.rows.save(row)

    def replace(self, row: Flag | Consent) -> None:
        self.rows.replace(row)


def _opened_at(episode: EpisodeOfCare) -> datetime:
    return episode.opened_at


def _started_at(encounter: Encounter) -> datetime:
    return encounter.started_at
