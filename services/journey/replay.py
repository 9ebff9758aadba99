"""Journey rebuilt in bulk (`carepath rebuild journey`, `ServiceSpec.bulk_replay`): the same
`Projection` as the handler, on `MemoryJourney` — the views in memory, which is the whole truth
while a rebuild fills empty tables — then written chunk by chunk through `BulkWriter` (`COPY`
on PostgreSQL, the driver's `executemany` elsewhere). Every event's row goes out as the replay
reaches it; the views (episodes, segments, flows, waitlist, capacity: a few rows per client)
at the end. Equal, row for row and value for value, to what the handler builds
(tests/integration/journey/test_bulk_replay.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from carepath.messaging.consumer import Incoming
from carepath.persistence.batch import BulkWriter
from contracts.stays import OPEN_STATUSES
from services.journey.ports import (
    CapacityRow,
    EpisodeRow,
    EventRow,
    MoveRow,
    Row,
    SegmentRow,
    WaitingRow,
    latest,
)
from services.journey.projection import Projection
from services.journey.store import TABLE_OF

CHUNK = 5_000  # rows a statement


class MemoryJourney:
    """Journey's views in memory (`ports.JourneyRepository`), authoritative for a rebuild into
    empty tables: rows are live objects, as a session's are; event rows wait to be written."""

    def __init__(self) -> None:
        self.events: list[EventRow] = []  # not written yet
        self.episodes: dict[uuid.UUID, EpisodeRow] = {}
        self.episodes_of: defaultdict[str, list[EpisodeRow]] = defaultdict(list)
        self.segments: list[SegmentRow] = []  # in the order the database would number them
        self.segments_of: defaultdict[uuid.UUID, list[SegmentRow]] = defaultdict(list)
        self.capacities: dict[tuple[str, str], CapacityRow] = {}
        self.moves: dict[uuid.UUID, MoveRow] = {}
        self.waitlist: dict[str, WaitingRow] = {}

    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None:
        return self.episodes.get(episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        return latest((e for e in self.episodes_of.get(client_ref, ())
                        if e.status in OPEN_STATUSES), key=lambda e: e.opened_at)

    def open_segment(self, episode_id: uuid.UUID) -> SegmentRow | None:
        return latest((s for s in self.segments_of.get(episode_id, ()) if s.ended_at is None),
                       key=lambda s: s.started_at)

    def capacity(self, site_id: str, level: str) -> CapacityRow | None:
        return self.capacities.get((site_id, level))

    def flow_move(self, event_id: uuid.UUID) -> MoveRow | None:
        return self.moves.get(event_id)

    def waiting(self, client_ref: str) -> WaitingRow | None:
        return self.waitlist.get(client_ref)

    def save(self, row: Row) -> None:
        match row:
            case EventRow():
                self.events.append(row)
            case EpisodeRow():
                if row.episode_id not in self.episodes:
                    self.episodes[row.episode_id] = row
                    self.episodes_of[row.client_ref].append(row)
            case SegmentRow():
                if row.id is None:  # numbered as the database would, in the order of saving
                    self.segments.append(row)
                    row.id = len(self.segments)
                    self.segments_of[row.episode_id].append(row)
            case CapacityRow():
                self.capacities[(row.site_id, row.level)] = row
            case MoveRow():
                self.moves[row.event_id] = row
            case WaitingRow():
                self.waitlist[row.client_ref] = row
            case _:
                raise TypeError(f"journey keeps no {type(row).__name__}")

    def delete(self, row: MoveRow | WaitingRow) -> None:
        if isinstance(row, MoveRow):
            self.moves.pop(row.event_id, None)
        else:
            self.waitlist.pop(row.client_ref, None)


class JourneyReplay:
    """`BulkReplay` for journey: the projection on `MemoryJourney`, written in chunks. (Its
    projection needs nothing of the service's configuration.)"""

    def __init__(self, engine: Engine, deps: object = None) -> None:
        self.views = MemoryJourney()
        self.projection = Projection(self.views)
        self.writer = BulkWriter(engine, TABLE_OF, CHUNK)

    def apply(self, events: Sequence[Incoming]) -> None:
        for event in events:
            self.projection.record(event)
        if len(self.views.events) >= CHUNK:
            self._write_events()

    def close(self) -> None:
        self._write_events()
        views = self.views
        # The database numbers the segments (a live table goes on numbering after them).
        self.writer.write(SegmentRow, views.segments, without=("id",))
        for model, rows in ((EpisodeRow, views.episodes.values()),
                            (CapacityRow, views.capacities.values()),
                            (MoveRow, views.moves.values()),
                            (WaitingRow, views.waitlist.values())):
            self.writer.write(model, rows)

    def _write_events(self) -> None:
        self.writer.write(EventRow, self.views.events)
        self.views.events = []
