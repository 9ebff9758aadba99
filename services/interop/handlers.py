"""Every event on every topic, folded into the resources the FHIR API serves and, for placement's
events, the ADT messages of the HL7 v2 feed — in the same transaction (the inbox makes a
redelivery a no-op, so a message is queued once). Episodes and segments are read from events by
contracts/stays.py, as journey reads them: a replay gives the same episodes with the same dates.

Times are the events' own (`envelope.time`), so a rebuild reproduces `meta.lastUpdated` too."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.db import as_utc
from carepath.persistence.uow import Transaction
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
    OPEN_STATUSES,
    UNKNOWN_SITE,
    EpisodeStatus,
    PlacementChange,
    Stay,
    next_status,
    placement_change,
)
from services.interop import adt
from services.interop.deps import InteropDeps
from services.interop.store import (
    AppointmentRow,
    ConsentRow,
    EncounterRow,
    EpisodeRow,
    FlagRow,
    PatientRow,
)

handlers = EventHandlers()
# The same namespace as journey's: an episode first seen without an id gets the same one there.
EPISODE_NAMESPACE = uuid.UUID("6f1c4a52-8d0e-4d59-9a43-2f7c1b9e0d11")


@handlers.on_every_event
def project(event: Incoming, tx: Transaction, deps: InteropDeps) -> None:
    envelope, session = event.envelope, tx.session
    if envelope.subject.startswith("site-"):
        return  # about a site (capacity), not a client: sites come from configuration
    _patient(session, envelope)
    match event.data:
        case SessionsScheduled():
            _scheduled(session, event.data, envelope)
        case SessionsCancelled():
            _cancelled(session, event.data, envelope)
        case AttendanceRecorded():
            _attended(session, event.data, envelope)
        case RelapseRiskFlagged():
            _flagged(session, event.data, envelope)
        case ConsentRecorded():
            _consented(session, event.data, envelope)
        case ConsentRevoked():
            _revoked(session, event.data, envelope)
        case EventData(service="placement"):
            _placement(session, event.data, envelope, deps)


def _patient(session: Session, envelope: Envelope) -> None:
    """The client's Patient: first seen at their earliest event, at the site of their latest.
    Topics are not ordered among each other, so neither depends on the order of arrival (a
    replay builds the same row)."""
    at, event_id = _at(envelope), envelope.id
    row = session.get(PatientRow, envelope.subject)
    if row is None:
        row = PatientRow(client_ref=envelope.subject, site_id=envelope.siteid, first_seen=at,
                         last_updated=at, event_id=event_id)
    else:
        row.first_seen = min(row.first_seen, at)
        if envelope.siteid and (row.last_updated, row.event_id) < (at, event_id):
            row.site_id, row.last_updated, row.event_id = envelope.siteid, at, event_id
    session.add(row)


def _placement(session: Session, data: EventData, envelope: Envelope, deps: InteropDeps
               ) -> None:
    episode = _known_episode(session, envelope)
    segment = _open_segment(session, episode.episode_id) if episode else None
    current = Stay(segment.level, segment.site_id) if segment else None
    change = placement_change(data, site_id=envelope.siteid, current=current)
    if change is None or (episode is None and change.status is None):
        return
    episode = episode or _new_episode(session, envelope, change)
    if segment is not None and change.ends_stay:
        segment.ended_at, segment.end_reason = _at(envelope), change.ends_stay.value
        _touch(segment, envelope)
        session.add(segment)
    started = None
    if change.starts is not None:
        started = EncounterRow(encounter_id=envelope.id, episode_id=episode.episode_id,
                               client_ref=envelope.subject, site_id=change.starts.site_id,
                               level=change.starts.level, started_at=_at(envelope),
                               last_updated=_at(envelope), event_id=envelope.id)
        session.add(started)
    _update_episode(episode, change, envelope)
    session.add(episode)
    if deps.feed:
        message = adt.message_for(change, data, envelope, episode=episode, ended=segment,
                                  started=started)
        if message is not None:
            adt.queue(session, message, deps.adt)


def _known_episode(session: Session, envelope: Envelope) -> EpisodeRow | None:
    if envelope.episodeid is not None:
        return session.get(EpisodeRow, envelope.episodeid)
    return session.exec(
        select(EpisodeRow)
        .where(EpisodeRow.client_ref == envelope.subject,
               col(EpisodeRow.status).in_(OPEN_STATUSES))
        .order_by(col(EpisodeRow.opened_at).desc())
    ).first()


def _new_episode(session: Session, envelope: Envelope, change: PlacementChange) -> EpisodeRow:
    episode_id = envelope.episodeid or uuid.uuid5(EPISODE_NAMESPACE, str(envelope.id))
    place = change.starts or change.waitlists
    site = place.site_id if place else envelope.siteid or UNKNOWN_SITE
    status = EpisodeStatus.active if change.starts else EpisodeStatus.waitlisted
    episode = EpisodeRow(episode_id=episode_id, client_ref=envelope.subject, site_id=site,
                         status=status.value, status_since=_at(envelope),
                         opened_at=_at(envelope), last_updated=_at(envelope),
                         event_id=envelope.id)
    session.add(episode)
    return episode


def _open_segment(session: Session, episode_id: uuid.UUID) -> EncounterRow | None:
    return session.exec(
        select(EncounterRow)
        .where(EncounterRow.episode_id == episode_id, col(EncounterRow.ended_at).is_(None))
        .order_by(col(EncounterRow.started_at).desc())
    ).first()


def _update_episode(episode: EpisodeRow, change: PlacementChange, envelope: Envelope) -> None:
    if change.status is not None:
        status = next_status(episode.status, change.status)
        if status != episode.status:  # the old status goes to the history (statusHistory)
            episode.history = [*episode.history, {
                "status": episode.status, "start": episode.status_since.isoformat(),
                "end": _at(envelope).isoformat()}]
            episode.status, episode.status_since = status, _at(envelope)
        episode.closed_at = (None if episode.status in OPEN_STATUSES
                             else episode.closed_at or _at(envelope))
    if change.status is EpisodeStatus.discharged:
        episode.disposition = change.disposition
    if change.starts is not None:
        episode.site_id = change.starts.site_id
    _touch(episode, envelope)


def _scheduled(session: Session, data: SessionsScheduled, envelope: Envelope) -> None:
    for planned in data.sessions:
        row = session.get(AppointmentRow, planned.session_id) or AppointmentRow(
            session_id=planned.session_id, client_ref=envelope.subject,
            level=data.level.value, kind=planned.kind.value, starts_at=planned.starts_at,
            duration_min=planned.duration_min, status="scheduled",
            last_updated=_at(envelope), event_id=envelope.id)
        row.episode_id = envelope.episodeid
        row.site_id = envelope.siteid
        row.modality = planned.modality.value if planned.modality else None
        _touch(row, envelope)
        session.add(row)


def _cancelled(session: Session, data: SessionsCancelled, envelope: Envelope) -> None:
    for session_id in data.session_ids:
        row = session.get(AppointmentRow, session_id)
        if row is not None and row.status == "scheduled":
            row.status = "cancelled"
            _touch(row, envelope)
            session.add(row)


def _attended(session: Session, data: AttendanceRecorded, envelope: Envelope) -> None:
    row = session.get(AppointmentRow, data.session_id) or AppointmentRow(
        session_id=data.session_id, client_ref=envelope.subject, level=data.level.value,
        kind=data.kind.value, starts_at=data.scheduled_at, duration_min=60,
        status="scheduled", episode_id=envelope.episodeid, site_id=envelope.siteid,
        last_updated=_at(envelope), event_id=envelope.id)
    row.status = data.status.value
    _touch(row, envelope)
    session.add(row)


def _flagged(session: Session, data: RelapseRiskFlagged, envelope: Envelope) -> None:
    session.merge(FlagRow(
        flag_id=data.flag_id, client_ref=envelope.subject, episode_id=envelope.episodeid,
        site_id=envelope.siteid, severity=data.severity.value, score=data.score,
        indicators=sorted({i.code.value if i.code else i.name for i in data.indicators}),
        level=data.current_level.value if data.current_level else None,
        flagged_at=_at(envelope), last_updated=_at(envelope), event_id=envelope.id))


def _consented(session: Session, data: ConsentRecorded, envelope: Envelope) -> None:
    session.merge(ConsentRow(
        consent_id=data.consent_id, client_ref=envelope.subject, site_id=envelope.siteid,
        recipient_ref=data.recipient_ref, purpose=data.purpose,
        information=[i.value for i in data.information], expires_at=data.expires_at,
        expires_on=data.expires_on.value if data.expires_on else None,
        signed_at=data.signed_at, recorded_at=_at(envelope), last_updated=_at(envelope),
        event_id=envelope.id))


def _revoked(session: Session, data: ConsentRevoked, envelope: Envelope) -> None:
    row = session.get(ConsentRow, data.consent_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = _at(envelope)
        _touch(row, envelope)
        session.add(row)


def _touch(row: EpisodeRow | EncounterRow | AppointmentRow | ConsentRow, envelope: Envelope
           ) -> None:
    row.last_updated, row.event_id = _at(envelope), envelope.id


def _at(envelope: Envelope) -> datetime:
    return as_utc(envelope.time)
