"""Interop: Carepath's face in the standards its partners speak — FHIR R4 resources and bulk
`$export` for EHRs, exchanges and warehouses, and an HL7 v2.5.1 ADT feed over MLLP. It consumes
every topic (like journey) and emits nothing."""

from fastapi import FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.settings import Settings
from services.interop import api, store
from services.interop.deps import InteropDeps, make_deps
from services.interop.export import run_exports
from services.interop.feed import run_feed
from services.interop.handlers import handlers
from services.interop.replay import InteropReplay

SPEC = ServiceSpec[InteropDeps](name="interop", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers,
                   make_deps=make_deps, workers=(run_feed, run_exports),
                   bulk_replay=InteropReplay)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
