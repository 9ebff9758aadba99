"""Scheduling's HTTP API: a client's sessions, and attendance per session."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from carepath.app.spec import RuntimeDep
from carepath.http.access import PrincipalDep
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import AttendanceStatus, Modality, SessionKind
from services.scheduling.domain import SessionStatus
from services.scheduling.scheduler import Scheduler
from services.scheduling.store import CareSession, SqlSessions

router = APIRouter(tags=["scheduling"])

SessionId = Annotated[str, Path(min_length=1, max_length=64)]


class SessionOut(BaseModel):
    session_id: str
    kind: SessionKind
    modality: Modality | None
    starts_at: datetime
    duration_min: int
    status: SessionStatus
    level: LevelOfCare
    site_id: str | None
    episode_id: uuid.UUID | None
    attendance_recorded_at: datetime | None

    @classmethod
    def of(cls, row: CareSession) -> "SessionOut":
        return cls.model_validate(row.model_dump())


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AttendanceStatus


@router.get("/clients/{client_ref}/sessions", response_model=list[SessionOut])
def list_sessions(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep,
                  status: SessionStatus | None = None) -> list[SessionOut]:
    """The client's sessions by start time; an unknown client has none (empty list), and so
    has a client at a site outside the caller's."""
    with runtime.uow.transaction() as tx:
        rows = SqlSessions.of(tx).sessions_of(client_ref, status=status)
        return [SessionOut.of(row) for row in rows if principal.sees(row.site_id)]


@router.post("/sessions/{session_id}/attendance", response_model=SessionOut)
def record_attendance(session_id: SessionId, body: AttendanceIn,
                      runtime: RuntimeDep, principal: PrincipalDep) -> SessionOut:
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        row = Scheduler(repo=SqlSessions.of(tx), outbox=tx).record_attendance(
            session_id, body.status, principal=principal, now=now)
        return SessionOut.of(row)
