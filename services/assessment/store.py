"""Assessment's tables and queries: what it knows of each client (care state, causal link,
pending assessment, flagged severity), assessments (with the override note, which never leaves
this service, and the audit of its reads), observations, attendance and flags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, Text, TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, select

from carepath.db import runtime_tables
from carepath.errors import NotFound
from contracts import CausalLink, Envelope, LevelOfCare
from contracts.events import AssessmentKind
from services.assessment import domain
from services.assessment.policy import ObservationKind, Severity


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def json_column() -> Any:
    return Field(sa_column=Column(JSON, nullable=False))


class AssessmentTable(SQLModel):
    metadata = MetaData()


class Client(AssessmentTable, table=True):
    client_ref: str = Field(primary_key=True, max_length=48)
    site_id: str | None = Field(default=None, max_length=64)
    episode_id: str | None = Field(default=None, max_length=36)
    in_care: bool = False
    current_level: str | None = Field(default=None, max_length=20)
    correlation_id: str = Field(max_length=36)
    last_event_id: str = Field(max_length=36)
    flagged_severity: str | None = Field(default=None, max_length=20)
    pending_kind: str | None = Field(default=None, max_length=20)
    pending_event_id: str | None = Field(default=None, max_length=36)
    pending_flag_id: str | None = Field(default=None, max_length=64)

    def last_link(self) -> CausalLink:
        return CausalLink.parse(self.last_event_id, self.correlation_id)

    def episode(self) -> uuid.UUID | None:
        return uuid.UUID(self.episode_id) if self.episode_id else None

    def level(self) -> LevelOfCare | None:
        return LevelOfCare(self.current_level) if self.current_level else None

    def severity_flagged(self) -> Severity | None:
        return Severity(self.flagged_severity) if self.flagged_severity else None

    def open_pending(self, kind: AssessmentKind, *, trigger: uuid.UUID, flag_id: str | None
                     ) -> None:
        self.pending_kind, self.pending_event_id = kind.value, str(trigger)
        self.pending_flag_id = flag_id

    def close_pending(self) -> None:
        self.pending_kind = self.pending_event_id = self.pending_flag_id = None

    def assessment_cause(self, kind: AssessmentKind) -> CausalLink:
        """The pending assessment's trigger when it is of this kind, else the last event."""
        if self.pending_kind == kind.value and self.pending_event_id:
            return CausalLink.parse(self.pending_event_id, self.correlation_id)
        return self.last_link()


class Assessment(AssessmentTable, table=True):
    assessment_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    kind: str = Field(max_length=20)
    dimensions: dict[str, int] = json_column()
    recommended_level: str = Field(max_length=20)
    final_level: str = Field(max_length=20)
    rule_id: str = Field(max_length=48)
    rationale: list[str] = json_column()
    override_level: str | None = Field(default=None, max_length=20)
    override_reason: str | None = Field(default=None, max_length=40)  # an OverrideReason code
    override_note: str | None = Field(default=None, sa_type=Text)
    rule_set: str = Field(max_length=64)
    asam_edition: int
    priority_populations: list[str] = json_column()
    assessed_by: str = Field(max_length=120)
    assessed_at: datetime = utc(index=True)
    trigger_flag_id: str | None = Field(default=None, max_length=64)
    event_id: str = Field(max_length=36)


class NoteRead(AssessmentTable, table=True):
    """Append-only audit of every read of an override note: who, when, which client, why."""

    __tablename__ = "note_read"

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    assessment_id: str = Field(max_length=48)
    actor: str = Field(max_length=120)
    purpose: str = Field(max_length=60)
    accessed_at: datetime = utc()


class Observation(AssessmentTable, table=True):
    observation_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    kind: str = Field(max_length=20)
    value: Any = json_column()
    observed_at: datetime = utc(index=True)
    recorded_at: datetime = utc()


class Attendance(AssessmentTable, table=True):
    """The latest attendance status per session: a corrected record replaces the earlier."""

    client_ref: str = Field(primary_key=True, max_length=48)
    session_id: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=20)
    counted_at: datetime = utc(index=True)


class RiskFlag(AssessmentTable, table=True):
    flag_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    severity: str = Field(max_length=20)
    score: float
    indicators: list[dict[str, Any]] = json_column()
    flagged_at: datetime = utc()
    event_id: str = Field(max_length=36)


metadata = AssessmentTable.metadata
outbox, inbox = runtime_tables(metadata)


def require_client(session: Session, client_ref: str, *, lock: bool = False) -> Client:
    """The client's row; `lock` holds it for the transaction so that writes (flags,
    assessments) for one client serialise."""
    client = session.get(Client, client_ref, with_for_update=lock)
    if client is None:
        raise NotFound(f"no client {client_ref!r}: assessment has not seen their referral")
    return client


def client_seen_in(session: Session, envelope: Envelope) -> Client:
    """The client an event is about, created if unknown, its causal link moved to the event."""
    client = session.get(Client, envelope.subject, with_for_update=True)
    if client is None:
        client = Client(client_ref=envelope.subject, site_id=envelope.siteid,
                        correlation_id=str(envelope.correlationid),
                        last_event_id=str(envelope.id))
    client.last_event_id = str(envelope.id)
    session.add(client)
    return client


def risk_inputs(session: Session, client_ref: str, since: datetime
                ) -> tuple[list[domain.AttendanceMark], list[domain.Reading]]:
    marks = session.exec(select(Attendance).where(
        Attendance.client_ref == client_ref, col(Attendance.counted_at) >= since)).all()
    readings = session.exec(select(Observation).where(
        Observation.client_ref == client_ref, col(Observation.observed_at) >= since)).all()
    return ([domain.AttendanceMark(status=m.status, at=m.counted_at) for m in marks],
            [domain.Reading(kind=ObservationKind(r.kind), value=r.value, at=r.observed_at)
             for r in readings])


def record_attendance(session: Session, *, client_ref: str, session_id: str, status: str,
                      counted_at: datetime) -> None:
    row = session.get(Attendance, (client_ref, session_id))
    row = row or Attendance(client_ref=client_ref, session_id=session_id, status=status,
                            counted_at=counted_at)
    row.status, row.counted_at = status, counted_at
    session.add(row)


def assessments_of(session: Session, client_ref: str) -> list[Assessment]:
    query = select(Assessment).where(Assessment.client_ref == client_ref).order_by(
        col(Assessment.assessed_at).desc(), col(Assessment.assessment_id).desc())
    return list(session.exec(query).all())
