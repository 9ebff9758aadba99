"""What placement works from — its validated configuration — and how its endpoints, handlers
and workers receive it (one typed Deps per service, in its deps.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from carepath.app.spec import Runtime, deps_of
from carepath.config import SitesConfig, load_config, load_sites
from carepath.settings import Settings
from services.placement.policy import PlacementPolicy


@dataclass(frozen=True)
class PlacementDeps:
    """The validated configuration placement's handlers, endpoints and checks work from."""

    sites: SitesConfig
    policy: PlacementPolicy


def make_deps(settings: Settings) -> PlacementDeps:
    return PlacementDeps(sites=load_sites(settings),
                         policy=load_config(settings, "placement.yaml", PlacementPolicy))


DepsDep = Annotated[PlacementDeps, deps_of(PlacementDeps)]
PlacementRuntime = Runtime[PlacementDeps]
