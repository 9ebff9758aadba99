"""Every client's journey facts, indexed for the windowed outcome measures, and the window rule
they share (pure)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from services.journey.domain import SegmentEnd
from services.journey.facts import Attendance, StayFact


class History:
    def __init__(self, stays: Iterable[StayFact], attendance: Iterable[Attendance] = ()
                 ) -> None:
        self.stays = sorted(stays, key=lambda s: (s.client_ref, s.started_at))
        self._by_client: dict[str, list[StayFact]] = defaultdict(list)
        self._by_episode: dict[uuid.UUID, list[StayFact]] = defaultdict(list)
        for stay in self.stays:
            self._by_client[stay.client_ref].append(stay)
            self._by_episode[stay.episode_id].append(stay)
        self._attendance: dict[str, list[Attendance]] = defaultdict(list)
        for record in attendance:
            self._attendance[record.client_ref].append(record)

    def episodes(self) -> Iterator[list[StayFact]]:
        """Each episode's stays, in order."""
        return iter(self._by_episode.values())

    def episode(self, episode_id: uuid.UUID) -> list[StayFact]:
        return self._by_episode[episode_id]

    def stay_at(self, client_ref: str, moment: datetime) -> StayFact | None:
        during = [s for s in self._by_client.get(client_ref, ())
                  if s.started_at <= moment and (s.ended_at is None or moment < s.ended_at)]
        return during[-1] if during else None

    def admissions(self, client_ref: str, *, besides: uuid.UUID) -> list[datetime]:
        """When the client's other episodes began: their first stay not voided by a cancelled
        admission (an episode whose only admission was cancelled never began)."""
        episodes = {s.episode_id for s in self._by_client[client_ref]} - {besides}
        return [min(starts) for starts in (
            [s.started_at for s in self._by_episode[e] if s.end_reason != SegmentEnd.cancelled]
            for e in episodes) if starts]

    def attendance(self, client_ref: str) -> list[Attendance]:
        return self._attendance.get(client_ref, [])


def ended_at(stays: Iterable[StayFact], reason: SegmentEnd) -> list[datetime]:
    """When the stays that ended for `reason` ended."""
    return [s.ended_at for s in stays if s.end_reason == reason and s.ended_at is not None]


def within(moments: Iterable[datetime], *, after: datetime, window: timedelta,
           as_of: datetime, closed_at: datetime | None = None) -> bool | None:
    """True if something happened in (after, after + window]; False once that can no longer
    happen (the window has passed by `as_of`, or what it belongs to was closed within it);
    None while the outcome is not known yet."""
    deadline = after + window
    if any(after < moment <= deadline for moment in moments):
        return True
    if as_of >= deadline or (closed_at is not None and closed_at <= deadline):
        return False
    return None
