"""What intake works from — the configured sites a referral may name — and how its endpoints
receive it (one typed Deps per service, in its deps.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from carepath.app.spec import deps_of
from carepath.config import load_sites
from carepath.settings import Settings


@dataclass(frozen=True)
class IntakeDeps:
    site_ids: set[str]


def make_deps(settings: Settings) -> IntakeDeps:
    return IntakeDeps(site_ids=set(load_sites(settings).sites))


DepsDep = Annotated[IntakeDeps, deps_of(IntakeDeps)]
