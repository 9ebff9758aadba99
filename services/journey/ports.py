"""What journey's projection (projection.py) works on and needs of storage — no SQL here. The
rows are plain values with the columns of store.py's tables (a unit test holds them equal):
the projection reads, changes and `save`s them. `store.SqlJourney` keeps them in the service's
database, `replay.MemoryJourney` in memory for a rebuild, a test in a fake."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar


@dataclass(slots=True)
class EventRow:
    """An event as consumed (table journey_event)."""

    id: uuid.UUID
    client_ref: str
    episode_id: uuid.UUID | None
    site_id: str | None
    type: str
    name: str
    source: str
    time: datetime
    recorded_at: datetime
    causation_id: uuid.UUID | None
    correlation_id: uuid.UUID
    trace_id: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EpisodeRow:
    episode_id: uuid.UUID
    client_ref: str
    site_id: str
    status: str
    opened_at: datetime
    disposition: str | None = None
    closed_at: datetime | None = None


@dataclass(slots=True)
class SegmentRow:
    """A stretch of an episode at one level and site; `id` is the database's, None until saved."""

    episode_id: uuid.UUID
    client_ref: str
    site_id: str
    level: str
    started_at: datetime
    started_by: uuid.UUID
    ended_at: datetime | None = None
    end_reason: str | None = None
    ended_by: uuid.UUID | None = None
    id: int | None = None


@dataclass(slots=True)
class WaitingRow:
    client_ref: str
    site_id: str
    level: str
    since: datetime
    episode_id: uuid.UUID | None = None


@dataclass(slots=True)
class CapacityRow:
    site_id: str
    level: str
    capacity: int
    as_of: datetime
    event_id: uuid.UUID


@dataclass(slots=True)
class MoveRow:
    """A move counted in the flows (table flow_move)."""

    event_id: uuid.UUID
    client_ref: str
    kind: str
    site_id: str
    from_level: str
    to_level: str
    at: datetime
    to_site: str | None = None
    disposition: str | None = None


Row = EventRow | EpisodeRow | SegmentRow | WaitingRow | CapacityRow | MoveRow


class JourneyRepository(Protocol):
    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None: ...

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        """The client's episode still in progress (waitlisted or active), the latest opened."""
        ...

    def open_segment(self, episode_id: uuid.UUID) -> SegmentRow | None:
        """The episode's segment not ended yet (the latest started, were there several)."""
        ...

    def capacity(self, site_id: str, level: str) -> CapacityRow | None: ...
    def flow_move(self, event_id: uuid.UUID) -> MoveRow | None: ...
    def waiting(self, client_ref: str) -> WaitingRow | None: ...

    def save(self, row: Row) -> None:
        """Store a row, new or read from here (a new segment gets its id)."""
        ...

    def delete(self, row: MoveRow | WaitingRow) -> None:
        """Remove a row read from here; a row of the same key may be saved again after."""
        ...


R = TypeVar("R")


def latest(rows: Iterable[R], key: Callable[[R], datetime]) -> R | None:
    """The latest row by `key`, as a query's `order by … desc` `first()`; of equals, the first
    (`JourneyRepository.open_episode_of` and `open_segment`, in memory)."""
    return max(rows, key=key, default=None)
