"""Time in the journey: lengths of stay in days, and the order of a client's events (by time,
a cause before what it caused)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

SECONDS_PER_DAY = 86_400


def days_between(start: datetime, end: datetime) -> float:
    """Days from `start` to `end`, to two decimals (never negative)."""
    return round(max((end - start).total_seconds(), 0.0) / SECONDS_PER_DAY, 2)


def los_days(started_at: datetime, ended_at: datetime | None, now: datetime) -> float:
    """Length of stay in days, to two decimals; an open segment counts up to `now`."""
    return days_between(started_at, ended_at or now)


class Traceable(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def time(self) -> datetime: ...
    @property
    def causation_id(self) -> uuid.UUID | None: ...


T = TypeVar("T", bound=Traceable)


def in_journey_order(events: Iterable[T]) -> list[T]:
    """By time; where times tie, a cause comes before what it caused."""
    listed = list(events)
    depth = _causal_depths(listed)
    return sorted(listed, key=lambda e: (e.time, depth[e.id]))


def _causal_depths(events: Sequence[Traceable]) -> dict[uuid.UUID, int]:
    cause_of = {e.id: e.causation_id for e in events}
    depths: dict[uuid.UUID, int] = {}
    for event in events:
        chain: list[uuid.UUID] = []
        current: uuid.UUID | None = event.id
        while current in cause_of and current not in depths and current not in chain:
            chain.append(current)
            current = cause_of[current]
        base = depths.get(current, -1) if current is not None else -1
        for offset, event_id in enumerate(reversed(chain), start=1):
            depths[event_id] = base + offset
    return depths
