"""Journey's views folded from the events, against its repository (ports.py), knowing no SQL:
every event kept as it came; a site's capacity per level, unless a newer figure came first;
placement's events read as episodes and level segments by contracts/stays.py (the fold interop
does too, so both give the same episodes and segments) and, here, as the flows between levels
and the waitlist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from carepath.messaging.consumer import Incoming
from carepath.persistence.db import as_utc
from contracts import Envelope, EventData
from contracts.events import CapacityChanged
from contracts.stays import (
    EpisodeState,
    Move,
    Opening,
    PlacementChange,
    SegmentEnd,
    Stay,
    StayEvent,
    fold_placement,
)
from services.journey.ports import (
    CapacityRow,
    EpisodeRow,
    EventRow,
    JourneyRepository,
    MoveRow,
    SegmentRow,
    WaitingRow,
)


@dataclass
class Projection:
    repo: JourneyRepository

    def record(self, event: Incoming) -> None:
        """Keep the event; fold it into the views it changes."""
        self.repo.save(event_row(event))
        match event.data:
            case CapacityChanged():
                self.set_capacity(event.data, event.envelope)
            case EventData(service="placement"):
                self.apply_placement(event.data, event.envelope)

    def set_capacity(self, data: CapacityChanged, envelope: Envelope) -> None:
        at = as_utc(envelope.time)
        for level, capacity in data.capacity.items():
            row = self.repo.capacity(data.site_id, level.value)
            if row is not None and row.as_of > at:
                continue  # a newer figure already arrived; this one is stale
            row = row or CapacityRow(site_id=data.site_id, level=level.value,
                                      capacity=capacity, as_of=at, event_id=envelope.id)
            row.capacity, row.as_of, row.event_id = capacity, at, envelope.id
            self.repo.save(row)

    def apply_placement(self, data: EventData, envelope: Envelope) -> None:
        event = StayEvent.of(envelope, at=as_utc(envelope.time))
        folded = fold_placement(JourneyStays(self.repo), data, event)
        if folded is None:
            return
        change = folded.change
        if folded.episode is None:  # about no episode (leaving a waitlist nobody saw)
            self._update_waitlist(change, event, None)
            return
        if change.voids_admission:
            self._void_admission(change, folded.was_open)
        if change.move is not None:
            self._count(change.move, event)
        self._update_waitlist(change, event, folded.episode.episode_id)

    def _count(self, move: Move, event: StayEvent) -> None:
        self.repo.save(MoveRow(event_id=event.event_id, client_ref=event.client_ref,
                                kind=move.kind.value, site_id=move.site_id,
                                to_site=move.to_site, from_level=move.from_level,
                                to_level=move.to_level, disposition=move.disposition,
                                at=event.at))

    def _void_admission(self, change: PlacementChange, segment: SegmentRow | None) -> None:
        """A cancelled admission never happened: its move no longer counts in the flows."""
        if change.admission_event_id:  # the event names it (as text)
            admission = _event_id(change.admission_event_id)
        else:  # the admission that started the segment it ends
            admission = segment.started_by if segment else None
        move = self.repo.flow_move(admission) if admission else None
        if move is not None:
            self.repo.delete(move)

    def _update_waitlist(self, change: PlacementChange, event: StayEvent,
                         episode_id: uuid.UUID | None) -> None:
        if change.leaves_waitlist:
            waiting = self.repo.waiting(event.client_ref)
            if waiting is not None:
                self.repo.delete(waiting)
        if change.waitlists is not None:
            place = change.waitlists
            entry = self.repo.waiting(event.client_ref) or WaitingRow(
                client_ref=event.client_ref, site_id=place.site_id, level=place.level,
                since=event.at)
            entry.site_id, entry.level = place.site_id, place.level
            entry.episode_id, entry.since = episode_id, event.at
            self.repo.save(entry)


@dataclass
class JourneyStays:
    """Journey's episodes and segments as contracts/stays.py folds them (`StayStore`): a
    segment keeps the events that started and ended it."""

    repo: JourneyRepository

    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None:
        return self.repo.episode(episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        return self.repo.open_episode_of(client_ref)

    def open_segment(self, episode: EpisodeRow) -> SegmentRow | None:
        return self.repo.open_segment(episode.episode_id)

    def add_episode(self, opening: Opening, event: StayEvent) -> EpisodeRow:
        episode = EpisodeRow(episode_id=opening.episode_id, client_ref=event.client_ref,
                          site_id=opening.site_id, status=opening.status.value,
                          opened_at=event.at)
        self.repo.save(episode)
        return episode

    def end_segment(self, segment: SegmentRow, reason: SegmentEnd, event: StayEvent) -> None:
        segment.ended_at, segment.end_reason = event.at, reason.value
        segment.ended_by = event.event_id
        self.repo.save(segment)

    def start_segment(self, episode: EpisodeRow, stay: Stay, event: StayEvent) -> SegmentRow:
        segment = SegmentRow(episode_id=episode.episode_id, client_ref=event.client_ref,
                          site_id=stay.site_id, level=stay.level, started_at=event.at,
                          started_by=event.event_id)
        self.repo.save(segment)
        return segment

    def update_episode(self, episode: EpisodeRow, state: EpisodeState, event: StayEvent) -> None:
        episode.status, episode.disposition, episode.site_id = (
            state.status, state.disposition, state.site_id)
        # Journey dates a discharged episode's close by its (latest) discharge.
        episode.closed_at = state.discharged_at or state.closed_at
        self.repo.save(episode)


def event_row(event: Incoming) -> EventRow:
    envelope = event.envelope
    return EventRow(
        id=envelope.id, client_ref=envelope.subject, episode_id=envelope.episodeid,
        site_id=envelope.siteid, type=envelope.type, name=type(event.data).event_name(),
        source=envelope.source, time=envelope.time, recorded_at=envelope.recordedat,
        causation_id=envelope.causationid, correlation_id=envelope.correlationid,
        trace_id=event.trace_id, data=envelope.data)


def _event_id(text: str) -> uuid.UUID | None:
    """An event id named in a payload; None if it is none (so names no event kept here)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
