"""The dashboard's live feeds: recent transitions, active relapse-risk flags, the step-up
proposals awaiting a clinician, and pipeline health. Site scope as everywhere: a caller sees
only what lies at their sites."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session, col, select

from carepath.app.spec import RuntimeDep
from carepath.http.access import PrincipalDep
from services.journey import activity, pipeline, proposals
from services.journey.domain import OPEN_STATUSES
from services.journey.scope import SiteFilter, site_scope
from services.journey.store import Episode, JourneyEvent

router = APIRouter(tags=["dashboard"])


@router.get("/transitions", response_model=list[activity.Transition])
def transitions(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 30) -> list[activity.Transition]:
    """Admissions, step-downs, step-ups, transfers and discharges, newest first."""
    sites = site_scope(principal, site_id)
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
    placement did about each (its step-up proposal, the decline or confirming step up, the
    reassessment request)."""
    with runtime.uow.transaction() as tx:
        flags = _events(tx.session, names=[activity.FLAGGED])
        clients = {flag.client_ref for flag in flags}
        responses = _events(tx.session, names=activity.RESPONSES, clients=clients)
        in_care = _in_care(tx.session, clients)
    sites = site_scope(principal, site_id)
    visible = {ref: care for ref, care in in_care.items()
               if sites is None or care.site_id in sites}
    return activity.active_flags(flags, responses, visible)


@router.get("/proposals", response_model=list[proposals.Proposal])
def step_up_proposals(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None,
                      status: proposals.ProposalStatus | None = None
                      ) -> list[proposals.Proposal]:
    """Step-up proposals, oldest first; `status=open` is the clinicians' work queue."""
    with runtime.uow.transaction() as tx:
        proposed = _events(tx.session, names=[proposals.PROPOSED])
        clients = {event.client_ref for event in proposed}
        later = _events(tx.session, names=proposals.DECIDING, clients=clients)
        in_care = _in_care(tx.session, clients)
    sites = site_scope(principal, site_id)
    return [p for p in proposals.proposals(proposed, later, in_care)
            if (sites is None or p.site_id in sites) and status in (None, p.status)]


@router.get("/pipeline", response_model=list[pipeline.Health])
async def pipeline_health(runtime: RuntimeDep, principal: PrincipalDep
                          ) -> list[pipeline.Health]:
    """Per service: records its consumers are behind, unpublished outbox rows, events it has
    dead-lettered and transient failures retried since it started."""
    return await pipeline.pipeline_health(runtime.settings.service_urls, own=runtime.spec.name,
                                          registry=runtime.metrics.registry)


def _events(session: Session, *, names: Collection[str],
            clients: Collection[str] | None = None) -> list[activity.Recorded]:
    query = select(JourneyEvent).where(col(JourneyEvent.name).in_(list(names)))
    if clients is not None:
        query = query.where(col(JourneyEvent.client_ref).in_(list(clients)))
    return [_recorded(row) for row in session.exec(query).all()]


def _in_care(session: Session, client_refs: Collection[str]) -> dict[str, activity.InCare]:
    """The episode in progress of those of the clients still in care."""
    query = (select(Episode)
             .where(col(Episode.client_ref).in_(list(client_refs)),
                    col(Episode.status).in_(OPEN_STATUSES))
             .order_by(col(Episode.opened_at)))
    return {row.client_ref: activity.InCare(episode_id=row.episode_id, site_id=row.site_id)
            for row in session.exec(query).all()}


def _recorded(row: JourneyEvent) -> activity.Recorded:
    data: dict[str, Any] = row.data
    return activity.Recorded(id=row.id, name=row.name, client_ref=row.client_ref,
                             site_id=row.site_id, episode_id=row.episode_id, time=row.time,
                             causation_id=row.causation_id, data=data)
