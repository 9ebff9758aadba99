"""Configuration files under CAREPATH_CONFIG_DIR (default: the repository's config/)."""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

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


M = TypeVar("M", bound=BaseModel)


class ConfigError(RuntimeError):
    """A configuration file is missing or invalid; the service does not start."""


def load_yaml(settings: Settings, name: str) -> Any:
    with (settings.config_dir / name).open() as handle:
        return yaml.safe_load(handle)


def load_sites(settings: Settings) -> SitesConfig:
    return SitesConfig.model_validate(load_yaml(settings, "sites.yaml"))


def load_config(settings: Settings, name: str, model: type[M]) -> M:
    path = settings.config_dir / name
    try:
        raw = load_yaml(settings, name)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} not found (CAREPATH_CONFIG_DIR={settings.config_dir})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                             for e in exc.errors()[:10])
        raise ConfigError(f"{path} is not a valid {model.__name__}: {problems}") from exc
