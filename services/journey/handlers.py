"""Every event on every topic: kept as it came, and folded into the views in the same
transaction (the inbox makes a redelivery a no-op)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.db import as_utc
from carepath.persistence.uow import Transaction
from contracts import Envelope, EventData
from contracts.events import CapacityChanged
from services.journey import domain
from services.journey.domain import OPEN_STATUSES, EpisodeStatus, PlacementChange, Stay
from services.journey.store import (
    Episode,
    FlowMove,
    JourneyEvent,
    Segment,
    SiteCapacity,
    WaitlistEntry,
)

handlers = EventHandlers()
EPISODE_NAMESPACE = uuid.UUID("6f1c4a52-8d0e-4d59-9a43-2f7c1b9e0d11")


@handlers.on_every_event
def record(event: Incoming, tx: Transaction, deps: object) -> None:
    tx.session.add(event_row(event))
    match event.data:
        case CapacityChanged():
            set_capacity(tx.session, event.data, event.envelope)
        case EventData(service="placement"):
            apply_placement(tx.session, event.data, event.envelope)


def event_row(event: Incoming) -> JourneyEvent:
    envelope = event.envelope
    return JourneyEvent(
        id=envelope.id, client_ref=envelope.subject, episode_id=envelope.episodeid,
        site_id=envelope.siteid, type=envelope.type, name=type(event.data).event_name(),
        source=envelope.source, time=envelope.time, recorded_at=envelope.recordedat,
        causation_id=envelope.causationid, correlation_id=envelope.correlationid,
        trace_id=event.trace_id, data=envelope.data)


def set_capacity(session: Session, data: CapacityChanged, envelope: Envelope) -> None:
    for level, capacity in data.capacity.items():
        row = session.get(SiteCapacity, (data.site_id, level.value))
        if row is not None and row.as_of > _at(envelope):
            continue  # a newer figure already arrived; this one is stale
        row = row or SiteCapacity(site_id=data.site_id, level=level.value, capacity=capacity,
                                  as_of=_at(envelope), event_id=envelope.id)
        row.capacity, row.as_of, row.event_id = capacity, _at(envelope), envelope.id
        session.add(row)


def apply_placement(session: Session, data: EventData, envelope: Envelope) -> None:
    episode = _known_episode(session, envelope)
    segment = _open_segment(session, episode.episode_id) if episode else None
    current = Stay(segment.level, segment.site_id) if segment else None
    change = domain.placement_change(data, site_id=envelope.siteid, current=current)
    if change is None:
        return
    if episode is None and change.status is None:  # leaving a waitlist nobody saw: no episode
        _update_waitlist(session, change, envelope, None)
        return
    episode = episode or _new_episode(session, envelope, change)
    if segment is not None and change.ends_stay:
        segment.ended_at, segment.end_reason = _at(envelope), change.ends_stay.value
        segment.ended_by = envelope.id
        session.add(segment)
    if change.voids_admission:
        _void_admission(session, change, segment)
    if change.starts is not None:
        session.add(Segment(episode_id=episode.episode_id, client_ref=envelope.subject,
                            site_id=change.starts.site_id, level=change.starts.level,
                            started_at=_at(envelope), started_by=envelope.id))
    if change.move is not None:
        _count_move(session, change, envelope)
    _update_episode(session, episode, change, envelope)
    _update_waitlist(session, change, envelope, episode.episode_id)


def _known_episode(session: Session, envelope: Envelope) -> Episode | None:
    if envelope.episodeid is not None:
        return session.get(Episode, envelope.episodeid)
    # No episode on the event: the client's episode still in progress, if there is one.
    return session.exec(
        select(Episode)
        .where(Episode.client_ref == envelope.subject,
               col(Episode.status).in_(OPEN_STATUSES))
        .order_by(col(Episode.opened_at).desc())
    ).first()


def _new_episode(session: Session, envelope: Envelope, change: PlacementChange) -> Episode:
    episode_id = envelope.episodeid
    if episode_id is None:  # deterministic, so a replay builds the same view
        episode_id = uuid.uuid5(EPISODE_NAMESPACE, str(envelope.id))
    place = change.starts or change.waitlists
    site = place.site_id if place else envelope.siteid or domain.UNKNOWN_SITE
    # A segment starting in an episode never seen before: journey joined it mid-way.
    status = EpisodeStatus.active if change.starts else EpisodeStatus.waitlisted
    episode = Episode(episode_id=episode_id, client_ref=envelope.subject, site_id=site,
                      status=status.value, opened_at=_at(envelope))
    session.add(episode)
    return episode


def _open_segment(session: Session, episode_id: uuid.UUID) -> Segment | None:
    return session.exec(
        select(Segment)
        .where(Segment.episode_id == episode_id, col(Segment.ended_at).is_(None))
        .order_by(col(Segment.started_at).desc())
    ).first()


def _count_move(session: Session, change: PlacementChange, envelope: Envelope) -> None:
    move = change.move
    assert move is not None
    session.add(FlowMove(event_id=envelope.id, client_ref=envelope.subject,
                         kind=move.kind.value, site_id=move.site_id, to_site=move.to_site,
                         from_level=move.from_level, to_level=move.to_level,
                         disposition=move.disposition, at=_at(envelope)))


def _void_admission(session: Session, change: PlacementChange, segment: Segment | None
                    ) -> None:
    """A cancelled admission never happened: its move no longer counts in the flows."""
    if change.admission_event_id:  # the event names it (as text)
        admission = _event_id(change.admission_event_id)
    else:  # the admission that started the segment it ends
        admission = segment.started_by if segment else None
    move = session.get(FlowMove, admission) if admission else None
    if move is not None:
        session.delete(move)


def _update_episode(session: Session, episode: Episode, change: PlacementChange,
                    envelope: Envelope) -> None:
    if change.status is not None:
        episode.status = domain.next_status(episode.status, change.status)
        episode.closed_at = (None if episode.status in OPEN_STATUSES
                             else episode.closed_at or _at(envelope))
    if change.status is EpisodeStatus.discharged:
        episode.disposition, episode.closed_at = change.disposition, _at(envelope)
    if change.starts is not None:
        episode.site_id = change.starts.site_id
    session.add(episode)


def _update_waitlist(session: Session, change: PlacementChange, envelope: Envelope,
                     episode_id: uuid.UUID | None) -> None:
    if change.leaves_waitlist:
        waiting = session.get(WaitlistEntry, envelope.subject)
        if waiting is not None:
            session.delete(waiting)
            session.flush()
    if change.waitlists is not None:
        entry = session.get(WaitlistEntry, envelope.subject) or WaitlistEntry(
            client_ref=envelope.subject, site_id=change.waitlists.site_id,
            level=change.waitlists.level, since=_at(envelope))
        entry.site_id, entry.level = change.waitlists.site_id, change.waitlists.level
        entry.episode_id, entry.since = episode_id, _at(envelope)
        session.add(entry)


def _event_id(text: str) -> uuid.UUID | None:
    """An event id named in a payload; None if it is none (so names no event kept here)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _at(envelope: Envelope) -> datetime:
    """The event's moment in UTC (a producer may send it without a zone), as the views hold
    it and compare it with stored moments."""
    return as_utc(envelope.time)
