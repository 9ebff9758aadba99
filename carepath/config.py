"""Configuration files under CAREPATH_CONFIG_DIR (default: the repository's config/)."""

from __future__ import annotations

from typing import Any, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class Payer(BaseModel):
    """A payer the organization bills: a code (what events, authorizations and consents carry,
    never a member id) and its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    name: str = Field(min_length=1, max_length=120)


class Payers(BaseModel):
    """The organization's payers: `payers` in config/placement.yaml, the one list placement
    (authorizations) and intake (consents to disclose to a payer) both read."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payers: tuple[Payer, ...] = ()

    @model_validator(mode="after")
    def _unique_payers(self) -> Self:
        codes = [p.code for p in self.payers]
        if len(set(codes)) != len(codes):
            raise ValueError(f"payer codes must be unique: {codes}")
        return self

    def payer(self, code: str) -> Payer | None:
        return next((p for p in self.payers if p.code == code), None)

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.payers]


PAYERS_FILE = "placement.yaml"


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


def load_payers(settings: Settings) -> Payers:
    """The organization's payers, from `payers` in config/placement.yaml (placement's policy
    validates the same list with the same model; intake reads only this key)."""
    return load_config(settings, PAYERS_FILE, Payers)
