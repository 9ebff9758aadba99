"""The census forecast's backtest: a history replayed day by day into the same `forecast`
that serves `GET /forecast`, each day seeing only what the journey would have seen by then
(stays opened and closed, referrals, the waitlist), scored against what happened next and
against the naive forecast "the census stays as it is today" (pure; `carepath forecast
backtest` feeds it the synthetic care path of carepath/dev/synthetic.py)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.journey.forecast import forecast
from services.journey.forecast_estimates import (
    DAY,
    DEFAULTS,
    ForecastInput,
    ForecastSettings,
    StaySpan,
    neighbours,
)


class SiteReferral(Protocol):
    @property
    def site_id(self) -> str: ...
    @property
    def at(self) -> datetime: ...


class WaitSpan(Protocol):
    """A time on a waitlist: from `at` until admitted or gone (None: still waiting)."""

    @property
    def client_ref(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def until(self) -> datetime | None: ...


class Replayable(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def days(self) -> int: ...
    @property
    def capacity(self) -> Mapping[tuple[str, str], int]: ...
    @property
    def stays(self) -> Sequence[StaySpan]: ...
    @property
    def referrals(self) -> Sequence[SiteReferral]: ...
    @property
    def waitlistings(self) -> Sequence[WaitSpan]: ...


@dataclass(frozen=True)
class Score:
    """Forecasts of one horizon (or all): how many, the share of actual censuses inside the
    interval, and the mean absolute errors of the forecast and of the naive one."""

    label: str
    count: int
    inside: float
    mae: float
    naive_mae: float

    @classmethod
    def of(cls, label: str, results: Sequence[tuple[int, float, int, int, int]]) -> Score:
        """`results`: (actual, expected, low, high, today) per forecast day."""
        n = len(results)
        return cls(label=label, count=n,
                   inside=sum(low <= a <= high for a, _, low, high, _ in results) / n,
                   mae=sum(abs(e - a) for a, e, _, _, _ in results) / n,
                   naive_mae=sum(abs(t - a) for a, _, _, _, t in results) / n)


@dataclass(frozen=True)
class Report:
    origins: int  # forecast origins (days x site x level)
    by_horizon: list[Score]
    by_place: list[Score]
    overall: Score

    def table(self) -> str:
        lines = [f"{'':<32} {'forecasts':>9} {'in 80%':>7} {'MAE':>6} {'naive':>6} "
                 f"{'ratio':>6}"]
        for score in [*self.by_horizon, *self.by_place, self.overall]:
            ratio = score.mae / score.naive_mae if score.naive_mae else math.nan
            lines.append(f"{score.label:<32} {score.count:>9} {score.inside:>7.1%} "
                         f"{score.mae:>6.2f} {score.naive_mae:>6.2f} {ratio:>6.2f}")
        return "\n".join(lines)


def backtest(history: Replayable, *, horizon: int = 14, first_day: int | None = None,
             places: Iterable[tuple[str, str]] | None = None, every: int = 1,
             settings: ForecastSettings = DEFAULTS) -> Report:
    """Forecast `horizon` days ahead from the end of each day from `first_day` (default: the
    second half of the history; every `every`-th day) at each site x level, and score every
    day that the history still covers."""
    first = history.days // 2 if first_day is None else first_day
    chosen = sorted(places if places is not None else history.capacity)
    per_horizon: dict[int, list[tuple[int, float, int, int, int]]] = {}
    per_place: dict[tuple[str, str], list[tuple[int, float, int, int, int]]] = {}
    origins = 0
    for site, level in chosen:
        replay = _Replay(history, site, level)
        for day in range(first, history.days, every):
            now = history.start + day * DAY
            ahead = min(horizon, history.days - day)
            if ahead < 1:
                continue
            origins += 1
            predicted = forecast(replay.seen_at(now), _for(settings, ahead))
            today = replay.census[day]
            for h, predicted_day in enumerate(predicted.days, start=1):
                result = (replay.census[day + h], predicted_day.expected, predicted_day.low,
                          predicted_day.high, today)
                per_horizon.setdefault(h, []).append(result)
                per_place.setdefault((site, level), []).append(result)
    return Report(origins=origins,
                  by_horizon=[Score.of(f"day +{h}", rs) for h, rs in sorted(per_horizon.items())],
                  by_place=[Score.of(f"{s} {lv} (all days)", rs)
                            for (s, lv), rs in sorted(per_place.items())],
                  overall=Score.of("overall", [r for rs in per_horizon.values() for r in rs]))


def _for(settings: ForecastSettings, days: int) -> ForecastSettings:
    return ForecastSettings(days=days, arrival_window_days=settings.arrival_window_days,
                            history_days=settings.history_days, min_stays=settings.min_stays,
                            coverage=settings.coverage)


class _Replay:
    """One site x level of a history, indexed so each day's view is a slice; `census[j]` is
    the census at `start + j` days."""

    def __init__(self, history: Replayable, site: str, level: str) -> None:
        self.site, self.level = site, level
        self.capacity = history.capacity.get((site, level))
        self.stays = sorted((s for s in history.stays if s.level == level),
                            key=lambda s: s.started_at)
        self.starts = [s.started_at for s in self.stays]
        nearby = set(neighbours(level))
        self.feeders = sorted((s for s in history.stays if s.level in nearby),
                              key=lambda s: s.started_at)
        self.feeder_starts = [s.started_at for s in self.feeders]
        self.referrals = sorted((r for r in history.referrals if r.site_id == site),
                                key=lambda r: r.at)
        self.waits = sorted((w for w in history.waitlistings
                             if (w.site_id, w.level) == (site, level)), key=lambda w: w.at)
        self.referral_times = [r.at for r in self.referrals]
        self.wait_times = [w.at for w in self.waits]
        self.census = _census(history, [s for s in self.stays if s.site_id == site])

    def seen_at(self, now: datetime) -> ForecastInput:
        waits = self.waits[:bisect_right(self.wait_times, now)]
        return ForecastInput(
            site_id=self.site, level=self.level, now=now,
            stays=self.stays[:bisect_right(self.starts, now)],
            referrals=self.referrals[:bisect_right(self.referral_times, now)],
            waitlistings=waits,
            waiting=sum(1 for w in waits if w.until is None or w.until > now),
            held=0, capacity=self.capacity,
            feeders=self.feeders[:bisect_right(self.feeder_starts, now)])


def _census(history: Replayable, stays: Iterable[StaySpan]) -> list[int]:
    change = [0] * (history.days + 2)
    for stay in stays:
        first = math.ceil((stay.started_at - history.start) / DAY)
        last = history.days + 1 if stay.ended_at is None else math.ceil(
            (stay.ended_at - history.start) / DAY)
        change[max(first, 0)] += 1
        change[min(last, history.days + 1)] -= 1
    census, running = [], 0
    for delta in change:
        running += delta
        census.append(running)
    return census
