"""Journey: the traceability read model — every event per client and episode, level segments,
census, flows and outcomes — and the ops dashboard. It consumes every topic and emits nothing."""

from fastapi import APIRouter, FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.settings import Settings
from services.journey import api, dashboard, feeds, forecast_api, store, utilization
from services.journey.deps import ConfiguredSites, make_deps
from services.journey.handlers import handlers
from services.journey.replay import JourneyReplay


def _routes() -> APIRouter:
    router = APIRouter()
    router.include_router(api.router)
    router.include_router(feeds.router)
    router.include_router(forecast_api.router)
    router.include_router(utilization.router)
    router.include_router(dashboard.router)
    return router


SPEC = ServiceSpec[ConfiguredSites](name="journey", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=_routes(), handlers=handlers, make_deps=make_deps,
                   bulk_replay=JourneyReplay)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
