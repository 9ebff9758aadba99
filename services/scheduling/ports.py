"""What scheduling's handlers and attendance API need of storage and of the unit of work they
run in — no SQL here: `store.SqlSessions` keeps the sessions in the service's database, a test
may keep them in memory. The rows (store's `CareSession`) are plain values to them: read and
changed in memory, stored by `save`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from contracts import CausalLink, Envelope, EventData
from services.scheduling.domain import Booking, Plan
from services.scheduling.store import CareSession


class SessionRepository(Protocol):
    def scheduled_of(self, client_ref: str) -> list[Booking]:
        """The client's sessions still `scheduled`, held against a concurrent attendance
        record until the unit of work ends."""
        ...

    def cancel(self, session_ids: Sequence[str]) -> None: ...

    def add_plan(self, plan: Plan, *, client_ref: str, episode_id: uuid.UUID | None,
                 site_id: str | None, scheduled_by: CausalLink) -> None:
        """The plan's sessions, `scheduled`; `scheduled_by` is the SessionsScheduled event
        (the cause of each session's attendance event)."""
        ...

    def session_for_update(self, session_id: str) -> CareSession | None: ...

    def save(self, row: CareSession) -> None: ...


class Outbox(Protocol):
    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...
