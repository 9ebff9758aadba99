"""Journey's HTTP API: a client's journey, census, flows and outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from carepath.app.spec import RuntimeDep
from carepath.errors import InvalidInput, NotFound
from carepath.http.access import PrincipalDep
from carepath.http.validation import UtcDateTime
from contracts.envelope import ClientRef
from services.journey import outcomes as outcome_measures
from services.journey import queries, reports
from services.journey.deps import DepsDep
from services.journey.domain import episode_los_days
from services.journey.scope import SiteFilter, site_scope
from services.journey.store import Episode, JourneyEvent, Segment
from services.journey.timeline import los_days
from services.journey.utilization import authorizations_by_client

router = APIRouter(tags=["journey"])


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    name: str
    time: datetime
    recorded_at: datetime
    source: str
    episode_id: uuid.UUID | None
    site_id: str | None
    causation_id: uuid.UUID | None
    correlation_id: uuid.UUID
    trace_id: str | None
    data: dict[str, Any]


class SegmentOut(BaseModel):
    level: str
    site_id: str
    started_at: datetime
    ended_at: datetime | None
    los_days: float
    end_reason: str | None


class EpisodeOut(BaseModel):
    """`status`: waitlisted, active, discharged, cancelled (the admission was void: a no-show)
    or withdrawn (left the waitlist, never admitted). `los_days`: admission to discharge (to
    now while active); none if the episode never started."""

    episode_id: uuid.UUID
    site_id: str
    status: str
    disposition: str | None
    opened_at: datetime
    closed_at: datetime | None
    current_level: str | None
    los_days: float | None
    segments: list[SegmentOut]
    events: list[EventOut]


class JourneyOut(BaseModel):
    client_ref: str
    episodes: list[EpisodeOut]
    events: list[EventOut]


@router.get("/clients/{client_ref}/journey", response_model=JourneyOut)
def journey(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep
            ) -> JourneyOut:
    """Visible to the caller when the client's current site (of their latest event) is."""
    now = datetime.now(UTC)
    missing = f"no events for client {client_ref!r}"
    with runtime.uow.transaction() as tx:
        events = [_event(e) for e in queries.client_events(tx.session, client_ref)]
        if not events:
            raise NotFound(missing)
        principal.require_site(_current_site(events), missing=missing)
        episodes = queries.client_episodes(tx.session, client_ref)
        segments = queries.client_segments(tx.session, client_ref)
    return JourneyOut(client_ref=client_ref, events=events,
                      episodes=[_episode(e, segments, events, now) for e in episodes])


def _current_site(events: list[EventOut]) -> str | None:
    return next((e.site_id for e in reversed(events) if e.site_id), None)


def _event(row: JourneyEvent) -> EventOut:
    return EventOut.model_validate(row.model_dump())


def _segment(row: Segment, now: datetime) -> SegmentOut:
    return SegmentOut(level=row.level, site_id=row.site_id, started_at=row.started_at,
                      ended_at=row.ended_at, los_days=los_days(row.started_at, row.ended_at, now),
                      end_reason=row.end_reason)


def _episode(row: Episode, segments: list[Segment], events: list[EventOut],
             now: datetime) -> EpisodeOut:
    own = [_segment(s, now) for s in segments if s.episode_id == row.episode_id]
    current = next((s.level for s in reversed(own) if s.ended_at is None), None)
    return EpisodeOut(
        episode_id=row.episode_id, site_id=row.site_id, status=row.status,
        disposition=row.disposition, opened_at=row.opened_at, closed_at=row.closed_at,
        current_level=current, los_days=episode_los_days(own, now), segments=own,
        events=[e for e in events if e.episode_id == row.episode_id])


class CensusOut(BaseModel):
    site_id: str
    level: str
    occupied: int
    capacity: int | None
    waitlist: int
    utilisation: float | None
    held: int = Field(description="beds held for someone arriving (placement's bed holds)")
    free: int | None = Field(description="capacity - occupied - held, never below 0; null "
                             "without a known capacity")


@router.get("/census", response_model=list[CensusOut])
def census(runtime: RuntimeDep, configured: DepsDep, principal: PrincipalDep,
           site_id: SiteFilter = None) -> list[CensusOut]:
    with runtime.uow.transaction() as tx:
        occupied, waiting = queries.occupied(tx.session), queries.waiting(tx.session)
        capacity = configured.capacity | queries.capacities(tx.session)
        held = queries.held(tx.session)
    sites = principal.visible(configured.site_ids | {s for s, _ in [*occupied, *waiting,
                                                                   *capacity]})
    rows = reports.census(sites=sites if site_id is None else {site_id} & sites,
                          occupied=occupied, waitlist=waiting, capacity=capacity, held=held)
    return [CensusOut(site_id=r.site_id, level=r.level, occupied=r.occupied,
                      capacity=r.capacity, waitlist=r.waitlist, utilisation=r.utilisation,
                      held=r.held, free=r.free)
            for r in rows]


class FlowOut(BaseModel):
    from_level: str
    to_level: str
    count: int


@router.get("/flows", response_model=list[FlowOut])
def flows(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None,
          since: UtcDateTime | None = None, until: UtcDateTime | None = None
          ) -> list[FlowOut]:
    if since and until and since > until:
        raise InvalidInput("since must not be after until")
    with runtime.uow.transaction() as tx:
        counts = queries.flow_counts(tx.session, sites=site_scope(principal, site_id),
                                     since=since, until=until)
    counted = sorted(counts, key=lambda flow: reports.flow_order(flow[0], flow[1]))
    return [FlowOut(from_level=a, to_level=b, count=n) for a, b, n in counted]


class RateOut(BaseModel):
    """Of `eligible` events, `evaluated` have a known outcome; `rate` = met / evaluated."""

    eligible: int
    evaluated: int
    met: int
    rate: float | None


class OutcomeOut(BaseModel):
    """One site × level; every measure is defined in contracts/README.md ("Outcomes")."""

    site_id: str
    level: str
    completed_segments: int
    median_los_days: float | None
    mean_los_days: float | None
    completed_episodes: int
    median_episode_los_days: float | None
    mean_episode_los_days: float | None
    admissions: int
    cancelled_admissions: int
    median_days_referral_to_admission: float | None
    mean_days_referral_to_admission: float | None
    step_downs: int
    step_ups: int
    discharges: int
    dispositions: dict[str, int]
    step_down_success: RateOut
    step_up_after_risk_flag: RateOut
    readmission_30d: RateOut
    readmission_90d: RateOut
    continuity_7d: RateOut | None  # residential and PHP only
    continuity_30d: RateOut | None
    unauthorized_bed_days: float  # days in the level no payer authorization covered


@router.get("/outcomes", response_model=list[OutcomeOut])
def outcomes(runtime: RuntimeDep, configured: DepsDep, principal: PrincipalDep,
             site_id: SiteFilter = None, as_of: UtcDateTime | None = None) -> list[OutcomeOut]:
    """Per site × level; windowed measures count what is known by `as_of` (default: now)."""
    with runtime.uow.transaction() as tx:
        facts = queries.journey_facts(tx.session)
        authorizations = authorizations_by_client(tx.session)
    rows = outcome_measures.outcomes(sites=configured.site_ids, facts=facts,
                                     as_of=as_of or datetime.now(UTC),
                                     authorizations=authorizations)
    return [OutcomeOut.model_validate(row, from_attributes=True)
            for row in rows if principal.sees(row.site_id)
            and (site_id is None or row.site_id == site_id)]
