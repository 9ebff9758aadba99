"""Bed holds: a bed at a site × level promised to someone arriving. Pure rules: when a hold may
be placed, how it counts against capacity, when it ends. No database, no broker.

A hold counts against its place's capacity while it is active, so the waitlist cannot take the
bed. It ends exactly once: `used` when the client it was held for is admitted (or moves) to that
place, `released` when staff give the bed back, `expired` when nobody came by `expires_at`
(contracts.reasons.HoldReleaseReason).

A hold without a client is never used by an admission: placement cannot tell whether whoever
is admitted next is the person the bed was promised to, and handing it to the next admission
would let a walk-in pass the waitlist (and its 45 CFR 96.131 priority order) while the promise
silently lapses. Such a hold ends when staff release it or it expires, or when a new hold
`replaces` it: once the person has a client_ref, a hold in their name takes over the same bed
(the old hold is released) without the bed ever being free for the waitlist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from carepath.errors import CapacityExhausted, Conflict, InvalidInput
from contracts import LevelOfCare
from contracts.events import HoldReleaseReason
from services.placement.domain import Place


class HoldStatus(str, Enum):
    active = "active"
    used = "used"
    released = "released"
    expired = "expired"

    @property
    def reason(self) -> HoldReleaseReason:
        """The release reason a hold that ended this way is reported with."""
        return HoldReleaseReason(self.value)


@dataclass
class Hold:
    hold_id: str
    site_id: str
    level: LevelOfCare
    client_ref: str | None
    expected_arrival: datetime
    expires_at: datetime
    created_at: datetime
    held_by: str | None = None
    status: HoldStatus = HoldStatus.active
    ended_at: datetime | None = None
    ended_by: str | None = None

    @property
    def place(self) -> Place:
        return Place(self.site_id, self.level)

    @property
    def active(self) -> bool:
        return self.status is HoldStatus.active

    @property
    def subject(self) -> str:
        """The events' subject: the client it is held for, else the site (as CapacityChanged)."""
        return self.client_ref or f"site-{self.site_id}"

    def is_for(self, client_ref: str) -> bool:
        return self.client_ref is not None and self.client_ref == client_ref


@dataclass(frozen=True)
class HoldRequest:
    place: Place
    expected_arrival: datetime
    expires_at: datetime
    client_ref: str | None = None
    held_by: str | None = None


def free_beds(*, capacity: int, occupied: int, held: int) -> int:
    """Beds nobody is in and nobody is promised: capacity - occupied - active holds, >= 0."""
    return max(capacity - occupied - held, 0)


def check_times(request: HoldRequest, *, now: datetime, max_days: float) -> None:
    """A hold ends in the future, not before the expected arrival, within the configured
    maximum (holds.max_days in config/placement.yaml)."""
    arrival, expiry = request.expected_arrival, request.expires_at
    if arrival < now:
        raise InvalidInput(f"expected_arrival {arrival.isoformat()} is in the past "
                           f"(now {now.isoformat()})")
    if expiry <= now:
        raise InvalidInput(f"expires_at {expiry.isoformat()} is not in the future "
                           f"(now {now.isoformat()})")
    if expiry < arrival:
        raise InvalidInput(f"expires_at {expiry.isoformat()} is before expected_arrival "
                           f"{arrival.isoformat()}: a hold lasts at least until the arrival")
    if expiry - now > timedelta(days=max_days):
        raise InvalidInput(f"expires_at is more than {max_days:g} days away; holds last at "
                           "most holds.max_days (config/placement.yaml)")


def place_hold(request: HoldRequest, *, capacity: int | None, occupied: int,
               holds: list[Hold], now: datetime, max_days: float) -> Hold:
    """A new active hold; raises when the times are wrong or no bed is free."""
    place = request.place
    if capacity is None:
        raise InvalidInput(f"{place.site_id} has no {place.level.value} capacity")
    check_times(request, now=now, max_days=max_days)
    mine = [h for h in holds if request.client_ref and h.is_for(request.client_ref)]
    if mine:
        raise Conflict(f"a bed is already held for {request.client_ref} at {place} "
                       f"(hold {mine[0].hold_id})")
    if free_beds(capacity=capacity, occupied=occupied, held=len(holds)) <= 0:
        raise CapacityExhausted(
            f"no free bed to hold in {place}: capacity {capacity}, occupied {occupied}, "
            f"held {len(holds)}")
    return Hold(hold_id=str(uuid.uuid4()), site_id=place.site_id, level=place.level,
                client_ref=request.client_ref, expected_arrival=request.expected_arrival,
                expires_at=request.expires_at, created_at=now, held_by=request.held_by)


def check_replaceable(hold: Hold, place: Place) -> None:
    """A hold is replaced by one for the same bed: same site and level, still active."""
    if hold.place != place:
        raise Conflict(f"hold {hold.hold_id} is for {hold.place}, not {place}: a hold "
                       "replaces one at the same site and level")
    if not hold.active:
        raise Conflict(f"hold {hold.hold_id} already ended ({hold.status.value}): there is "
                       "no held bed to take over")


def end(hold: Hold, status: HoldStatus, *, at: datetime, by: str | None = None) -> None:
    """End an active hold (once): used, released or expired."""
    if status is HoldStatus.active:
        raise ValueError("a hold ends as used, released or expired")
    if not hold.active:
        raise Conflict(f"hold {hold.hold_id} already ended: {hold.status.value} at "
                       f"{hold.ended_at.isoformat() if hold.ended_at else 'an unknown time'}")
    hold.status, hold.ended_at, hold.ended_by = status, at, by


def expired(hold: Hold, now: datetime) -> bool:
    return hold.active and now >= hold.expires_at
