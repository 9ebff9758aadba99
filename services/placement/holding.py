"""Carrying out bed holds through the Placer's repository and outbox: hold a bed (BedHeld),
release it (BedHoldReleased released), expire the holds nobody came for (BedHoldReleased
expired). A bed given back goes to the waitlist at once. The rules are holds.py's; the use of
a hold by the admission of the client it names is the Placer's (moves.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from carepath.errors import Conflict
from carepath.persistence.uow import UnitOfWork
from contracts.events import BedHeld
from services.placement import holds
from services.placement.holds import Hold, HoldRequest, HoldStatus
from services.placement.moves import Placer
from services.placement.policy import PlacementPolicy
from services.placement.store import SqlRepository

log = logging.getLogger(__name__)


def hold_bed(placer: Placer, request: HoldRequest, *, replaces: Hold | None = None) -> Hold:
    """Hold a free bed (BedHeld, subject the client it is for, else the site), or take over
    the bed of the hold it `replaces` (released first, in the same transaction, so the bed is
    never free in between). A client it names who is already waiting for that place takes the
    bed at once (the hold is used)."""
    repo, place = placer.repo, request.place
    if request.client_ref is not None:
        episode = repo.open_episode(request.client_ref)
        if episode is not None and episode.in_care and episode.place == place:
            raise Conflict(f"{request.client_ref} is already in {place}: nothing to hold")
    if replaces is not None:
        holds.check_replaceable(replaces, place)
        holds.check_times(request, now=placer.now, max_days=placer.policy.holds.max_days)
        placer.end_hold(replaces, HoldStatus.released, by=request.held_by,
                        cause=repo.chain(replaces.client_ref) if replaces.client_ref else None)
    hold = holds.place_hold(request, capacity=repo.capacity(place),
                            occupied=repo.occupied(place), holds=repo.active_holds(place),
                            now=placer.now, max_days=placer.policy.holds.max_days)
    repo.save_hold(hold)
    placer.outbox.emit(
        BedHeld(hold_id=hold.hold_id, site_id=hold.site_id, level=hold.level,
                expected_arrival=hold.expected_arrival, expires_at=hold.expires_at,
                for_client=hold.client_ref is not None, held_by=hold.held_by),
        subject=hold.subject, site_id=hold.site_id, episode_id=None,
        cause=repo.chain(hold.client_ref) if hold.client_ref else None, time=placer.now)
    placer.fill(place)
    return repo.hold(hold.hold_id) or hold


def release(placer: Placer, hold: Hold, *, by: str) -> Hold:
    """Staff give the bed back: the hold ends (released) and the waitlist may take the bed."""
    placer.end_hold(hold, HoldStatus.released, by=by,
                    cause=placer.repo.chain(hold.client_ref) if hold.client_ref else None)
    placer.fill(hold.place)
    return hold


def expire_due(placer: Placer) -> list[Hold]:
    """Every active hold past its expiry ends (expired), its bed offered to the waitlist.
    Idempotent: an ended hold is never expired again."""
    due = placer.repo.expired_holds(placer.now)
    for hold in due:
        placer.end_hold(hold, HoldStatus.expired,
                        cause=placer.repo.chain(hold.client_ref) if hold.client_ref else None)
        placer.fill(hold.place)
    return due


def expire_holds(uow: UnitOfWork, policy: PlacementPolicy, now: datetime) -> list[Hold]:
    """The periodic check's part (checks.py): one transaction, placement's lock held."""
    with uow.transaction() as tx:
        repo = SqlRepository(tx)
        repo.lock()
        expired = expire_due(Placer(repo=repo, outbox=tx, now=now, policy=policy))
    if expired:
        log.info("placement checks: %d bed hold(s) expired", len(expired))
    return expired
