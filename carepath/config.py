"""Configuration files under CAREPATH_CONFIG_DIR (default: the repository's config/)."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from carepath.settings import Settings
from contracts import LevelOfCare


class ChannelConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str = "log"
    address: str


class SiteConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    capacity: dict[LevelOfCare, int]
    care_team: ChannelConfig


class SitesConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    sites: dict[str, SiteConfig]


def load_yaml(settings: Settings, name: str) -> Any:
    with (settings.config_dir / name).open() as handle:
        return yaml.safe_load(handle)


def load_sites(settings: Settings) -> SitesConfig:
    return SitesConfig.model_validate(load_yaml(settings, "sites.yaml"))
