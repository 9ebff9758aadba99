"""Scheduling's tables and queries: each client's sessions, their status, and the
SessionsScheduled event that created each one (the cause of its attendance event)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Index, MetaData, bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import Field, SQLModel, col, select

from carepath.persistence.batch import insert_rows
from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.direct import run
from carepath.persistence.rows import statements_of
from carepath.persistence.uow import Transaction
from contracts import CausalLink
from services.scheduling.domain import Booking, Plan, SessionStatus


class SchedulingTable(SQLModel):
    metadata = MetaData()


class CareSession(SchedulingTable, table=True):
    __tablename__ = "care_session"
    __table_args__ = (Index("ix_care_session_client_starts", "client_ref", "starts_at"),)

    session_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(max_length=48)
    episode_id: uuid.UUID | None = None
    site_id: str | None = Field(default=None, max_length=64)
    level: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    modality: str | None = Field(default=None, max_length=40)
    starts_at: datetime = utc_column()
    duration_min: int
    status: str = Field(max_length=20)
    scheduled_event_id: uuid.UUID
    correlation_id: uuid.UUID
    attendance_recorded_at: datetime | None = utc_column(nullable=True)


metadata = SchedulingTable.metadata
outbox, inbox = runtime_tables(metadata)

# The consume path's statements, built once with bound parameters (carepath/persistence/rows.py
# says why).
_sessions = CareSession.__table__  # type: ignore[attr-defined]
SCHEDULED_OF = (core_select(_sessions.c.session_id, _sessions.c.starts_at)
                .where(_sessions.c.client_ref == bindparam("client_ref"),
                       _sessions.c.status == SessionStatus.scheduled.value)
                .with_for_update())
SESSION_FOR_UPDATE = statements_of(_sessions).get.with_for_update()
CANCEL = (update(_sessions).where(_sessions.c.session_id.in_(bindparam("ids", expanding=True)))
          .values(status=SessionStatus.cancelled.value))


class SqlSessions:
    """Scheduling's sessions in its database, in the transaction of one unit of work
    (`ports.SessionRepository`, and the API's listing through the ORM)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.connection = tx.connection

    @classmethod
    def of(cls, tx: Transaction) -> SqlSessions:
        return cls(tx)

    def sessions_of(self, client_ref: str, *, status: SessionStatus | None = None
                    ) -> Sequence[CareSession]:
        query = select(CareSession).where(CareSession.client_ref == client_ref)
        if status is not None:
            query = query.where(CareSession.status == status.value)
        return self.tx.session.exec(query.order_by(col(CareSession.starts_at),
                                                   col(CareSession.session_id))).all()

    def scheduled_of(self, client_ref: str) -> list[Booking]:
        """The client's sessions still `scheduled`, locked against a concurrent attendance
        record."""
        found = run(self.connection, SCHEDULED_OF, {"client_ref": client_ref})
        return [Booking(session_id=session_id, status=SessionStatus.scheduled,
                        starts_at=starts_at) for session_id, starts_at in found]

    def cancel(self, session_ids: Sequence[str]) -> None:
        run(self.connection, CANCEL, {"ids": list(session_ids)})

    def add_plan(self, plan: Plan, *, client_ref: str, episode_id: uuid.UUID | None,
                 site_id: str | None, scheduled_by: CausalLink) -> None:
        # The plan's rows at once, as plain values (`COPY` on PostgreSQL): a plan holds dozens
        # of sessions, and an ORM object costs ~30 us to construct before it is ever written.
        common = {"client_ref": client_ref, "episode_id": episode_id, "site_id": site_id,
                  "level": plan.level.value, "status": SessionStatus.scheduled.value,
                  "scheduled_event_id": scheduled_by.event_id,
                  "correlation_id": scheduled_by.correlation_id}
        insert_rows(self.connection, _sessions, [
            {**common, "session_id": planned.session_id, "kind": planned.kind.value,
             "modality": planned.modality.value if planned.modality else None,
             "starts_at": planned.starts_at, "duration_min": planned.duration_min}
            for planned in plan.sessions])

    def session_for_update(self, session_id: str) -> CareSession | None:
        found = run(self.connection, SESSION_FOR_UPDATE,
                    {"key_session_id": session_id}).mappings()
        return CareSession(**found[0]) if found else None

    def save(self, row: CareSession) -> None:
        """Store the row whole (a value, not one the ORM tracks: no flush)."""
        statements, connection = statements_of(_sessions), self.connection
        values = row.model_dump()
        if run(connection, statements.update, statements.keyed(dict(values))).rowcount == 0:
            run(connection, statements.insert, values)
