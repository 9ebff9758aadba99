"""Census, flows and outcomes computed from the journey views (pure; no storage here)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import fmean, median

from services.journey.domain import FLOW_STAGES, LEVELS, MoveKind

SiteLevel = tuple[str, str]


@dataclass(frozen=True)
class CensusRow:
    site_id: str
    level: str
    occupied: int
    capacity: int | None
    waitlist: int

    @property
    def utilisation(self) -> float | None:
        if not self.capacity:
            return None
        return round(self.occupied / self.capacity, 3)


def census(
    *,
    sites: Iterable[str],
    occupied: Mapping[SiteLevel, int],
    waitlist: Mapping[SiteLevel, int],
    capacity: Mapping[SiteLevel, int],
) -> list[CensusRow]:
    """One row per site × level, levels from the most to the least intensive."""
    return [
        CensusRow(site_id=site, level=level, occupied=occupied.get((site, level), 0),
                  capacity=capacity.get((site, level)), waitlist=waitlist.get((site, level), 0))
        for site in sorted(set(sites))
        for level in LEVELS
    ]


def flow_order(from_level: str, to_level: str) -> tuple[int, int]:
    rank = {stage: index for index, stage in enumerate(FLOW_STAGES)}
    return rank.get(from_level, len(rank)), rank.get(to_level, len(rank))


@dataclass(frozen=True)
class CompletedStay:
    site_id: str
    level: str
    los_days: float


@dataclass(frozen=True)
class CountedMove:
    site_id: str
    from_level: str
    kind: str
    disposition: str | None
    count: int


@dataclass
class OutcomeRow:
    site_id: str
    level: str
    completed_segments: int = 0
    median_los_days: float | None = None
    mean_los_days: float | None = None
    step_downs: int = 0
    step_ups: int = 0
    discharges: int = 0
    dispositions: dict[str, int] = field(default_factory=dict)


def outcomes(
    *, sites: Iterable[str], stays: Iterable[CompletedStay], moves: Iterable[CountedMove]
) -> list[OutcomeRow]:
    """Per site × level: completed segments and their length of stay, moves out, dispositions."""
    lengths: dict[SiteLevel, list[float]] = defaultdict(list)
    for stay in stays:
        lengths[(stay.site_id, stay.level)].append(stay.los_days)
    moves_out: dict[SiteLevel, Counter[str]] = defaultdict(Counter)
    dispositions: dict[SiteLevel, Counter[str]] = defaultdict(Counter)
    for move in moves:
        moves_out[(move.site_id, move.from_level)][move.kind] += move.count
        if move.kind == MoveKind.discharged.value and move.disposition:
            dispositions[(move.site_id, move.from_level)][move.disposition] += move.count
    known = set(sites) | {site for site, _ in lengths} | {site for site, _ in moves_out}
    return [_outcome(site, level, lengths[(site, level)], moves_out[(site, level)],
                     dispositions[(site, level)])
            for site in sorted(known) for level in LEVELS]


def _outcome(site: str, level: str, lengths: list[float], moves: Counter[str],
             dispositions: Counter[str]) -> OutcomeRow:
    return OutcomeRow(
        site_id=site,
        level=level,
        completed_segments=len(lengths),
        median_los_days=round(median(lengths), 2) if lengths else None,
        mean_los_days=round(fmean(lengths), 2) if lengths else None,
        step_downs=moves[MoveKind.stepped_down.value],
        step_ups=moves[MoveKind.stepped_up.value],
        discharges=moves[MoveKind.discharged.value],
        dispositions=dict(sorted(dispositions.items())),
    )
