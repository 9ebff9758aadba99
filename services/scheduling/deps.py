"""What scheduling works from — the validated weekly schedules per level and site — and how its
handlers receive it (one typed Deps per service, in its deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from carepath.config import load_sites, load_yaml
from carepath.settings import Settings
from services.scheduling.templates import ScheduleConfig


@dataclass(frozen=True)
class SchedulingDeps:
    schedules: ScheduleConfig


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
