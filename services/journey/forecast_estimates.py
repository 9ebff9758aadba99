"""What the census forecast (`forecast.py`) estimates from the history it is given, as known
at `now`: the length-of-stay survival of a level at a site, who is in it now and for how long,
the requests for a bed (from the site's referrals), how stays end, and the steps in expected
from the levels next door (pure: the standard library, the contracts and `survival.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from contracts.stays import LEVELS
from services.journey.survival import KaplanMeier

DAY = timedelta(days=1)
STEP_DOWN, STEP_UP, DISCHARGED = "stepped_down", "stepped_up", "discharged"


class StaySpan(Protocol):
    """A level segment: a stretch of an episode at one level and one site."""

    @property
    def client_ref(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...


class Referral(Protocol):
    @property
    def at(self) -> datetime: ...


class Waitlisting(Protocol):
    """A client put on the waitlist of this site x level."""

    @property
    def client_ref(self) -> str: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True)
class ForecastSettings:
    days: int = 14
    arrival_window_days: int = 28  # recent referrals and demand are counted over this window
    history_days: int = 365  # stays (for lengths of stay) and conversion look this far back
    min_stays: int = 20  # fewer stays at the site: the level's stays at every site are pooled
    coverage: float = 0.8


DEFAULTS = ForecastSettings()


@dataclass(frozen=True)
class ForecastInput:
    """What is known at `now`; anything dated after `now` is ignored. `stays`: the level's
    segments at every site; `referrals` and `waitlistings`: this site's (this level's);
    `feeders`: the segments of the levels next to this one (above and below), whose occupants
    step in."""

    site_id: str
    level: str
    now: datetime
    stays: Sequence[StaySpan]
    referrals: Sequence[Referral]
    waitlistings: Sequence[Waitlisting]
    waiting: int
    held: int
    capacity: int | None
    feeders: Sequence[StaySpan] = ()  # the adjacent levels' segments, at every site


def length_of_stay(given: ForecastInput, settings: ForecastSettings
                   ) -> tuple[KaplanMeier, bool]:
    """The level's Kaplan-Meier survival at the site, or at every site pooled (True) when the
    site has fewer than `min_stays` stays in the history window."""
    since = given.now - settings.history_days * DAY
    seen = [s for s in given.stays if since <= s.started_at <= given.now]
    here = [s for s in seen if s.site_id == given.site_id]
    pooled = len(here) < settings.min_stays and len(seen) > len(here)
    return KaplanMeier.fit(_length(s, given.now) for s in (seen if pooled else here)), pooled


def _length(stay: StaySpan, now: datetime) -> tuple[float, bool]:
    ended = stay.ended_at is not None and stay.ended_at <= now
    end = stay.ended_at if ended and stay.ended_at is not None else now
    return (end - stay.started_at) / DAY, ended


def occupants(given: ForecastInput) -> list[float]:
    """Days in the level so far of each client in it at `now`."""
    return [(given.now - s.started_at) / DAY for s in given.stays
            if s.site_id == given.site_id and s.started_at <= given.now
            and (s.ended_at is None or s.ended_at > given.now)]


@dataclass(frozen=True)
class Demand:
    """Requests for a bed in this site x level per day: the site's recent referral rate times
    the share of its referrals that became such a request (over the history window); a request
    is an entry that did not come off the waitlist, or a waitlisting."""

    per_day: float
    referrals_per_day: float
    conversion: float | None
    recent_requests_per_day: float
    entries_per_day: float
    spread: float  # relative variance of `per_day`, from how few events it rests on
    step_share: float  # of the requests, the share that were steps in from a level next door


def arrivals(given: ForecastInput, settings: ForecastSettings) -> Demand:
    recent = given.now - settings.arrival_window_days * DAY
    since = given.now - settings.history_days * DAY
    requests = _requests(given)
    referrals = [r.at for r in given.referrals if r.at <= given.now]
    window = settings.arrival_window_days
    recent_referrals = sum(1 for at in referrals if at > recent)
    recent_requests = sum(1 for at, _ in requests if at > recent)
    entries = sum(1 for s in given.stays if s.site_id == given.site_id
                  and recent < s.started_at <= given.now)
    history_referrals = sum(1 for at in referrals if at > since)
    history_requests = sum(1 for at, _ in requests if at > since)
    history_steps = sum(1 for at, step in requests if at > since and step)
    if history_referrals and recent_referrals:
        share = history_requests / history_referrals
        conversion: float | None = share
        per_day = recent_referrals / window * share
        spread = 1.0 / recent_referrals + 1.0 / max(history_requests, 1)
    else:  # no referrals seen here: the requests themselves
        conversion, per_day = None, recent_requests / window
        spread = 1.0 / max(recent_requests, 1)
    return Demand(per_day=per_day, referrals_per_day=recent_referrals / window,
                  conversion=conversion, recent_requests_per_day=recent_requests / window,
                  entries_per_day=entries / window, spread=spread,
                  step_share=history_steps / history_requests if history_requests else 0.0)


def _requests(given: ForecastInput) -> list[tuple[datetime, bool]]:
    """When each request for a bed here was made, and whether it was a step in (from a level
    next to this one at the site): a waitlisting, or an entry of someone not on this waitlist
    just before."""
    steps = {(s.client_ref, s.ended_at) for s in given.feeders if s.site_id == given.site_id
             and s.end_reason in (STEP_DOWN, STEP_UP)}
    listed: dict[str, list[datetime]] = {}
    for w in given.waitlistings:
        if w.at <= given.now:
            listed.setdefault(w.client_ref, []).append(w.at)
    entries = sorted((s for s in given.stays if s.site_id == given.site_id
                      and s.started_at <= given.now), key=lambda s: s.started_at)
    last_entry: dict[str, datetime] = {}
    requests = [(at, False) for times in listed.values() for at in times]
    for stay in entries:
        previous = last_entry.get(stay.client_ref)
        waited = any(at <= stay.started_at and (previous is None or at > previous)
                     for at in listed.get(stay.client_ref, ()))
        if not waited:
            requests.append((stay.started_at, (stay.client_ref, stay.started_at) in steps))
        last_entry[stay.client_ref] = stay.started_at
    return requests


@dataclass(frozen=True)
class Exits:
    """How stays in the level ended (over the history window): shares of the exits."""

    step_down: float
    step_up: float
    discharge: float
    counted: int
    step_downs_per_day: float  # in the recent window, at this site
    step_ups_per_day: float


def exit_shares(given: ForecastInput, settings: ForecastSettings, *, pooled: bool) -> Exits:
    since = given.now - settings.history_days * DAY
    recent = given.now - settings.arrival_window_days * DAY
    ended = [s for s in given.stays if s.ended_at is not None and since <= s.ended_at
             <= given.now and (pooled or s.site_id == given.site_id)]
    counted = len(ended)

    def share(reason: str) -> float:
        return sum(1 for s in ended if s.end_reason == reason) / counted if counted else 0.0

    def recent_rate(reason: str) -> float:
        return sum(1 for s in ended if s.end_reason == reason and s.site_id == given.site_id
                   and s.ended_at is not None and s.ended_at > recent
                   ) / settings.arrival_window_days

    return Exits(step_down=share(STEP_DOWN), step_up=share(STEP_UP), discharge=share(DISCHARGED),
                 counted=counted, step_downs_per_day=recent_rate(STEP_DOWN),
                 step_ups_per_day=recent_rate(STEP_UP))


@dataclass(frozen=True)
class StepIns:
    """Steps in expected from the clients now in the levels next to this one at the site:
    each one's probability of stepping in on day k = 1..days (ending their stay that day, times
    the share of that level's exits that step this way)."""

    people: list[list[float]]
    per_day: list[float]


def neighbours(level: str) -> list[str]:
    """The levels next to `level`: the one above (stepping down into it), the one below."""
    at = LEVELS.index(level)
    return [LEVELS[i] for i in (at - 1, at + 1) if 0 <= i < len(LEVELS)]


def step_ins(given: ForecastInput, settings: ForecastSettings) -> StepIns:
    people: list[list[float]] = []
    for level in neighbours(given.level):
        share_of = "step_down" if LEVELS.index(level) < LEVELS.index(given.level) else "step_up"
        there = replace(given, level=level, feeders=(),
                        stays=[s for s in given.feeders if s.level == level])
        survival, pooled = length_of_stay(there, settings)
        share = getattr(exit_shares(there, settings, pooled=pooled), share_of)
        for t in occupants(there):
            people.append([(survival.still_here(t, k - 1) - survival.still_here(t, k)) * share
                           for k in range(1, settings.days + 1)])
    return StepIns(people=people, per_day=[sum(p[k] for p in people)
                                           for k in range(settings.days)])
