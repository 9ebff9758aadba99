"""Placement: episodes of care, capacity per site × level, the waitlist, transitions, discharge."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import IntegrityError

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.persistence.uow import Transaction
from carepath.settings import Settings
from contracts.events import CapacityChanged
from services.placement import api, holds_api, store, ur_api
from services.placement.checks import run_checks
from services.placement.deps import PlacementDeps, PlacementRuntime, make_deps
from services.placement.handlers import handlers

log = logging.getLogger(__name__)


def seed_capacity(runtime: PlacementRuntime) -> None:
    """Sites without capacity rows start from sites.yaml; PUT /sites/{id}/capacity changes it."""
    deps = runtime.deps
    try:
        with runtime.uow.transaction() as tx:
            repo = store.SqlRepository(tx)
            known = repo.sites()
            for site_id, site in deps.sites.sites.items():
                if site_id in known:
                    continue
                repo.set_capacity(site_id, site.capacity)
                tx.emit(CapacityChanged(site_id=site_id, capacity=dict(site.capacity)),
                        subject=f"site-{site_id}", site_id=site_id, episode_id=None, cause=None)
    except IntegrityError:
        log.info("capacity was seeded concurrently by another replica")


def client_of_proposal(tx: Transaction, params: Mapping[str, str]) -> str | None:
    found = store.SqlRepository(tx).proposal(params.get("proposal_id", ""))
    return found.client_ref if found else None


router = APIRouter()
router.include_router(api.router)
router.include_router(holds_api.router)
router.include_router(ur_api.router)

SPEC = ServiceSpec[PlacementDeps](name="placement", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=router, handlers=handlers,
                   make_deps=make_deps, on_start=seed_capacity, workers=(run_checks,),
                   trace_subject=client_of_proposal)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
