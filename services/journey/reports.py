"""Census and flows computed from the journey views (pure; no storage here). Outcome measures
are in `outcomes.py`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.journey.domain import FLOW_STAGES, LEVELS

SiteLevel = tuple[str, str]


@dataclass(frozen=True)
class CensusRow:
    site_id: str
    level: str
    occupied: int
    capacity: int | None
    waitlist: int
    held: int = 0  # beds held for someone arriving (BedHeld not yet BedHoldReleased)

    @property
    def utilisation(self) -> float | None:
        if not self.capacity:
            return None
        return round(self.occupied / self.capacity, 3)

    @property
    def free(self) -> int | None:
        """Beds neither occupied nor held, never below 0; unknown without a capacity."""
        if self.capacity is None:
            return None
        return max(self.capacity - self.occupied - self.held, 0)


def census(
    *,
    sites: Iterable[str],
    occupied: Mapping[SiteLevel, int],
    waitlist: Mapping[SiteLevel, int],
    capacity: Mapping[SiteLevel, int],
    held: Mapping[SiteLevel, int] | None = None,
) -> list[CensusRow]:
    """One row per site × level, levels from the most to the least intensive."""
    held = held or {}
    return [
        CensusRow(site_id=site, level=level, occupied=occupied.get((site, level), 0),
                  capacity=capacity.get((site, level)), waitlist=waitlist.get((site, level), 0),
                  held=held.get((site, level), 0))
        for site in sorted(set(sites))
        for level in LEVELS
    ]


def flow_order(from_level: str, to_level: str) -> tuple[int, int]:
    rank = {stage: index for index, stage in enumerate(FLOW_STAGES)}
    return rank.get(from_level, len(rank)), rank.get(to_level, len(rank))
