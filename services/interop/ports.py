"""What interop's projection (projection.py) needs of storage — no SQL here: `store.SqlInterop`
keeps the resources' rows and the ADT feed's outbox in the service's database, a test may keep
them in memory. The rows (store's SQLModel classes) are plain values to the projection: read
and changed in memory, stored by `save` (or `replace`)."""

from __future__ import annotations

import uuid
from typing import Protocol

from services.interop.store import (
    AppointmentRow,
    ConsentRow,
    EncounterRow,
    EpisodeRow,
    FlagRow,
    InteropTable,
    PatientRow,
)


class InteropRepository(Protocol):
    def patient(self, client_ref: str) -> PatientRow | None: ...
    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None: ...

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        """The client's episode still in progress (waitlisted or active), the latest opened."""
        ...

    def open_encounter(self, episode_id: uuid.UUID) -> EncounterRow | None:
        """The episode's encounter (level segment) not ended yet (the latest started)."""
        ...

    def appointment(self, session_id: str) -> AppointmentRow | None: ...
    def consent(self, consent_id: str) -> ConsentRow | None: ...

    def save(self, row: InteropTable) -> None:
        """Store a row, new or read from here (an ADT message is queued)."""
        ...

    def replace(self, row: FlagRow | ConsentRow) -> None:
        """Store a row whole in place of any stored under its id."""
        ...
