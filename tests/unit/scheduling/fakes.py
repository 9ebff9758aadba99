"""An in-memory stand-in for scheduling's sessions (`ports.SessionRepository`); the outbox is
tests/support.py's `FakeOutbox`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from contracts import CausalLink
from services.scheduling.domain import Booking, Plan, SessionStatus
from services.scheduling.store import CareSession


class FakeSessions:
    def __init__(self) -> None:
        self.rows: dict[str, CareSession] = {}

    def scheduled_of(self, client_ref: str) -> list[Booking]:
        return [Booking(session_id=row.session_id, status=SessionStatus(row.status),
                        starts_at=row.starts_at) for row in self.rows.values()
                if row.client_ref == client_ref and row.status == SessionStatus.scheduled]

    def cancel(self, session_ids: Sequence[str]) -> None:
        for session_id in session_ids:
            self.rows[session_id].status = SessionStatus.cancelled.value

    def add_plan(self, plan: Plan, *, client_ref: str, episode_id: uuid.UUID | None,
                 site_id: str | None, scheduled_by: CausalLink) -> None:
        for planned in plan.sessions:
            assert planned.session_id not in self.rows, "a session id was planned twice"
            self.rows[planned.session_id] = CareSession(
                session_id=planned.session_id, client_ref=client_ref, episode_id=episode_id,
                site_id=site_id, level=plan.level.value, kind=planned.kind.value,
                modality=planned.modality.value if planned.modality else None,
                starts_at=planned.starts_at, duration_min=planned.duration_min,
                status=SessionStatus.scheduled.value, scheduled_event_id=scheduled_by.event_id,
                correlation_id=scheduled_by.correlation_id)

    def session_for_update(self, session_id: str) -> CareSession | None:
        row = self.rows.get(session_id)
        return _copy(row) if row else None

    def save(self, row: CareSession) -> None:
        self.rows[row.session_id] = _copy(row)

    def of(self, client_ref: str, status: SessionStatus | None = None) -> list[CareSession]:
        return sorted((row for row in self.rows.values() if row.client_ref == client_ref
                       and (status is None or row.status == status.value)),
                      key=lambda row: (row.starts_at, row.session_id))


def _copy(row: CareSession) -> CareSession:
    """A value, not the stored row: a change counts once it is saved."""
    return CareSession.model_validate(row.model_dump())
