"""What the census forecast reads from journey's views (`forecast_api.py`): one level's stays
at every site, and one site's referrals and waitlistings, as far back as the forecast looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from contracts.events import ClientReferred, PlacementWaitlisted
from services.journey.store import JourneyEvent, Segment


@dataclass(frozen=True)
class Happened:
    """A referral or a waitlisting: who, where, when."""

    client_ref: str
    site_id: str
    level: str | None
    at: datetime


def level_stays(session: Session, level: str, *, since: datetime) -> list[Segment]:
    """The level's segments at every site that started since `since`, or are still open."""
    query = (select(Segment).where(Segment.level == level)
             .where(or_(col(Segment.started_at) >= since, col(Segment.ended_at).is_(None),
                        col(Segment.ended_at) >= since))
             .order_by(col(Segment.started_at), col(Segment.id)))
    return list(session.exec(query).all())


def referrals(session: Session, site_id: str, *, since: datetime) -> list[Happened]:
    return [r for r in _happened(session, ClientReferred.event_name(), since)
            if r.site_id == site_id]


def waitlistings(session: Session, site_id: str, level: str, *, since: datetime
                 ) -> list[Happened]:
    return [w for w in _happened(session, PlacementWaitlisted.event_name(), since)
            if (w.site_id, w.level) == (site_id, level)]


def _happened(session: Session, name: str, since: datetime) -> list[Happened]:
    query = (select(JourneyEvent.client_ref, JourneyEvent.site_id, JourneyEvent.data,
                    JourneyEvent.time)
             .where(JourneyEvent.name == name).where(col(JourneyEvent.time) >= since)
             .order_by(col(JourneyEvent.time)))
    return [Happened(client_ref=ref, site_id=str(data.get("site_id") or site),
                     level=None if data.get("level") is None else str(data["level"]), at=at)
            for ref, site, data, at in session.exec(query).all()]
