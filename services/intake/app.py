"""Intake: referrals, the only store of client identity, consents and the PHI access audit."""

from fastapi import APIRouter, FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.settings import Settings
from services.intake import api, consents, store
from services.intake.deps import IntakeDeps, make_deps


def _routes() -> APIRouter:
    router = APIRouter()
    router.include_router(api.router)
    router.include_router(consents.router)
    return router


SPEC = ServiceSpec[IntakeDeps](name="intake", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=_routes(), make_deps=make_deps)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
