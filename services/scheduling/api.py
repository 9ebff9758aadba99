"""Scheduling's HTTP API: a client's sessions, and attendance per session."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from carepath.access import PrincipalDep
from carepath.runtime import RuntimeDep
from contracts import CausalLink, LevelOfCare
from contracts.envelope import CLIENT_REF_PATTERN
from contracts.events import AttendanceRecorded, AttendanceStatus, Modality, SessionKind
from services.scheduling import domain, store
from services.scheduling.domain import SessionStatus
from services.scheduling.store import CareSession

router = APIRouter(tags=["scheduling"])

ClientRef = Annotated[str, Path(pattern=CLIENT_REF_PATTERN)]
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
    episode_id: str | None
    attendance_recorded_at: datetime | None

    @classmethod
    def of(cls, row: CareSession) -> "SessionOut":
        return cls.model_validate(row.model_dump() | {
            "starts_at": store.utc(row.starts_at),
            "attendance_recorded_at": row.attendance_recorded_at
            and store.utc(row.attendance_recorded_at)})


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AttendanceStatus


@router.get("/clients/{client_ref}/sessions", response_model=list[SessionOut])
def list_sessions(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep,
                  status: SessionStatus | None = None) -> list[SessionOut]:
    """The client's sessions by start time; an unknown client has none (empty list), and so
    has a client at a site outside the caller's."""
    with runtime.uow.transaction() as tx:
        rows = store.sessions_of(tx.session, client_ref=client_ref, status=status)
        return [SessionOut.of(row) for row in rows if principal.sees(row.site_id)]


@router.post("/sessions/{session_id}/attendance", response_model=SessionOut)
def record_attendance(session_id: SessionId, body: AttendanceIn,
                      runtime: RuntimeDep, principal: PrincipalDep) -> SessionOut:
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        row = store.session_for_update(tx.session, session_id)
        principal.require_site(row.site_id, missing=f"no session {session_id!r}")
        domain.check_attendance_can_be_recorded(session_id, SessionStatus(row.status))
        row.status = body.status.value
        row.attendance_recorded_at = now
        tx.session.add(row)
        tx.emit(
            AttendanceRecorded(session_id=session_id, status=body.status,
                               kind=SessionKind(row.kind), level=LevelOfCare(row.level),
                               scheduled_at=store.utc(row.starts_at)),
            subject=row.client_ref, site_id=row.site_id,
            episode_id=uuid.UUID(row.episode_id) if row.episode_id else None,
            cause=CausalLink.parse(row.scheduled_event_id, row.correlation_id),
            time=now)
        return SessionOut.of(row)
