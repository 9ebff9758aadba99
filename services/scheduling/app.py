"""Scheduling: weekly session plans per level of care, and attendance."""

from collections.abc import Mapping

from fastapi import FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.persistence.uow import Transaction
from carepath.settings import Settings
from services.scheduling import api, store
from services.scheduling.deps import SchedulingDeps, make_deps
from services.scheduling.handlers import handlers


def client_of_session(tx: Transaction, params: Mapping[str, str]) -> str | None:
    found = tx.session.get(store.CareSession, params.get("session_id", ""))
    return found.client_ref if found else None


SPEC = ServiceSpec[SchedulingDeps](name="scheduling", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers, make_deps=make_deps,
                   trace_subject=client_of_session)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
