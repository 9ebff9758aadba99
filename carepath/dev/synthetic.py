"""The synthetic care path: how often each site is referred to, where clients start, how long
they stay in each level and where they go next. The live demo (`demo.py`) picks each demo
client's path from it, and `history` plays it out day by day over years, with each site's
capacity and waitlist, for the census forecast's backtest (`carepath forecast backtest`).

Illustrative figures, not any programme's: no real people, no real data."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

LEVELS = ("residential", "php", "iop", "aftercare")  # most to least intensive
DAY = timedelta(days=1)


@dataclass(frozen=True)
class LevelModel:
    """A stay in a level: lognormal length (median, and the spread of its logarithm), then a
    step down (to the next level), a step up (to the previous one) or a discharge."""

    median_los_days: float
    los_spread: float
    step_down: float
    step_up: float


@dataclass(frozen=True)
class CarePathModel:
    referrals_per_day: Mapping[str, float]  # per site
    first_level: Mapping[str, float]  # the level a referral asks for; the rest never ask
    levels: Mapping[str, LevelModel]
    request_lag_days: tuple[float, float] = (0.2, 2.0)  # referral to a bed asked for
    waitlist_patience_days: float = 14.0  # mean wait before a new client gives up

    def first_level_of(self, rng: random.Random, among: Sequence[str] = LEVELS) -> str:
        """A new client's first level, drawn from the mix (only `among` those levels)."""
        levels = [level for level in LEVELS if level in among and level in self.first_level]
        return rng.choices(levels, weights=[self.first_level[lv] for lv in levels])[0]

    def asks_for_a_bed(self, rng: random.Random) -> str | None:
        """What a referral asks for: a first level, or nothing (never assessed or placed)."""
        if rng.random() >= sum(self.first_level.values()):
            return None
        return self.first_level_of(rng)

    def length_of_stay(self, rng: random.Random, level: str) -> float:
        model = self.levels[level]
        return model.median_los_days * math.exp(rng.gauss(0.0, model.los_spread))

    def next_level(self, rng: random.Random, level: str) -> str | None:
        """Where a stay in `level` goes when it ends; None: discharged."""
        model, at, draw = self.levels[level], LEVELS.index(level), rng.random()
        if draw < model.step_down and at + 1 < len(LEVELS):
            return LEVELS[at + 1]
        if draw < model.step_down + model.step_up and at > 0:
            return LEVELS[at - 1]
        return None


CARE_PATH = CarePathModel(
    referrals_per_day={"boston": 1.0, "worcester": 0.7},
    first_level={"residential": 0.45, "php": 0.15, "iop": 0.3},
    levels={
        "residential": LevelModel(median_los_days=21, los_spread=0.5, step_down=0.7,
                                  step_up=0.0),
        "php": LevelModel(median_los_days=14, los_spread=0.5, step_down=0.65, step_up=0.1),
        "iop": LevelModel(median_los_days=30, los_spread=0.5, step_down=0.6, step_up=0.1),
        "aftercare": LevelModel(median_los_days=60, los_spread=0.6, step_down=0.0,
                                step_up=0.08),
    },
)


@dataclass
class Stay:
    client_ref: str
    site_id: str
    level: str
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Referral:
    site_id: str
    at: datetime


@dataclass
class Waitlisting:
    client_ref: str
    site_id: str
    level: str
    at: datetime
    until: datetime | None = None
    moving_from: Stay | None = None  # a client in care waits in their current stay


@dataclass
class History:
    """What the journey would have seen: stays opened and closed, referrals, waitlistings.
    Whatever had not ended by `start + days` is still open."""

    start: datetime
    days: int
    capacity: Mapping[tuple[str, str], int]
    stays: list[Stay] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    waitlistings: list[Waitlisting] = field(default_factory=list)


def history(*, seed: int, days: int, capacity: Mapping[tuple[str, str], int],
            model: CarePathModel = CARE_PATH,
            start: datetime = datetime(2024, 1, 1, tzinfo=UTC)) -> History:
    """`days` of the care path at the sites of `capacity`, the same for the same seed."""
    return _Simulation(model, random.Random(seed), History(start, days, capacity)).run()


class _Simulation:
    """A discrete-event simulation: referrals, requests for a bed, ends of stays, a waiting
    client giving up; a freed bed goes to the head of its waitlist."""

    def __init__(self, model: CarePathModel, rng: random.Random, out: History) -> None:
        self.model, self.rng, self.out = model, rng, out
        self.end = out.start + out.days * DAY
        self.queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        self.clients = itertools.count(1)
        self.occupied: dict[tuple[str, str], int] = {key: 0 for key in out.capacity}
        self.waiting: dict[tuple[str, str], deque[Waitlisting]] = {k: deque()
                                                                   for k in out.capacity}

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        if when < self.end:
            heapq.heappush(self.queue, (when, next(self.order), action))

    def run(self) -> History:
        for site, rate in sorted(self.model.referrals_per_day.items()):
            self.at(self.out.start + self.rng.expovariate(rate) * DAY,
                    partial(self.referred, site=site, rate=rate))
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            action(when)
        return self.out

    def referred(self, now: datetime, site: str, rate: float) -> None:
        self.out.referrals.append(Referral(site, now))
        self.at(now + self.rng.expovariate(rate) * DAY,
                lambda later: self.referred(later, site, rate))
        level = self.model.asks_for_a_bed(self.rng)
        if level is not None:
            client, lag = f"syn-{next(self.clients):05d}", self.rng.uniform(
                *self.model.request_lag_days)
            self.at(now + lag * DAY, lambda later: self.request(later, client, site, level, None))

    def request(self, now: datetime, client: str, site: str, level: str,
                moving_from: Stay | None) -> None:
        if self.free(site, level):
            self.enter(now, client, site, level, moving_from)
            return
        waiting = Waitlisting(client, site, level, now, moving_from=moving_from)
        self.out.waitlistings.append(waiting)
        self.waiting[site, level].append(waiting)
        if moving_from is None:
            patience = self.rng.expovariate(1.0 / self.model.waitlist_patience_days)
            self.at(now + patience * DAY, lambda later: self.give_up(later, waiting))

    def free(self, site: str, level: str) -> bool:
        return self.occupied[site, level] < self.out.capacity[site, level]

    def enter(self, now: datetime, client: str, site: str, level: str,
              moving_from: Stay | None) -> None:
        if moving_from is not None:
            up = LEVELS.index(level) < LEVELS.index(moving_from.level)
            self.leave(now, moving_from, "stepped_up" if up else "stepped_down")
        stay = Stay(client, site, level, now)
        self.out.stays.append(stay)
        self.occupied[site, level] += 1
        length = self.model.length_of_stay(self.rng, level)
        self.at(now + length * DAY, lambda later: self.stay_ends(later, stay))

    def stay_ends(self, now: datetime, stay: Stay) -> None:
        after = self.model.next_level(self.rng, stay.level)
        if after is None:
            self.leave(now, stay, "discharged")
        else:
            self.request(now, stay.client_ref, stay.site_id, after, stay)

    def leave(self, now: datetime, stay: Stay, reason: str) -> None:
        stay.ended_at, stay.end_reason = now, reason
        self.occupied[stay.site_id, stay.level] -= 1
        waiting = self.waiting[stay.site_id, stay.level]
        if waiting and self.free(stay.site_id, stay.level):
            head = waiting.popleft()
            head.until = now
            self.enter(now, head.client_ref, head.site_id, head.level, head.moving_from)

    def give_up(self, now: datetime, waiting: Waitlisting) -> None:
        if waiting.until is None:
            waiting.until = now
            self.waiting[waiting.site_id, waiting.level].remove(waiting)
