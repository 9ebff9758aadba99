"""Reads of the journey views, shaped for the reports in `reports.py` and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.journey.domain import as_utc, in_journey_order, los_days
from services.journey.reports import CompletedStay, CountedMove, SiteLevel
from services.journey.store import (
    Episode,
    FlowMove,
    JourneyEvent,
    Segment,
    SiteCapacity,
    WaitlistEntry,
)


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


def capacities(session: Session) -> dict[SiteLevel, int]:
    return {(row.site_id, row.level): row.capacity
            for row in session.exec(select(SiteCapacity)).all()}


def flow_counts(session: Session, *, site_id: str | None, since: datetime | None,
                until: datetime | None) -> list[tuple[str, str, int]]:
    query = (select(FlowMove.from_level, FlowMove.to_level, func.count())
             .group_by(col(FlowMove.from_level), col(FlowMove.to_level)))
    if site_id is not None:
        query = query.where(FlowMove.site_id == site_id)
    if since is not None:
        query = query.where(col(FlowMove.at) >= since)
    if until is not None:
        query = query.where(col(FlowMove.at) < until)
    return [(str(a), str(b), int(n)) for a, b, n in session.exec(query).all()]


def completed_stays(session: Session, site_id: str | None) -> list[CompletedStay]:
    query = select(Segment).where(col(Segment.ended_at).is_not(None))
    if site_id is not None:
        query = query.where(Segment.site_id == site_id)
    return [CompletedStay(site_id=s.site_id, level=s.level,
                          los_days=los_days(as_utc(s.started_at), as_utc(s.ended_at),
                                            as_utc(s.ended_at)))
            for s in session.exec(query).all() if s.ended_at is not None]


def counted_moves(session: Session, site_id: str | None) -> list[CountedMove]:
    columns = (col(FlowMove.site_id), col(FlowMove.from_level), col(FlowMove.kind),
               col(FlowMove.disposition))
    query = sa_select(*columns, func.count()).group_by(*columns)
    if site_id is not None:
        query = query.where(col(FlowMove.site_id) == site_id)
    return [CountedMove(site_id=s, from_level=f, kind=k, disposition=d, count=int(n))
            for s, f, k, d, n in session.connection().execute(query).all()]


def _counts(rows: Iterable[Any]) -> dict[SiteLevel, int]:
    return {(str(site), str(level)): int(count) for site, level, count in rows}
