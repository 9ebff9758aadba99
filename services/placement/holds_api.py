"""Placement's HTTP API for bed holds: hold a bed at a site × level for someone arriving
(BedHeld), give it back (BedHoldReleased), list a site's holds. Site scope as everywhere in
placement: a site outside the caller's is unknown (404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from carepath.app.spec import RuntimeDep
from carepath.errors import NotFound
from carepath.http.access import PrincipalDep
from carepath.http.validation import UtcDateTime
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from services.placement import holding
from services.placement.api import require_site
from services.placement.deps import DepsDep
from services.placement.domain import Place
from services.placement.holds import Hold, HoldRequest, HoldStatus
from services.placement.moves import Placer
from services.placement.store import SqlRepository

router = APIRouter(tags=["bed holds"])

SiteId = Annotated[str, Path(max_length=64)]
HoldId = Annotated[str, Path(max_length=64)]


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: LevelOfCare
    expected_arrival: UtcDateTime
    expires_at: UtcDateTime = Field(description="after now, not before expected_arrival, "
                                    "within holds.max_days (config/placement.yaml)")
    client_ref: ClientRef | None = Field(default=None, description=(
        "the client the bed is for: their admission to this site and level uses the hold. "
        "A hold for nobody in particular is never used by an admission; it ends when "
        "released or at its expiry"))
    replaces: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description=(
            "an active hold at this site and level whose bed this one takes over (e.g. to name "
            "the client a bed was held for anonymously); it ends as released"))


class HoldOut(BaseModel):
    hold_id: str
    site_id: str
    level: LevelOfCare
    client_ref: str | None
    expected_arrival: datetime
    expires_at: datetime
    status: HoldStatus
    created_at: datetime
    ended_at: datetime | None = None

    @classmethod
    def of(cls, hold: Hold) -> HoldOut:
        return cls(hold_id=hold.hold_id, site_id=hold.site_id, level=hold.level,
                   client_ref=hold.client_ref, expected_arrival=hold.expected_arrival,
                   expires_at=hold.expires_at, status=hold.status, created_at=hold.created_at,
                   ended_at=hold.ended_at)


@router.post("/sites/{site_id}/holds", response_model=HoldOut, status_code=201)
def hold_bed(site_id: SiteId, body: HoldIn, runtime: RuntimeDep, deps: DepsDep,
             principal: PrincipalDep) -> HoldOut:
    """A free bed (capacity − occupied − held > 0) held until it is used, released or
    expires; 409 when none is free. With `replaces`, the bed of that hold, which ends."""
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        repo.lock()
        require_site(repo, site_id, principal)
        replaces = _hold(repo, site_id, body.replaces) if body.replaces else None
        placer = Placer(repo=repo, outbox=tx, now=datetime.now(UTC), policy=deps.policy)
        hold = holding.hold_bed(placer, HoldRequest(
            place=Place(site_id, body.level), expected_arrival=body.expected_arrival,
            expires_at=body.expires_at, client_ref=body.client_ref, held_by=principal.sub),
            replaces=replaces)
        return HoldOut.of(hold)


@router.delete("/sites/{site_id}/holds/{hold_id}", response_model=HoldOut)
def release_hold(site_id: SiteId, hold_id: HoldId, runtime: RuntimeDep, deps: DepsDep,
                 principal: PrincipalDep) -> HoldOut:
    """The bed is given back (released, by the caller); the waitlist may take it at once.
    409 when the hold already ended."""
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        repo.lock()
        require_site(repo, site_id, principal)
        hold = _hold(repo, site_id, hold_id)
        placer = Placer(repo=repo, outbox=tx, now=datetime.now(UTC), policy=deps.policy)
        return HoldOut.of(holding.release(placer, hold, by=principal.sub))


@router.get("/sites/{site_id}/holds", response_model=list[HoldOut])
def holds(site_id: SiteId, runtime: RuntimeDep, principal: PrincipalDep,
          status: HoldStatus | None = None) -> list[HoldOut]:
    """A site's bed holds, oldest first; `status=active` is the beds promised now."""
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        require_site(repo, site_id, principal)
        return [HoldOut.of(hold) for hold in repo.holds(site_id, status)]


def _hold(repo: SqlRepository, site_id: str, hold_id: str) -> Hold:
    hold = repo.hold(hold_id)
    if hold is None or hold.site_id != site_id:
        raise NotFound(f"no bed hold {hold_id!r} at {site_id}")
    return hold
