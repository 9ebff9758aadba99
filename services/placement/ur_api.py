"""Utilization review over HTTP: the care team records a payer's authorization of a level
(AuthorizationRecorded; its number stays in placement), and the UR queue lists who needs a
review, an extension or an authorization. Site scope as placement's other endpoints: what lies
at a site outside the caller's does not exist for them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from carepath.app.spec import RuntimeDep
from carepath.errors import Conflict, InvalidInput, NotFound
from carepath.http.access import PrincipalDep
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import AuthorizationRecorded
from contracts.utilization import DUE_WITHIN_DAYS, UrItem, by_urgency, ur_item
from services.placement.api import require_site
from services.placement.deps import DepsDep
from services.placement.policy import PlacementPolicy
from services.placement.ur import observe
from services.placement.ur_store import AuthorizationRow, SqlUrRepository

router = APIRouter(tags=["utilization review"])

Count = Annotated[int, Field(ge=1, le=3660)]
PayerCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AuthorizationNumber = Annotated[str, StringConstraints(
    strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]


class AuthorizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer_ref: PayerCode = Field(description="the payer's code from config/placement.yaml "
                                 "(`payers`); never a member id")
    level: LevelOfCare
    site_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="default: the client's current site")
    starts_on: date
    ends_on: date
    approved_days: Count | None = Field(default=None, description="residential, PHP")
    approved_sessions: Count | None = Field(default=None, description="IOP, aftercare")
    next_review_on: date | None = Field(default=None, description="the payer's next "
                                        "concurrent review; default: every review_every_days")
    authorization_number: AuthorizationNumber = Field(description="the payer's number: kept "
                                                      "in placement, never in an event or log")

    @model_validator(mode="after")
    def _a_period_and_an_amount(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.approved_days is None) == (self.approved_sessions is None):
            raise ValueError("send either approved_days or approved_sessions (not both)")
        if self.next_review_on is not None and not (
                self.starts_on <= self.next_review_on <= self.ends_on):
            raise ValueError("next_review_on is outside starts_on..ends_on")
        return self


class AuthorizationOut(BaseModel):
    authorization_id: str
    client_ref: str
    payer_ref: str
    level: LevelOfCare
    site_id: str
    starts_on: date
    ends_on: date
    approved_days: int | None
    approved_sessions: int | None
    next_review_on: date | None
    authorization_number: str
    recorded_by: str
    recorded_at: datetime


@router.post("/clients/{client_ref}/authorizations", status_code=201,
             response_model=AuthorizationOut)
def record_authorization(client_ref: ClientRef, body: AuthorizationIn, runtime: RuntimeDep,
                         deps: DepsDep, principal: PrincipalDep) -> AuthorizationOut:
    """The recorder is the token's `sub`. A client placement never saw, or one at a site
    outside the caller's, is unknown (404)."""
    _known_payer(deps.policy, body.payer_ref)
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        repo = SqlUrRepository(tx)
        episode = repo.latest_episode(client_ref)
        missing = f"placement knows no client {client_ref!r}"
        if episode is None:
            raise NotFound(missing)
        principal.require_site(episode.site_id, missing=missing)
        site_id = body.site_id or episode.site_id
        require_site(repo.placement, site_id, principal)
        if repo.authorization_numbered(client_ref, body.payer_ref, body.authorization_number):
            raise Conflict("this payer's authorization number is already recorded for "
                           f"{client_ref}")
        row = AuthorizationRow(
            authorization_id=str(uuid.uuid4()), client_ref=client_ref, site_id=site_id,
            **body.model_dump(exclude={"site_id", "level"}), level=body.level.value,
            recorded_by=principal.sub, recorded_at=now)
        repo.add_authorization(row)
        tx.emit(AuthorizationRecorded(
            authorization_id=row.authorization_id, payer_ref=row.payer_ref, level=body.level,
            site_id=site_id, starts_on=row.starts_on, ends_on=row.ends_on,
            approved_days=row.approved_days, approved_sessions=row.approved_sessions,
            next_review_on=row.next_review_on, recorded_by=principal.sub),
            subject=client_ref, site_id=site_id, episode_id=episode.episode_id,
            cause=repo.chain(client_ref), time=now)
        return AuthorizationOut.model_validate(row, from_attributes=True)


def _known_payer(policy: PlacementPolicy, code: str) -> None:
    """Refused without repeating the value: a member id sent by mistake is PHI."""
    if policy.payer(code) is None:
        known = ", ".join(p.code for p in policy.payers) or "none configured"
        raise InvalidInput("payer_ref is not a payer code of this organization (config "
                           f"placement.yaml `payers`: {known}); send the payer's code, never "
                           "a member id")


@router.get("/ur/queue", response_model=list[UrItem])
def ur_queue(runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep,
             site_id: Annotated[str | None, Query(max_length=64)] = None,
             due_within_days: Annotated[int, Query(ge=0, le=60)] = DUE_WITHIN_DAYS
             ) -> list[UrItem]:
    """Clients in care whose authorization ends or whose concurrent review is due within
    `due_within_days`, or with days no authorization covers; most urgent first."""
    today = datetime.now(UTC).date()
    with runtime.uow.transaction() as tx:
        repo = SqlUrRepository(tx)
        if site_id is not None:
            require_site(repo.placement, site_id, principal)
        sites = {site_id} if site_id else principal.visible(repo.placement.sites())
        items = []
        for client_ref in repo.in_care():
            stays = observe(repo.stays_of(client_ref), repo.latest_episode(client_ref))
            item = ur_item(client_ref, stays, repo.authorizations_of(client_ref), today,
                           due_within_days=due_within_days,
                           windows=deps.policy.utilization_review)
            if item is not None and item.site_id in sites:
                items.append(item)
    return by_urgency(items, today)
