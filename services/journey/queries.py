"""Reads of the journey views, shaped for the reports in `reports.py` and the HTTP API."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from contracts.events import (
    AttendanceRecorded,
    BedHeld,
    BedHoldReleased,
    ClientAdmitted,
    ClientReferred,
    RelapseRiskFlagged,
)
from services.journey.domain import SegmentEnd
from services.journey.facts import AdmissionFact, Attendance, JourneyFacts, RiskFlag, StayFact
from services.journey.reports import SiteLevel
from services.journey.store import (
    Episode,
    FlowMove,
    JourneyEvent,
    Segment,
    SiteCapacity,
    WaitlistEntry,
)
from services.journey.timeline import in_journey_order


def client_events(session: Session, client_ref: str) -> list[JourneyEvent]:
    rows = session.exec(select(JourneyEvent).where(JourneyEvent.client_ref == client_ref)
                        .order_by(col(JourneyEvent.time))).all()
    return in_journey_order(rows)


def client_episodes(session: Session, client_ref: str) -> list[Episode]:
    return list(session.exec(select(Episode).where(Episode.client_ref == client_ref)
                             .order_by(col(Episode.opened_at))).all())


def client_segments(session: Session, client_ref: str) -> list[Segment]:
    return list(session.exec(select(Segment).where(Segment.client_ref == client_ref)
                             .order_by(col(Segment.started_at), col(Segment.id))).all())


def occupied(session: Session) -> dict[SiteLevel, int]:
    query = (select(Segment.site_id, Segment.level, func.count())
             .where(col(Segment.ended_at).is_(None))
             .group_by(col(Segment.site_id), col(Segment.level)))
    return _counts(session.exec(query).all())


def waiting(session: Session) -> dict[SiteLevel, int]:
    query = (select(WaitlistEntry.site_id, WaitlistEntry.level, func.count())
             .group_by(col(WaitlistEntry.site_id), col(WaitlistEntry.level)))
    return _counts(session.exec(query).all())


def held(session: Session) -> dict[SiteLevel, int]:
    """Beds held now, per site × level: placement's BedHeld events with no BedHoldReleased of
    the same hold (in any order: a hold's events share a subject, hence a partition, but a
    replay may bring them in any order)."""
    query = (select(JourneyEvent.name, JourneyEvent.data)
             .where(col(JourneyEvent.name).in_([BedHeld.event_name(),
                                                BedHoldReleased.event_name()])))
    placed: dict[str, SiteLevel] = {}
    ended: set[str] = set()
    for name, data in session.exec(query).all():
        hold_id = str(data.get("hold_id"))
        if name == BedHoldReleased.event_name():
            ended.add(hold_id)
        else:
            placed[hold_id] = (str(data.get("site_id")), str(data.get("level")))
    counts: dict[SiteLevel, int] = {}
    for hold_id, place in placed.items():
        if hold_id not in ended:
            counts[place] = counts.get(place, 0) + 1
    return counts


def capacities(session: Session) -> dict[SiteLevel, int]:
    return {(row.site_id, row.level): row.capacity
            for row in session.exec(select(SiteCapacity)).all()}


def flow_counts(session: Session, *, sites: Collection[str] | None, since: datetime | None,
                until: datetime | None) -> list[tuple[str, str, int]]:
    """Moves that leave or arrive at one of `sites` (every move when None): a step to another
    site counts at both, once."""
    query = (select(FlowMove.from_level, FlowMove.to_level, func.count())
             .group_by(col(FlowMove.from_level), col(FlowMove.to_level)))
    if sites is not None:
        query = query.where(or_(col(FlowMove.site_id).in_(list(sites)),
                                col(FlowMove.to_site).in_(list(sites))))
    if since is not None:
        query = query.where(col(FlowMove.at) >= since)
    if until is not None:
        query = query.where(col(FlowMove.at) < until)
    return [(str(a), str(b), int(n)) for a, b, n in session.exec(query).all()]


def journey_facts(session: Session) -> JourneyFacts:
    return JourneyFacts(stays=stay_facts(session), flags=risk_flags(session),
                        admissions=admission_facts(session), attendance=attendance(session))


def stay_facts(session: Session) -> list[StayFact]:
    """Every level segment, with its episode's disposition where the segment ended it."""
    query = (select(Segment, Episode.disposition)
             .join(Episode, col(Episode.episode_id) == col(Segment.episode_id), isouter=True))
    return [StayFact(client_ref=s.client_ref, episode_id=s.episode_id, site_id=s.site_id,
                     level=s.level, started_at=s.started_at, ended_at=s.ended_at,
                     end_reason=s.end_reason,
                     disposition=disposition if s.end_reason == SegmentEnd.discharged else None)
            for s, disposition in session.exec(query).all()]


def risk_flags(session: Session) -> list[RiskFlag]:
    query = (select(JourneyEvent.client_ref, JourneyEvent.time)
             .where(JourneyEvent.name == RelapseRiskFlagged.event_name()))
    return [RiskFlag(client_ref=ref, at=at) for ref, at in session.exec(query).all()]


def admission_facts(session: Session) -> list[AdmissionFact]:
    """Every admission, at the site and level of the segment it started, with its referral."""
    referral = aliased(JourneyEvent)
    query = (select(JourneyEvent, Segment, referral.time)
             .join(Segment, col(Segment.started_by) == col(JourneyEvent.id))
             .join(referral, and_(col(referral.id) == col(JourneyEvent.correlation_id),
                                  col(referral.name) == ClientReferred.event_name()),
                   isouter=True)
             .where(JourneyEvent.name == ClientAdmitted.event_name()))
    return [AdmissionFact(client_ref=admission.client_ref, site_id=segment.site_id,
                          level=segment.level, admitted_at=admission.time, referred_at=referred,
                          cancelled=segment.end_reason == SegmentEnd.cancelled)
            for admission, segment, referred in session.exec(query).all()]


def attendance(session: Session) -> list[Attendance]:
    query = (select(JourneyEvent.client_ref, JourneyEvent.time, JourneyEvent.data)
             .where(JourneyEvent.name == AttendanceRecorded.event_name()))
    return [Attendance(client_ref=ref, level=str(data.get("level")),
                       status=str(data.get("status")), at=at)
            for ref, at, data in session.exec(query).all()]


def _counts(rows: Iterable[Any]) -> dict[SiteLevel, int]:
    return {(str(site), str(level)): int(count) for site, level, count in rows}
