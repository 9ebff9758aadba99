"""Journey rules: what a placement event does to an episode's level segments, the waitlist and
the flows between levels, and how a client's events are put in order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol, TypeVar

from contracts import EventData, LevelOfCare
from contracts.events import (
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    PlacementWaitlisted,
    SteppedDown,
    SteppedUp,
)

LEVELS: tuple[str, ...] = tuple(level.value for level in LevelOfCare)
REFERRAL = "referral"
DISCHARGED = "discharged"
FLOW_STAGES: tuple[str, ...] = (REFERRAL, *LEVELS, DISCHARGED)
UNKNOWN_SITE = "unknown"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class ConfiguredSites:
    """Sites from configuration, with their starting capacity per level until a
    CapacityChanged event says otherwise."""

    capacity: dict[tuple[str, str], int]

    @property
    def site_ids(self) -> set[str]:
        return {site for site, _ in self.capacity}


class EpisodeStatus(str, Enum):
    waitlisted = "waitlisted"
    active = "active"
    discharged = "discharged"


class MoveKind(str, Enum):
    admitted = "admitted"
    stepped_down = "stepped_down"
    stepped_up = "stepped_up"
    discharged = "discharged"


@dataclass(frozen=True)
class Stay:
    """Where a client is (or is waiting to be): a level of care at a site."""

    level: str
    site_id: str


@dataclass(frozen=True)
class Move:
    """One counted flow from a stage (referral or a level) to a stage (a level or discharge)."""

    kind: MoveKind
    from_level: str
    to_level: str
    site_id: str
    disposition: str | None = None


@dataclass(frozen=True)
class PlacementChange:
    ends_stay: str | None = None  # why the current segment ends, if it does
    starts: Stay | None = None
    move: Move | None = None
    status: EpisodeStatus | None = None
    disposition: str | None = None
    waitlists: Stay | None = None
    leaves_waitlist: bool = False


def placement_change(
    data: EventData, *, site_id: str | None, current: Stay | None
) -> PlacementChange | None:
    """What a placement event means for the episode whose current stay is `current`."""
    here = (current.site_id if current else None) or site_id or UNKNOWN_SITE
    match data:
        case ClientAdmitted():
            site = site_id or here
            return PlacementChange(
                ends_stay="readmitted" if current else None, starts=Stay(data.level.value, site),
                move=Move(MoveKind.admitted, REFERRAL, data.level.value, site),
                status=EpisodeStatus.active, leaves_waitlist=True)
        case SteppedDown() | SteppedUp():
            kind = MoveKind.stepped_down if isinstance(data, SteppedDown) else MoveKind.stepped_up
            return PlacementChange(
                ends_stay=kind.value, starts=Stay(data.to_level.value, here),
                move=Move(kind, data.from_level.value, data.to_level.value, here),
                status=EpisodeStatus.active, leaves_waitlist=True)
        case ClientTransferred():
            return PlacementChange(ends_stay="transferred", starts=Stay(data.level.value,
                                                                        data.to_site),
                                   status=EpisodeStatus.active, leaves_waitlist=True)
        case ClientDischarged():
            # Discharged while still waiting: the client never held that level.
            origin = data.level.value if current else REFERRAL
            return PlacementChange(
                ends_stay=DISCHARGED,
                move=Move(MoveKind.discharged, origin, DISCHARGED, here,
                          disposition=data.disposition.value),
                status=EpisodeStatus.discharged, disposition=data.disposition.value,
                leaves_waitlist=True)
        case PlacementWaitlisted():
            return PlacementChange(waitlists=Stay(data.level.value, site_id or here),
                                   status=EpisodeStatus.waitlisted)
    return None


def next_status(current: str | None, proposed: EpisodeStatus) -> str:
    """Waiting for a (new) level never demotes an episode that is already under way or over."""
    if proposed is EpisodeStatus.waitlisted and current in (EpisodeStatus.active.value,
                                                            EpisodeStatus.discharged.value):
        return current
    return proposed.value


def los_days(started_at: datetime, ended_at: datetime | None, now: datetime) -> float:
    """Length of stay in days, to two decimals; an open segment counts up to `now`."""
    seconds = ((ended_at or now) - started_at).total_seconds()
    return round(max(seconds, 0.0) / SECONDS_PER_DAY, 2)


def as_utc(moment: datetime) -> datetime:
    """Some databases hand back naive timestamps; everything we store is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Traceable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def causation_id(self) -> str | None: ...


T = TypeVar("T", bound=Traceable)


def in_journey_order(events: Iterable[T]) -> list[T]:
    """By time; where times tie, a cause comes before what it caused."""
    listed = list(events)
    depth = _causal_depths(listed)
    return sorted(listed, key=lambda e: (as_utc(e.time), depth[e.id]))


def _causal_depths(events: Sequence[Traceable]) -> dict[str, int]:
    cause_of = {e.id: e.causation_id for e in events}
    depths: dict[str, int] = {}
    for event in events:
        chain: list[str] = []
        current: str | None = event.id
        while current in cause_of and current not in depths and current not in chain:
            chain.append(current)
            current = cause_of[current]
        base = depths.get(current, -1) if current is not None else -1
        for offset, event_id in enumerate(reversed(chain), start=1):
            depths[event_id] = base + offset
    return depths
