"""Scheduling's tables and queries: each client's sessions, their status, and the
SessionsScheduled event that created each one (the cause of its attendance event)."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, MetaData
from sqlmodel import Field, Session, SQLModel, col, select

from carepath.db import runtime_tables
from carepath.errors import NotFound
from services.scheduling.domain import Booking, Plan, SessionStatus


class SchedulingTable(SQLModel):
    metadata = MetaData()


class CareSession(SchedulingTable, table=True):
    __tablename__ = "care_session"
    __table_args__ = (Index("ix_care_session_client_starts", "client_ref", "starts_at"),)

    session_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(max_length=48)
    episode_id: str | None = Field(default=None, max_length=36)
    site_id: str | None = Field(default=None, max_length=64)
    level: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    modality: str | None = Field(default=None, max_length=40)
    # Always written in UTC: SQLite drops the offset, so reads re-attach it (see `utc`).
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    duration_min: int
    status: str = Field(max_length=20)
    scheduled_event_id: str = Field(max_length=36)
    correlation_id: str = Field(max_length=36)
    attendance_recorded_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


metadata = SchedulingTable.metadata
outbox, inbox = runtime_tables(metadata)


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def sessions_of(
    session: Session, *, client_ref: str, status: SessionStatus | None = None
) -> Sequence[CareSession]:
    query = select(CareSession).where(CareSession.client_ref == client_ref)
    if status is not None:
        query = query.where(CareSession.status == status.value)
    return session.exec(query.order_by(col(CareSession.starts_at),
                                       col(CareSession.session_id))).all()


def scheduled_sessions(session: Session, *, client_ref: str) -> dict[str, CareSession]:
    """The client's sessions still `scheduled`, locked against a concurrent attendance record."""
    query = (select(CareSession)
             .where(CareSession.client_ref == client_ref,
                    CareSession.status == SessionStatus.scheduled.value)
             .with_for_update())
    return {row.session_id: row for row in session.exec(query).all()}


def bookings(rows: dict[str, CareSession]) -> list[Booking]:
    return [Booking(session_id=row.session_id, status=SessionStatus(row.status),
                    starts_at=utc(row.starts_at)) for row in rows.values()]


def session_for_update(session: Session, session_id: str) -> CareSession:
    row = session.get(CareSession, session_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no session {session_id!r}")
    return row


def add_plan(
    session: Session, plan: Plan, *, client_ref: str, episode_id: str | None,
    site_id: str | None, scheduled_event_id: str, correlation_id: str,
) -> None:
    session.add_all(
        CareSession(session_id=planned.session_id, client_ref=client_ref, episode_id=episode_id,
                    site_id=site_id, level=plan.level.value, kind=planned.kind.value,
                    modality=planned.modality.value if planned.modality else None,
                    starts_at=utc(planned.starts_at), duration_min=planned.duration_min,
                    status=SessionStatus.scheduled.value, scheduled_event_id=scheduled_event_id,
                    correlation_id=correlation_id)
        for planned in plan.sessions
    )
