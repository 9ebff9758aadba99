"""Scheduling: weekly session plans per level of care, and attendance."""

from collections.abc import Mapping

from fastapi import FastAPI
from sqlmodel import Session

from carepath.config import load_sites, load_yaml
from carepath.runtime import ServiceSpec
from carepath.service import build_app
from carepath.settings import Settings
from services.scheduling import api, store
from services.scheduling.handlers import SchedulingDeps, handlers
from services.scheduling.templates import ScheduleConfig

SCHEDULES_FILE = "schedules.yaml"


class UnknownSite(ValueError):
    pass


def load_schedules(settings: Settings) -> ScheduleConfig:
    """Read and validate config/schedules.yaml; a week that breaks its level's rules, or a
    site that config/sites.yaml does not know, stops the service from starting."""
    schedules = ScheduleConfig.model_validate(load_yaml(settings, SCHEDULES_FILE))
    unknown = sorted(set(schedules.sites) - set(load_sites(settings).sites))
    if unknown:
        raise UnknownSite(f"{SCHEDULES_FILE}: sites {unknown} are not in sites.yaml")
    return schedules


def make_deps(settings: Settings) -> SchedulingDeps:
    return SchedulingDeps(schedules=load_schedules(settings))


def client_of_session(session: Session, params: Mapping[str, str]) -> str | None:
    found = session.get(store.CareSession, params.get("session_id", ""))
    return found.client_ref if found else None


SPEC = ServiceSpec(name="scheduling", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers, make_deps=make_deps,
                   trace_subject=client_of_session)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
