"""The dashboard's live feeds: recent transitions, active relapse-risk flags and pipeline health.
Site scope as everywhere: a caller sees only what lies at their sites."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session, col, select

from carepath.access import PrincipalDep
from carepath.auth import Principal
from carepath.runtime import RuntimeDep
from services.journey import activity, pipeline
from services.journey.domain import EpisodeStatus
from services.journey.store import Episode, JourneyEvent

router = APIRouter(tags=["dashboard"])

SiteFilter = Annotated[str | None, Query(max_length=64)]


@router.get("/transitions", response_model=list[activity.Transition])
def transitions(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 30) -> list[activity.Transition]:
    """Admissions, step-downs, step-ups, transfers and discharges, newest first."""
    sites = _sites(principal, site_id)
    query = select(JourneyEvent).where(col(JourneyEvent.name).in_(list(activity.TRANSITIONS)))
    if sites is not None:
        query = query.where(col(JourneyEvent.site_id).in_(list(sites)))
    query = query.order_by(col(JourneyEvent.time).desc(), col(JourneyEvent.recorded_at).desc())
    with runtime.uow.transaction() as tx:
        rows = [_recorded(row) for row in tx.session.exec(query.limit(limit)).all()]
    return [activity.transition(row) for row in rows]


@router.get("/risk-flags", response_model=list[activity.ActiveFlag])
def risk_flags(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None
               ) -> list[activity.ActiveFlag]:
    """The relapse-risk flags of each client's episode in progress, newest first, with what
    placement did about each (the step-up or reassessment request it caused, if any)."""
    with runtime.uow.transaction() as tx:
        flags = _events(tx.session, names=[activity.FLAGGED])
        caused = _events(tx.session, names=activity.RESPONSES,
                         causes=[flag.id for flag in flags])
        in_care = _in_care(tx.session, {flag.client_ref for flag in flags})
    visible = {ref: care for ref, care in in_care.items() if principal.sees(care.site_id)
               and (site_id is None or care.site_id == site_id)}
    return activity.active_flags(flags, caused, visible)


@router.get("/pipeline", response_model=list[pipeline.Health])
async def pipeline_health(runtime: RuntimeDep, principal: PrincipalDep
                          ) -> list[pipeline.Health]:
    """Per service: records its consumers are behind, unpublished outbox rows, events it has
    dead-lettered and transient failures retried since it started."""
    return await pipeline.pipeline_health(runtime.settings.service_urls, own=runtime.spec.name,
                                          registry=runtime.metrics.registry)


def _sites(principal: Principal, site_id: str | None) -> Collection[str] | None:
    """The sites a query is limited to; None for every site."""
    if site_id is not None:
        return [site_id] if principal.sees(site_id) else []
    return principal.site_filter


def _events(session: Session, *, names: Collection[str],
            causes: Collection[str] | None = None) -> list[activity.Recorded]:
    query = select(JourneyEvent).where(col(JourneyEvent.name).in_(list(names)))
    if causes is not None:
        query = query.where(col(JourneyEvent.causation_id).in_(list(causes)))
    return [_recorded(row) for row in session.exec(query).all()]


def _in_care(session: Session, client_refs: Collection[str]) -> dict[str, activity.InCare]:
    """The episode in progress of those of the clients still in care."""
    query = (select(Episode)
             .where(col(Episode.client_ref).in_(list(client_refs)),
                    Episode.status != EpisodeStatus.discharged.value)
             .order_by(col(Episode.opened_at)))
    return {row.client_ref: activity.InCare(episode_id=row.episode_id, site_id=row.site_id)
            for row in session.exec(query).all()}


def _recorded(row: JourneyEvent) -> activity.Recorded:
    data: dict[str, Any] = row.data
    return activity.Recorded(id=row.id, name=row.name, client_ref=row.client_ref,
                             site_id=row.site_id, episode_id=row.episode_id, time=row.time,
                             causation_id=row.causation_id, data=data)
