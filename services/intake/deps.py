"""What intake works from — the configured sites a referral may name, the payers a consent may
name as recipient — and how its endpoints receive it (one typed Deps per service, in its
deps.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from carepath.app.spec import deps_of
from carepath.config import load_payers, load_sites
from carepath.settings import Settings


@dataclass(frozen=True)
class IntakeDeps:
    site_ids: set[str]
    payer_codes: frozenset[str] = frozenset()  # config/placement.yaml `payers`


def make_deps(settings: Settings) -> IntakeDeps:
    return IntakeDeps(site_ids=set(load_sites(settings).sites),
                      payer_codes=frozenset(load_payers(settings).codes))


DepsDep = Annotated[IntakeDeps, deps_of(IntakeDeps)]
