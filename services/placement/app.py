"""Placement: episodes of care, capacity per site × level, the waitlist, transitions, discharge."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from carepath.config import SitesConfig, load_sites
from carepath.runtime import Runtime, ServiceSpec
from carepath.service import build_app
from carepath.settings import Settings
from contracts.events import CapacityChanged
from services.placement import api, store
from services.placement.handlers import handlers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlacementDeps:
    sites: SitesConfig


def make_deps(settings: Settings) -> PlacementDeps:
    return PlacementDeps(sites=load_sites(settings))


def seed_capacity(runtime: Runtime) -> None:
    """Sites without capacity rows start from sites.yaml; PUT /sites/{id}/capacity changes it."""
    deps: PlacementDeps = runtime.deps
    try:
        with runtime.uow.transaction() as tx:
            repo = store.SqlRepository(tx.session)
            known = repo.sites()
            for site_id, site in deps.sites.sites.items():
                if site_id in known:
                    continue
                repo.set_capacity(site_id, site.capacity)
                tx.emit(CapacityChanged(site_id=site_id, capacity=dict(site.capacity)),
                        subject=f"site-{site_id}", site_id=site_id, episode_id=None, cause=None)
    except IntegrityError:
        log.info("capacity was seeded concurrently by another replica")


SPEC = ServiceSpec(name="placement", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers,
                   make_deps=make_deps, on_start=seed_capacity)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
