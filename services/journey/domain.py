"""Journey rules: what a placement event does to an episode's level segments, its status, the
waitlist and the flows between levels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from contracts.events import Disposition
from contracts.stays import (
    DISCHARGED as DISCHARGED,
)
from contracts.stays import (
    FLOW_STAGES as FLOW_STAGES,
)
from contracts.stays import (
    LEVELS as LEVELS,
)
from contracts.stays import (
    OPEN_STATUSES as OPEN_STATUSES,
)
from contracts.stays import (
    REFERRAL as REFERRAL,
)
from contracts.stays import (
    UNKNOWN_SITE as UNKNOWN_SITE,
)
from contracts.stays import (
    EpisodeStatus as EpisodeStatus,
)
from contracts.stays import (
    Move as Move,
)
from contracts.stays import (
    MoveKind as MoveKind,
)
from contracts.stays import (
    PlacementChange as PlacementChange,
)
from contracts.stays import (
    SegmentEnd as SegmentEnd,
)
from contracts.stays import (
    Stay as Stay,
)
from contracts.stays import (
    next_status as next_status,
)
from contracts.stays import (
    placement_change as placement_change,
)
from services.journey.timeline import los_days


def canonical_disposition(value: str | None) -> str | None:
    """The TEDS-D disposition a stored value means (`ama` and `administrative`, written before
    2026-12, read as `left_against_advice` and `terminated_by_facility`)."""
    try:
        return None if value is None else Disposition(value).canonical.value
    except ValueError:
        return value  # a disposition newer than this release: kept as it came


def less_intensive(level: str, than: str) -> bool:
    return LEVELS.index(level) > LEVELS.index(than)


class Span(Protocol):
    """A level segment, as the journey view or the outcome facts hold it."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...


def episode_los_days(segments: Iterable[Span], now: datetime) -> float | None:
    """An episode's length of stay: from its admission (first segment) to its discharge (the
    end of the last), counted to `now` while it goes on; None for an episode never started (it
    only waited, or its admission was cancelled)."""
    held = [s for s in segments if s.end_reason != SegmentEnd.cancelled]
    if not held:
        return None
    ends = [s.ended_at for s in held]
    end = None if None in ends else max(e for e in ends if e is not None)
    return los_days(min(s.started_at for s in held), end, now)
