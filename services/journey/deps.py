"""What journey works from — the configured sites and their starting capacity — and how its
endpoints receive it (one typed Deps per service, in its deps.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from carepath.app.spec import deps_of
from carepath.config import load_sites
from carepath.settings import Settings


@dataclass(frozen=True)
class ConfiguredSites:
    """Sites from configuration, with their starting capacity per level until a
    CapacityChanged event says otherwise."""

    capacity: dict[tuple[str, str], int]

    @property
    def site_ids(self) -> set[str]:
        return {site for site, _ in self.capacity}


def make_deps(settings: Settings) -> ConfiguredSites:
    sites = load_sites(settings).sites
    return ConfiguredSites(capacity={(site_id, level.value): capacity
                                     for site_id, site in sites.items()
                                     for level, capacity in site.capacity.items()})


DepsDep = Annotated[ConfiguredSites, deps_of(ConfiguredSites)]
