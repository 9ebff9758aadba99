"""Outcome measures per site × level, computed from the facts of the journey view (pure).

- length of stay: median and mean over completed level segments;
- step-down success: a step-down *from* this level not followed by a step-up in the same
  episode within 30 days (known once 30 days have passed or the episode has ended);
- step-up after a risk flag: relapse-risk flags raised while at this level that were followed by
  a step-up in the same episode within 30 days;
- discharge dispositions, and readmission: a discharge from this level followed by a new
  admission of the same client (any site, any level) within 30 or 90 days.

A windowed measure counts an event only once its outcome is known (`evaluated`), so recent
events never read as successes or failures before their window has run out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean, median

from services.journey.domain import LEVELS, los_days

STEP_DOWN_WINDOW = timedelta(days=30)
RISK_FLAG_WINDOW = timedelta(days=30)
READMISSION_WINDOWS = (timedelta(days=30), timedelta(days=90))
STEPPED_DOWN, STEPPED_UP, DISCHARGED = "stepped_down", "stepped_up", "discharged"


@dataclass(frozen=True)
class StayFact:
    """One level segment of an episode: a stretch at one level of care and one site."""

    client_ref: str
    episode_id: str
    site_id: str
    level: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    disposition: str | None = None

    @property
    def los_days(self) -> float | None:
        return None if self.ended_at is None else los_days(self.started_at, self.ended_at,
                                                          self.ended_at)


@dataclass(frozen=True)
class RiskFlag:
    client_ref: str
    at: datetime


@dataclass
class Rate:
    """Of `eligible` events, `evaluated` have a known outcome and `met` met the measure."""

    eligible: int = 0
    evaluated: int = 0
    met: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.met / self.evaluated, 3) if self.evaluated else None

    def add(self, outcome: bool | None) -> None:
        self.eligible += 1
        if outcome is not None:
            self.evaluated += 1
            self.met += outcome


@dataclass
class OutcomeRow:
    site_id: str
    level: str
    lengths: list[float] = field(default_factory=list, repr=False)
    step_downs: int = 0
    step_ups: int = 0
    discharges: int = 0
    dispositions: Counter[str] = field(default_factory=Counter)
    step_down_success: Rate = field(default_factory=Rate)
    step_up_after_risk_flag: Rate = field(default_factory=Rate)
    readmission_30d: Rate = field(default_factory=Rate)
    readmission_90d: Rate = field(default_factory=Rate)

    @property
    def completed_segments(self) -> int:
        return len(self.lengths)

    @property
    def median_los_days(self) -> float | None:
        return round(median(self.lengths), 2) if self.lengths else None

    @property
    def mean_los_days(self) -> float | None:
        return round(fmean(self.lengths), 2) if self.lengths else None


def outcomes(*, sites: Iterable[str], stays: Iterable[StayFact], flags: Iterable[RiskFlag],
             as_of: datetime) -> list[OutcomeRow]:
    """One row per site × level (levels from the most to the least intensive)."""
    history = History(list(stays))
    rows: dict[tuple[str, str], OutcomeRow] = {}

    def row(stay: StayFact) -> OutcomeRow:
        key = (stay.site_id, stay.level)
        return rows.setdefault(key, OutcomeRow(*key))

    for stay in history.stays:
        _count_stay(row(stay), stay, history, as_of)
    for flag in flags:
        flagged_in = history.stay_at(flag.client_ref, flag.at)
        if flagged_in is not None:
            row(flagged_in).step_up_after_risk_flag.add(history.followed_by_step_up(
                flagged_in.episode_id, after=flag.at, window=RISK_FLAG_WINDOW, as_of=as_of))
    known = set(sites) | {site for site, _ in rows}
    return [rows.get((site, level)) or OutcomeRow(site, level)
            for site in sorted(known) for level in LEVELS]


def _count_stay(row: OutcomeRow, stay: StayFact, history: History, as_of: datetime) -> None:
    if stay.los_days is not None:
        row.lengths.append(stay.los_days)
    if stay.ended_at is None:
        return
    if stay.end_reason == STEPPED_DOWN:
        row.step_downs += 1
        stepped_back_up = history.followed_by_step_up(
            stay.episode_id, after=stay.ended_at, window=STEP_DOWN_WINDOW, as_of=as_of)
        row.step_down_success.add(None if stepped_back_up is None else not stepped_back_up)
    elif stay.end_reason == STEPPED_UP:
        row.step_ups += 1
    elif stay.end_reason == DISCHARGED:
        row.discharges += 1
        row.dispositions[stay.disposition or "unknown"] += 1
        short, long = READMISSION_WINDOWS
        row.readmission_30d.add(history.readmitted(stay, window=short, as_of=as_of))
        row.readmission_90d.add(history.readmitted(stay, window=long, as_of=as_of))


class History:
    """Every client's stays, indexed for the windowed measures."""

    def __init__(self, stays: list[StayFact]) -> None:
        self.stays = sorted(stays, key=lambda s: (s.client_ref, s.started_at))
        self._by_client: dict[str, list[StayFact]] = defaultdict(list)
        self._by_episode: dict[str, list[StayFact]] = defaultdict(list)
        for stay in self.stays:
            self._by_client[stay.client_ref].append(stay)
            self._by_episode[stay.episode_id].append(stay)

    def stay_at(self, client_ref: str, moment: datetime) -> StayFact | None:
        during = [s for s in self._by_client.get(client_ref, ())
                  if s.started_at <= moment and (s.ended_at is None or moment < s.ended_at)]
        return during[-1] if during else None

    def followed_by_step_up(self, episode_id: str, *, after: datetime, window: timedelta,
                            as_of: datetime) -> bool | None:
        episode = self._by_episode[episode_id]
        step_ups = [s.ended_at for s in episode if s.end_reason == STEPPED_UP and s.ended_at]
        ended = [s.ended_at for s in episode if s.end_reason == DISCHARGED and s.ended_at]
        return _within(step_ups, after=after, window=window, as_of=as_of,
                       closed_at=min(ended, default=None))

    def readmitted(self, discharge: StayFact, *, window: timedelta, as_of: datetime
                   ) -> bool | None:
        assert discharge.ended_at is not None
        admissions = [min(s.started_at for s in self._by_episode[s.episode_id])
                      for s in self._by_client[discharge.client_ref]
                      if s.episode_id != discharge.episode_id]
        return _within(admissions, after=discharge.ended_at, window=window, as_of=as_of)


def _within(moments: Iterable[datetime], *, after: datetime, window: timedelta,
            as_of: datetime, closed_at: datetime | None = None) -> bool | None:
    """True if something happened in (after, after + window]; False once that can no longer
    happen (the window has passed, or what it belongs to was closed); None while open."""
    deadline = after + window
    if any(after < moment <= deadline for moment in moments):
        return True
    if as_of >= deadline or (closed_at is not None and closed_at <= deadline):
        return False
    return None
