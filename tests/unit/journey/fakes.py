"""An in-memory stand-in for journey's views (`ports.JourneyRepository`), and `fold`, which
folds envelopes into it as the handler does (services/journey/handlers.py) — without a
database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TypeVar

from carepath.messaging.consumer import Incoming
from contracts import Envelope
from contracts.stays import OPEN_STATUSES
from services.journey.ports import (
    CapacityRow,
    EpisodeRow,
    EventRow,
    MoveRow,
    Row,
    SegmentRow,
    WaitingRow,
)
from services.journey.projection import Projection

R = TypeVar("R", bound=Row)


class FakeJourney:
    def __init__(self) -> None:
        self.events: dict[uuid.UUID, EventRow] = {}
        self.episodes: dict[uuid.UUID, EpisodeRow] = {}
        self.segments: dict[int, SegmentRow] = {}
        self.capacities: dict[tuple[str, str], CapacityRow] = {}
        self.moves: dict[uuid.UUID, MoveRow] = {}
        self.waitlist: dict[str, WaitingRow] = {}

    # -- ports.JourneyRepository ---------------------------------------------------------

    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None:
        return _copy(self.episodes.get(episode_id))

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        return _copy(max((e for e in self.episodes.values() if e.client_ref == client_ref
                          and e.status in OPEN_STATUSES),
                         key=lambda e: e.opened_at, default=None))

    def open_segment(self, episode_id: uuid.UUID) -> SegmentRow | None:
        return _copy(max((s for s in self.segments.values()
                          if s.episode_id == episode_id and s.ended_at is None),
                         key=lambda s: s.started_at, default=None))

    def capacity(self, site_id: str, level: str) -> CapacityRow | None:
        return _copy(self.capacities.get((site_id, level)))

    def flow_move(self, event_id: uuid.UUID) -> MoveRow | None:
        return _copy(self.moves.get(event_id))

    def waiting(self, client_ref: str) -> WaitingRow | None:
        return _copy(self.waitlist.get(client_ref))

    def save(self, row: Row) -> None:
        match row:
            case EventRow():
                assert row.id not in self.events, "an event was kept twice"
                self.events[row.id] = _copied(row)
            case EpisodeRow():
                self.episodes[row.episode_id] = _copied(row)
            case SegmentRow():
                if row.id is None:  # as the database numbers it
                    row.id = len(self.segments) + 1
                self.segments[row.id] = _copied(row)
            case CapacityRow():
                self.capacities[(row.site_id, row.level)] = _copied(row)
            case MoveRow():
                self.moves[row.event_id] = _copied(row)
            case WaitingRow():
                self.waitlist[row.client_ref] = _copied(row)
            case _:
                raise AssertionError(f"journey keeps no {type(row).__name__}")

    def delete(self, row: MoveRow | WaitingRow) -> None:
        if isinstance(row, MoveRow):
            del self.moves[row.event_id]
        else:
            del self.waitlist[row.client_ref]

    # -- what tests read -----------------------------------------------------------------

    def episodes_of(self, client_ref: str) -> list[EpisodeRow]:
        return sorted((e for e in self.episodes.values() if e.client_ref == client_ref),
                      key=lambda e: e.opened_at)

    def segments_of(self, episode_id: uuid.UUID) -> list[SegmentRow]:
        return [s for _, s in sorted(self.segments.items()) if s.episode_id == episode_id]

    def flows(self) -> list[tuple[str, str]]:
        return [(m.from_level, m.to_level) for m in sorted(self.moves.values(),
                                                          key=lambda m: m.at)]


def fold(*envelopes: Envelope, into: FakeJourney | None = None) -> FakeJourney:
    """The envelopes folded in order, as journey's handler folds each."""
    repo = into or FakeJourney()
    projection = Projection(repo)
    for envelope in envelopes:
        projection.record(Incoming(envelope=envelope, data=envelope.payload(), trace_id=None))
    return repo


def _copy(row: R | None) -> R | None:
    return None if row is None else _copied(row)


def _copied(row: R) -> R:
    """A value, not the stored row: a change counts once it is saved."""
    return replace(row)
