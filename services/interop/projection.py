"""Interop's FHIR resources folded from the events, and for placement's events the ADT messages
of the HL7 v2 feed, against its repository (ports.py), knowing no SQL. Episodes and segments
(encounters) are read from events by contracts/stays.py, the fold journey does too: a replay
gives the same episodes with the same dates, and the same ids as journey's.

Times are the events' own (`envelope.time`), so a rebuild reproduces `meta.lastUpdated` too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from carepath.messaging.consumer import Incoming
from carepath.persistence.db import as_utc
from contracts import Envelope, EventData
from contracts.events import (
    AttendanceRecorded,
    ConsentRecorded,
    ConsentRevoked,
    RelapseRiskFlagged,
    SessionsCancelled,
    SessionsScheduled,
)
from contracts.stays import (
    EpisodeState,
    Opening,
    SegmentEnd,
    Stay,
    StayEvent,
    fold_placement,
)
from services.interop import adt
from services.interop.deps import InteropDeps
from services.interop.ports import (
    Appointment,
    Consent,
    Encounter,
    EpisodeOfCare,
    Flag,
    InteropRepository,
    Patient,
)

Touched = EpisodeOfCare | Encounter | Appointment | Consent


@dataclass
class Projection:
    repo: InteropRepository
    deps: InteropDeps

    def project(self, event: Incoming) -> None:
        """Fold the event into the resources it changes (a client's: a site's events are not
        projected, sites come from configuration)."""
        envelope, data = event.envelope, event.data
        if envelope.subject.startswith("site-"):
            return
        self.patient(envelope)
        match data:
            case SessionsScheduled():
                self.scheduled(data, envelope)
            case SessionsCancelled():
                self.cancelled(data, envelope)
            case AttendanceRecorded():
                self.attended(data, envelope)
            case RelapseRiskFlagged():
                self.flagged(data, envelope)
            case ConsentRecorded():
                self.consented(data, envelope)
            case ConsentRevoked():
                self.revoked(data, envelope)
            case EventData(service="placement"):
                self.placement(data, envelope)

    def patient(self, envelope: Envelope) -> None:
        """The client's Patient: first seen at their earliest event, at the site of their
        latest. Topics are not ordered among each other, so neither depends on the order of
        arrival (a replay builds the same row)."""
        at, event_id = as_utc(envelope.time), envelope.id
        row = self.repo.patient(envelope.subject)
        if row is None:
            row = Patient(client_ref=envelope.subject, site_id=envelope.siteid,
                             first_seen=at, last_updated=at, event_id=event_id)
        else:
            row.first_seen = min(row.first_seen, at)
            if envelope.siteid and (row.last_updated, row.event_id) < (at, event_id):
                row.site_id, row.last_updated, row.event_id = envelope.siteid, at, event_id
        self.repo.save(row)

    def placement(self, data: EventData, envelope: Envelope) -> None:
        """The episode and its encounters; with the feed on, the ADT message it means."""
        event = StayEvent.of(envelope, at=as_utc(envelope.time))
        folded = fold_placement(InteropStays(self.repo), data, event)
        if folded is None or folded.episode is None:
            return
        if self.deps.feed:
            message = adt.message_for(folded.change, data, envelope, episode=folded.episode,
                                      ended=folded.was_open, started=folded.started)
            if message is not None:
                adt.queue(self.repo, message, self.deps.adt)

    def scheduled(self, data: SessionsScheduled, envelope: Envelope) -> None:
        at = as_utc(envelope.time)
        found = self.repo.appointments_among([planned.session_id for planned in data.sessions])
        for planned in data.sessions:
            row = found.get(planned.session_id) or found.setdefault(
                planned.session_id, Appointment(
                    session_id=planned.session_id, client_ref=envelope.subject,
                    level=data.level.value, kind=planned.kind.value,
                    starts_at=planned.starts_at, duration_min=planned.duration_min,
                    status="scheduled", last_updated=at, event_id=envelope.id))
            row.episode_id = envelope.episodeid
            row.site_id = envelope.siteid
            row.modality = _modality(planned.modality)
            _touch(row, envelope.id, at)
            self.repo.save(row)

    def cancelled(self, data: SessionsCancelled, envelope: Envelope) -> None:
        at = as_utc(envelope.time)
        for row in self.repo.appointments_among(data.session_ids).values():
            if row.status == "scheduled":
                row.status = "cancelled"
                _touch(row, envelope.id, at)
                self.repo.save(row)

    def attended(self, data: AttendanceRecorded, envelope: Envelope) -> None:
        row = self.repo.appointment(data.session_id) or Appointment(
            session_id=data.session_id, client_ref=envelope.subject, level=data.level.value,
            kind=data.kind.value, starts_at=data.scheduled_at, duration_min=60,
            status="scheduled", episode_id=envelope.episodeid, site_id=envelope.siteid,
            last_updated=as_utc(envelope.time), event_id=envelope.id)
        row.status = data.status.value
        _touch(row, envelope.id, as_utc(envelope.time))
        self.repo.save(row)

    def flagged(self, data: RelapseRiskFlagged, envelope: Envelope) -> None:
        at = as_utc(envelope.time)
        self.repo.replace(Flag(
            flag_id=data.flag_id, client_ref=envelope.subject, episode_id=envelope.episodeid,
            site_id=envelope.siteid, severity=data.severity.value, score=data.score,
            indicators=sorted({i.code.value if i.code else i.name for i in data.indicators}),
            level=data.current_level.value if data.current_level else None,
            flagged_at=at, last_updated=at, event_id=envelope.id))

    def consented(self, data: ConsentRecorded, envelope: Envelope) -> None:
        at = as_utc(envelope.time)
        self.repo.replace(Consent(
            consent_id=data.consent_id, client_ref=envelope.subject, site_id=envelope.siteid,
            recipient_ref=data.recipient_ref, purpose=data.purpose,
            information=[i.value for i in data.information], expires_at=data.expires_at,
            expires_on=data.expires_on.value if data.expires_on else None,
            signed_at=data.signed_at, recorded_at=at, last_updated=at, event_id=envelope.id))

    def revoked(self, data: ConsentRevoked, envelope: Envelope) -> None:
        row = self.repo.consent(data.consent_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = as_utc(envelope.time)
            _touch(row, envelope.id, as_utc(envelope.time))
            self.repo.save(row)


@dataclass
class InteropStays:
    """Interop's episodes (EpisodeOfCare, with their status history) and encounters as
    contracts/stays.py folds them (`StayStore`): an encounter's id is the event that started
    it; every row the event changes names it and its time (`meta`)."""

    repo: InteropRepository

    def episode(self, episode_id: uuid.UUID) -> EpisodeOfCare | None:
        return self.repo.episode(episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeOfCare | None:
        return self.repo.open_episode_of(client_ref)

    def open_segment(self, episode: EpisodeOfCare) -> Encounter | None:
        return self.repo.open_encounter(episode.episode_id)

    def add_episode(self, opening: Opening, event: StayEvent) -> EpisodeOfCare:
        episode = EpisodeOfCare(episode_id=opening.episode_id, client_ref=event.client_ref,
                             site_id=opening.site_id, status=opening.status.value,
                             status_since=event.at, opened_at=event.at,
                             last_updated=event.at, event_id=event.event_id)
        self.repo.save(episode)
        return episode

    def end_segment(self, segment: Encounter, reason: SegmentEnd, event: StayEvent
                    ) -> None:
        segment.ended_at, segment.end_reason = event.at, reason.value
        _touch(segment, event.event_id, event.at)
        self.repo.save(segment)

    def start_segment(self, episode: EpisodeOfCare, stay: Stay, event: StayEvent
                      ) -> Encounter:
        encounter = Encounter(encounter_id=event.event_id, episode_id=episode.episode_id,
                                 client_ref=event.client_ref, site_id=stay.site_id,
                                 level=stay.level, started_at=event.at,
                                 last_updated=event.at, event_id=event.event_id)
        self.repo.save(encounter)
        return encounter

    def update_episode(self, episode: EpisodeOfCare, state: EpisodeState, event: StayEvent
                       ) -> None:
        if state.status != episode.status:  # the old status goes to the history
            episode.history = [*episode.history, {
                "status": episode.status, "start": episode.status_since.isoformat(),
                "end": event.at.isoformat()}]
            episode.status, episode.status_since = state.status, event.at
        episode.closed_at, episode.disposition, episode.site_id = (
            state.closed_at, state.disposition, state.site_id)
        _touch(episode, event.event_id, event.at)
        self.repo.save(episode)


def _modality(modality: Enum | None) -> str | None:
    return modality.value if modality else None


def _touch(row: Touched, event_id: uuid.UUID, at: datetime) -> None:
    """The row as of this event (FHIR `meta.lastUpdated` and `meta.source`)."""
    row.last_updated, row.event_id = at, event_id
