"""Utilization review in placement: the level stays placement observes for each client in care,
and the daily check's decisions — which AuthorizationExpiring and UnauthorizedStay are due
`today`, each once: an expiring authorization once, an uncovered run of a stay once (once it
is longer than `unauthorized_after_days`). How
authorizations cover days is contracts/utilization.py's, shared with journey.

Idempotent and replay-stable: what is due follows from the stays, the authorizations and the
marks of what was emitted, never from when the check last ran; an UnauthorizedStay's `as_of`
is the last uncovered day it counts, so the same facts give the same events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from contracts import CausalLink, LevelOfCare
from contracts.events import AuthorizationExpiring, UnauthorizedStay
from contracts.utilization import (
    ONE_DAY,
    Authorization,
    LevelStay,
    ReviewWindows,
    expiring,
    uncovered_runs,
    usable,
)
from services.placement.domain import Episode, EpisodeStatus
from services.placement.moves import Outbox


def observe(stays: Sequence[LevelStay], episode: Episode | None) -> list[LevelStay]:
    """A client's level stays once `episode` (their latest, None: none) is seen: a stay goes on
    through a transfer at the same level; a new episode or level starts a new one on the day
    it began and ends the open one that day (back, that same day, to the stay it left: that
    stay goes on, one stay per episode, level and first day); an episode no longer in care
    ends it, and a void admission (a no-show) leaves no stay at all."""
    history = [s for s in stays if s.until is not None]
    current = next((s for s in stays if s.until is None), None)
    if episode is None:
        return [*history, current] if current else history
    since = episode.since.date()
    if episode.status is EpisodeStatus.cancelled:  # the admission was void: no stay happened
        return history
    if not episode.in_care or episode.level is None:
        return [*history, _ended(current, since)] if current else history
    if current is not None and current.episode_id == str(episode.episode_id) \
            and current.level == episode.level.value:
        return [*history, replace(current, site_id=episode.site_id)]
    if current is not None:
        history.append(_ended(current, since))
    stay = LevelStay(episode_id=str(episode.episode_id), level=episode.level.value,
                     site_id=episode.site_id, since=since)
    # back the same day to a stay that ended that day (it held no day): that stay goes on
    return [*(s for s in history if _key(s) != _key(stay)), stay]


def in_order(stays: Sequence[LevelStay]) -> list[LevelStay]:
    """By first day; of two that began the same day, the ended one first."""
    return sorted(stays, key=lambda s: (s.since, s.until is None, s.until or s.since))


def _key(stay: LevelStay) -> tuple[str, str, date]:
    return stay.episode_id, stay.level, stay.since


def _ended(stay: LevelStay, on: date) -> LevelStay:
    return replace(stay, until=max(on, stay.since))


@dataclass(frozen=True)
class Due:
    """An event the check owes, and the mark that says it was emitted."""

    key: str
    event: AuthorizationExpiring | UnauthorizedStay


def due(client_ref: str, stays: Sequence[LevelStay], authorizations: Sequence[Authorization],
        today: date, windows: ReviewWindows) -> list[Due]:
    """Every UR event the client's current stay calls for by `today` (marked or not)."""
    stay = next((s for s in stays if s.until is None), None)
    if stay is None:
        return []
    in_use = usable(stay, stays, authorizations)
    found = [Due(f"expiring/{a.authorization_id}", AuthorizationExpiring(
        authorization_id=a.authorization_id, payer_ref=a.payer_ref,
        level=LevelOfCare(a.level), site_id=stay.site_id, ends_on=today + days_left * ONE_DAY,
        days_left=days_left))
        for a, days_left in expiring(stay, in_use, today,
                                     within_days=windows.expiring_within_days)]
    for run in uncovered_runs(stay, in_use, today):
        if run.days <= windows.unauthorized_after_days:  # still time to ask the payer
            continue
        key = f"unauthorized/{client_ref}/{stay.episode_id}/{stay.level}/{stay.since}/{run.since}"
        found.append(Due(key, UnauthorizedStay(
            level=LevelOfCare(stay.level), site_id=stay.site_id, uncovered_since=run.since,
            days=run.days, as_of=run.since + (run.days - 1) * ONE_DAY)))
    return found


class UrRepository(Protocol):
    def in_care(self) -> list[str]:
        """Clients in care, or whose observed stay is still open."""
        ...

    def latest_episode(self, client_ref: str) -> Episode | None: ...
    def stays_of(self, client_ref: str) -> list[LevelStay]: ...
    def save_stays(self, client_ref: str, stays: Sequence[LevelStay]) -> None: ...
    def authorizations_of(self, client_ref: str) -> list[Authorization]: ...
    def marked(self, key: str) -> bool: ...
    def mark(self, key: str, *, client_ref: str, at: datetime) -> None: ...
    def chain(self, client_ref: str) -> CausalLink | None: ...


@dataclass
class UrCheck:
    repo: UrRepository
    outbox: Outbox
    now: datetime
    windows: ReviewWindows

    def client(self, client_ref: str) -> list[Due]:
        """Observe the client's stay and emit what is due and not yet emitted."""
        episode = self.repo.latest_episode(client_ref)
        before = self.repo.stays_of(client_ref)
        stays = observe(before, episode)
        if stays != before:
            self.repo.save_stays(client_ref, stays)
        emitted = []
        for item in due(client_ref, stays, self.repo.authorizations_of(client_ref),
                        self.now.date(), self.windows):
            if self.repo.marked(item.key):
                continue
            self.outbox.emit(item.event, subject=client_ref, site_id=item.event.site_id,
                             episode_id=episode.episode_id if episode else None,
                             cause=self.repo.chain(client_ref), time=self.now)
            self.repo.mark(item.key, client_ref=client_ref, at=self.now)
            emitted.append(item)
        return emitted
