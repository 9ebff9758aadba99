"""How a consumer reads payers' authorizations against a client's stay (utilization review):
which days an authorization covers, the days no authorization covers, when the next concurrent
review is due, which authorizations run out soon, and the UR queue built from all that. Pure
(the standard library, pydantic and the contracts), so placement's queue and daily check and
journey's queue give the same answers from the same facts.

Rules:
- Days are calendar days, counted as payers count inpatient and residential days (the "midnight
  census"): the day a client enters a level counts, the day they leave it does not (CMS,
  Medicare Benefit Policy Manual, ch. 3, §20.1). A level stay is a client's stretch at one
  level within an episode: a transfer to another site at the same level continues it.
- An authorization covers its level only. It is used by the first stay at its level that it
  overlaps; when that stay ends (a level change or a discharge) its use is over, so days in
  the new level count against nothing unless an authorization for that level covers them —
  and a later return to the old level needs a new authorization.
- `approved_days`: the authorization covers at most that many days, counted from the later of
  the stay's first day and its own `starts_on`. `approved_sessions`: sessions are scheduling's
  facts, not counted here; such an authorization covers every day of its period, and the count
  is for the reviewer to reconcile.
- The next concurrent review is the payer's `next_review_on` when given; otherwise every
  `review_every_days` from the authorization's start (never after its last covered day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import AuthorizationRecorded

EXPIRING_WITHIN_DAYS = 3
REVIEW_EVERY_DAYS = 7
# Payers commonly accept the request for an urgent admission's authorization within a day or
# two of it (the next business day): a stay is reported unauthorized only after that.
UNAUTHORIZED_AFTER_DAYS = 2
DUE_WITHIN_DAYS = 7
ONE_DAY = timedelta(days=1)


class ReviewWindows(BaseModel):
    """The `utilization_review` section of config/placement.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expiring_within_days: int = Field(default=EXPIRING_WITHIN_DAYS, ge=0, le=60)
    review_every_days: int = Field(default=REVIEW_EVERY_DAYS, ge=1, le=365)
    # UnauthorizedStay once a run of uncovered days is longer than this (0: on its first day).
    unauthorized_after_days: int = Field(default=UNAUTHORIZED_AFTER_DAYS, ge=0, le=30)


@dataclass(frozen=True)
class Authorization:
    authorization_id: str
    payer_ref: str
    level: str
    site_id: str
    starts_on: date
    ends_on: date
    approved_days: int | None = None
    approved_sessions: int | None = None
    next_review_on: date | None = None

    @classmethod
    def of(cls, event: AuthorizationRecorded) -> Authorization:
        return cls(authorization_id=event.authorization_id, payer_ref=event.payer_ref,
                   level=event.level.value, site_id=event.site_id, starts_on=event.starts_on,
                   ends_on=event.ends_on, approved_days=event.approved_days,
                   approved_sessions=event.approved_sessions,
                   next_review_on=event.next_review_on)


@dataclass(frozen=True)
class LevelStay:
    """A client's stretch at one level in one episode: days `since` up to, not including,
    `until` (None: still there). `site_id` is where they are (or were last)."""

    episode_id: str
    level: str
    site_id: str
    since: date
    until: date | None = None

    def holds(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)

    def last_day(self, today: date) -> date:
        return today if self.until is None else min(today, self.until - ONE_DAY)


@dataclass(frozen=True)
class Run:
    """Consecutive days of a stay no authorization covers, up to `as_of`."""

    since: date
    days: int


def used_by(authorization: Authorization, stays: Sequence[LevelStay]) -> LevelStay | None:
    """The stay an authorization is used by: the first (by start) at its level that holds one
    of its days."""
    for stay in sorted(stays, key=lambda s: s.since):
        if stay.level != authorization.level:
            continue
        first = max(stay.since, authorization.starts_on)
        last = authorization.ends_on if stay.until is None else min(
            authorization.ends_on, stay.until - ONE_DAY)
        if first <= last:
            return stay
    return None


def last_covered_day(authorization: Authorization, stay: LevelStay) -> date:
    """The last day `authorization` can cover in `stay`: its end, or its approved days used up."""
    last = authorization.ends_on
    if authorization.approved_days is not None:
        first = max(stay.since, authorization.starts_on)
        last = min(last, first + timedelta(days=authorization.approved_days - 1))
    return last


def usable(stay: LevelStay, stays: Sequence[LevelStay],
           authorizations: Iterable[Authorization]) -> list[Authorization]:
    """The authorizations used by `stay`, by start."""
    return sorted((a for a in authorizations if used_by(a, stays) == stay),
                  key=lambda a: (a.starts_on, a.authorization_id))


def covering(day: date, stay: LevelStay, in_use: Iterable[Authorization]) -> Authorization | None:
    """The authorization (of those `stay` uses) that covers `day`, the latest-ending first."""
    found = [a for a in in_use if stay.holds(day)
             and max(stay.since, a.starts_on) <= day <= last_covered_day(a, stay)]
    return max(found, key=lambda a: (last_covered_day(a, stay), a.authorization_id),
               default=None)


def uncovered_runs(stay: LevelStay, in_use: Sequence[Authorization], today: date) -> list[Run]:
    """The runs of days of `stay` up to `today` that no authorization covers."""
    runs: list[Run] = []
    day, last = stay.since, stay.last_day(today)
    while day <= last:
        if covering(day, stay, in_use) is None:
            if runs and runs[-1].since + timedelta(days=runs[-1].days) == day:
                runs[-1] = Run(runs[-1].since, runs[-1].days + 1)
            else:
                runs.append(Run(day, 1))
        day += ONE_DAY
    return runs


def coverage_ends(authorization: Authorization, stay: LevelStay,
                  in_use: Sequence[Authorization]) -> date | None:
    """The authorization's last covered day when no other authorization the stay uses takes
    over the day after (None: another one does, it is extended)."""
    last = last_covered_day(authorization, stay)
    others = [a for a in in_use if a.authorization_id != authorization.authorization_id]
    return None if covering(last + ONE_DAY, _open(stay), others) else last


def expiring(stay: LevelStay, in_use: Sequence[Authorization], today: date, *,
             within_days: int) -> list[tuple[Authorization, int]]:
    """The authorizations covering `today` whose coverage ends within `within_days` days, with
    the days left (0: today is the last covered day)."""
    found = []
    for authorization in in_use:
        if covering(today, stay, [authorization]) is None:
            continue
        end = coverage_ends(authorization, stay, in_use)
        if end is not None and (end - today).days <= within_days:
            found.append((authorization, (end - today).days))
    return found


def review_due_on(authorization: Authorization, stay: LevelStay, today: date, *,
                  every_days: int) -> date:
    """The next concurrent review: the payer's date, else the next multiple of `every_days`
    from the authorization's start (at least one period in), never after its last day."""
    last = last_covered_day(authorization, stay)
    if authorization.next_review_on is not None:
        return authorization.next_review_on
    start = max(stay.since, authorization.starts_on)
    periods = max(1, -(-(today - start).days // every_days))
    return min(start + timedelta(days=periods * every_days), last)


def _open(stay: LevelStay) -> LevelStay:
    return LevelStay(stay.episode_id, stay.level, stay.site_id, stay.since)


# -- the queue ---------------------------------------------------------------------------------


class UrFlag(str, Enum):
    expiring = "expiring"
    review_due = "review_due"
    unauthorized = "unauthorized"


class UrAuthorization(BaseModel):
    model_config = ConfigDict(frozen=True)

    authorization_id: str
    payer_ref: str
    starts_on: date
    ends_on: date
    approved_days: int | None
    approved_sessions: int | None
    next_review_on: date | None


class UrItem(BaseModel):
    """A client in the UR queue. `authorization`: the one covering today, else the last the
    stay used (None: none); `ends_in_days`: days left of its coverage (0: today is the last
    day); `unauthorized_days`: days of the current level stay no authorization covers."""

    model_config = ConfigDict(frozen=True)

    client_ref: str
    site_id: str
    level: str
    in_level_since: date
    unauthorized_days: int
    covered_today: bool
    authorization: UrAuthorization | None
    ends_in_days: int | None
    review_due_on: date | None
    flags: list[UrFlag]


def ur_item(client_ref: str, stays: Sequence[LevelStay],
            authorizations: Sequence[Authorization], today: date, *, due_within_days: int,
            windows: ReviewWindows) -> UrItem | None:
    """The queue's line for a client whose current stay is the open one in `stays` (None when
    there is none, or nothing in it is due within `due_within_days`)."""
    stay = next((s for s in stays if s.until is None), None)
    if stay is None:
        return None
    in_use = usable(stay, stays, authorizations)
    unauthorized = sum(run.days for run in uncovered_runs(stay, in_use, today))
    current = covering(today, stay, in_use) or (in_use[-1] if in_use else None)
    ends_in = review_on = None
    flags = [UrFlag.unauthorized] if unauthorized else []
    covered = current is not None and covering(today, stay, [current]) is not None
    if current is not None and covered:
        end = coverage_ends(current, stay, in_use)
        ends_in = None if end is None else (end - today).days
        review_on = review_due_on(current, stay, today, every_days=windows.review_every_days)
        if ends_in is not None and ends_in <= due_within_days:
            flags.append(UrFlag.expiring)
        if (review_on - today).days <= due_within_days:
            flags.append(UrFlag.review_due)
    if not flags:
        return None
    return UrItem(client_ref=client_ref, site_id=stay.site_id, level=stay.level,
                  in_level_since=stay.since, unauthorized_days=unauthorized,
                  covered_today=covered,
                  authorization=_public(current), ends_in_days=ends_in,
                  review_due_on=review_on, flags=flags)


def _public(authorization: Authorization | None) -> UrAuthorization | None:
    if authorization is None:
        return None
    return UrAuthorization(
        authorization_id=authorization.authorization_id, payer_ref=authorization.payer_ref,
        starts_on=authorization.starts_on, ends_on=authorization.ends_on,
        approved_days=authorization.approved_days,
        approved_sessions=authorization.approved_sessions,
        next_review_on=authorization.next_review_on)


def by_urgency(items: Iterable[UrItem], today: date) -> list[UrItem]:
    """Most urgent first: a client no authorization covers today, then the soonest end of
    coverage or review, then the most unauthorized days."""
    far = 10**6

    def urgency(item: UrItem) -> tuple[int, int, int, str]:
        review_in = far if item.review_due_on is None else (item.review_due_on - today).days
        soonest = min(far if item.ends_in_days is None else item.ends_in_days, review_in)
        return (int(item.covered_today), soonest, -item.unauthorized_days, item.client_ref)

    return sorted(items, key=urgency)
