"""What journey's projection (projection.py) needs of storage — no SQL here: `store.SqlJourney`
keeps the views in the service's database, a test may keep them in memory. The rows (store's
SQLModel classes) are plain values to the projection: read and changed in memory, stored by
`save`."""

from __future__ import annotations

import uuid
from typing import Protocol

from services.journey.store import (
    Episode,
    FlowMove,
    JourneyTable,
    Segment,
    SiteCapacity,
    WaitlistEntry,
)


class JourneyRepository(Protocol):
    def episode(self, episode_id: uuid.UUID) -> Episode | None: ...

    def open_episode_of(self, client_ref: str) -> Episode | None:
        """The client's episode still in progress (waitlisted or active), the latest opened."""
        ...

    def open_segment(self, episode_id: uuid.UUID) -> Segment | None:
        """The episode's segment not ended yet (the latest started, were there several)."""
        ...

    def capacity(self, site_id: str, level: str) -> SiteCapacity | None: ...
    def flow_move(self, event_id: uuid.UUID) -> FlowMove | None: ...
    def waiting(self, client_ref: str) -> WaitlistEntry | None: ...

    def save(self, row: JourneyTable) -> None:
        """Store a row, new or read from here (a segment gets its id)."""
        ...

    def delete(self, row: FlowMove | WaitlistEntry) -> None:
        """Remove a row read from here; a row of the same key may be saved again after."""
        ...
