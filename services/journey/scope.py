"""Site scope of the journey's reports and feeds: a caller sees only what lies at their sites."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import Query

from carepath.http.auth import Principal

SiteFilter = Annotated[str | None, Query(max_length=64)]


def site_scope(principal: Principal, site_id: str | None) -> Collection[str] | None:
    """The sites a query is limited to: the one asked for (none if not visible), the caller's
    sites, or None for every site."""
    if site_id is not None:
        return [site_id] if principal.sees(site_id) else []
    return principal.site_filter
