"""Placement's HTTP API: census, capacity, manual transitions (and confirming a step-up
proposal), step-up proposals, discharge, leaving a waitlist, a client's placement, and the
clinicians' notes on transitions and discharges (every read audited).

Reasons arrive as codes from closed lists; free text only as a `note`, which placement keeps
to itself: never in an event or a log (and error bodies never repeat a value:
carepath.http.common)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, NoReturn

from fastapi import APIRouter, Path, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from carepath.app.spec import RuntimeDep
from carepath.errors import Conflict, NotFound
from carepath.http.access import PrincipalDep
from carepath.http.auth import Principal
from carepath.persistence.uow import Transaction
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import (
    TEDS_DISPOSITIONS,
    CapacityChanged,
    DeclineReason,
    DischargeReason,
    Disposition,
    RiskSeverity,
    TransitionReason,
    WaitlistExitReason,
)
from services.placement import domain
from services.placement.deps import DepsDep, PlacementDeps
from services.placement.domain import (
    LEVELS_BY_INTENSITY,
    Episode,
    EpisodeStatus,
    MoveKind,
    Place,
    Proposal,
    ProposalStatus,
    move_for_request,
)
from services.placement.moves import Outcome, Placer
from services.placement.store import CensusLine, NoteRow, SqlRepository

router = APIRouter(tags=["placement"])


def _refused(instead: str) -> Callable[[object], None]:
    def refuse(_value: object) -> None:
        raise PydanticCustomError("retired_field", instead)

    return refuse


# A field of the first release, refused (422) saying what to send instead; not in the schema.
RetiredReason = SkipJsonSchema[Annotated[None, BeforeValidator(_refused(
    "'reason' is no longer accepted: send 'reason_code' (a code from the list in the API "
    "schema) and any free text as 'note'"))]]

SiteId = Annotated[str, Path(max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Purpose = Annotated[str, Query(pattern=r"^[a-z_]{3,60}$",
                               description="why the notes are read; recorded in the audit")]
Slots = Annotated[int, Field(ge=0, le=100_000)]
NEVER_PLACED = "{} was never admitted or waitlisted"
NOTE_FIELD = Field(default=None, description="free text for the care team: kept in placement, "
                   "readable by clinicians through GET /clients/{client_ref}/notes (audited), "
                   "never in an event or a log")


class CensusOut(BaseModel):
    site_id: str
    level: LevelOfCare
    occupied: int
    capacity: int
    waitlist: int
    over_capacity: bool
    held: int = Field(description="beds held for someone arriving (active bed holds)")
    free: int = Field(description="capacity - occupied - held, never below 0")

    @classmethod
    def of(cls, line: CensusLine) -> CensusOut:
        return cls(site_id=line.site_id, level=line.level, occupied=line.occupied,
                   capacity=line.capacity, waitlist=line.waitlist,
                   over_capacity=line.over_capacity, held=line.held, free=line.free)


@router.get("/census", response_model=list[CensusOut])
def census(runtime: RuntimeDep, principal: PrincipalDep,
           site_id: Annotated[str | None, Query(max_length=64)] = None) -> list[CensusOut]:
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        if site_id is not None:
            require_site(repo, site_id, principal)
        return [CensusOut.of(line) for line in repo.census(site_id)
                if principal.sees(line.site_id)]


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    residential: Slots
    php: Slots
    iop: Slots
    aftercare: Slots


@router.put("/sites/{site_id}/capacity", response_model=list[CensusOut])
def set_capacity(site_id: SiteId, body: CapacityIn, runtime: RuntimeDep, deps: DepsDep,
                 principal: PrincipalDep) -> list[CensusOut]:
    """Lowering below occupancy evicts nobody: the level is over capacity until people leave."""
    now = datetime.now(UTC)
    capacity = {level: getattr(body, level.value) for level in LEVELS_BY_INTENSITY}
    with runtime.uow.transaction() as tx:
        repo = _locked(tx)
        require_site(repo, site_id, principal)
        repo.set_capacity(site_id, capacity)
        tx.emit(CapacityChanged(site_id=site_id, capacity=capacity), subject=f"site-{site_id}",
                site_id=site_id, episode_id=None, cause=None, time=now)
        placer = _placer(deps, repo, tx, now)
        for level in LEVELS_BY_INTENSITY:
            placer.fill(Place(site_id, level))
        return [CensusOut.of(line) for line in repo.census(site_id)]


class WaitlistedFor(BaseModel):
    level: LevelOfCare
    site_id: str
    position: int


class PlacementOut(BaseModel):
    client_ref: str
    episode_id: uuid.UUID
    site_id: str
    level: LevelOfCare | None
    status: EpisodeStatus
    since: datetime
    waitlisted_for: WaitlistedFor | None = None


class MoveOut(BaseModel):
    status: Outcome
    placement: PlacementOut


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_level: LevelOfCare
    to_site: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    reason_code: TransitionReason
    note: Note | None = NOTE_FIELD
    reason: RetiredReason = None
    kind: Literal["step_down", "step_up", "transfer"] | None = None
    proposal_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="confirms this open step-up proposal")


@router.post("/clients/{client_ref}/transitions", response_model=MoveOut)
def transition(client_ref: ClientRef, body: TransitionIn, runtime: RuntimeDep, deps: DepsDep,
               principal: PrincipalDep) -> MoveOut:
    """A clinician's move. With `proposal_id`, the confirmation of that step-up proposal (the
    step up is caused by the proposal, hence by the flag). A step down is refused while a
    step-up proposal is open: decide it first."""
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        repo = _locked(tx)
        episode = _in_care(repo, client_ref, principal)
        if body.to_site is not None:
            require_site(repo, body.to_site, principal)
        placer = _placer(deps, repo, tx, now)
        if body.proposal_id is not None:
            proposal = _proposal(repo, body.proposal_id, principal)
            move = domain.confirm(proposal, episode, to_level=body.to_level,
                                  to_site=body.to_site, reason=body.reason_code,
                                  decided_by=principal.sub)
            outcome = placer.confirm(episode, proposal, move, by=principal.sub)
        else:
            move = move_for_request(episode, to_level=body.to_level, to_site=body.to_site,
                                    kind=MoveKind(body.kind) if body.kind else None,
                                    reason=body.reason_code, decided_by=principal.sub)
            if move.kind is MoveKind.step_down:
                _no_open_proposal(repo, client_ref)
            outcome = placer.move(episode, move, repo.chain(client_ref))
        _keep_note(repo, body.note, episode, about="transition", code=body.reason_code.value,
                   by=principal, at=now)
        return MoveOut(status=outcome, placement=_placement(repo, client_ref, principal))


class DischargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: Disposition = Field(description="a TEDS-D discharge reason: "
                                     + ", ".join(d.value for d in TEDS_DISPOSITIONS))
    reason_code: DischargeReason | None = Field(
        default=None, description="the detail beside the disposition")
    note: Note | None = NOTE_FIELD
    reason: RetiredReason = None

    @field_validator("disposition")
    @classmethod
    def _teds(cls, value: Disposition) -> Disposition:
        if value not in TEDS_DISPOSITIONS:
            raise ValueError(f"{value.value!r} is no longer recorded; use "
                             f"{value.canonical.value!r} (TEDS dispositions: "
                             f"{', '.join(d.value for d in TEDS_DISPOSITIONS)})")
        return value


@router.post("/clients/{client_ref}/discharge", response_model=MoveOut)
def discharge(client_ref: ClientRef, body: DischargeIn, runtime: RuntimeDep, deps: DepsDep,
              principal: PrincipalDep) -> MoveOut:
    """Completing IOP continues to aftercare (the episode stays open); any other discharge,
    including one from aftercare, ends the episode. Someone only waiting for admission is not
    discharged: they exit the waitlist."""
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        repo = _locked(tx)
        episode = _open_episode(repo, client_ref, principal)
        if body.disposition is Disposition.completed:
            _no_open_proposal(repo, client_ref)
        placer = _placer(deps, repo, tx, now)
        outcome = placer.discharge(episode, body.disposition, body.reason_code,
                                   repo.chain(client_ref), by=principal.sub)
        _keep_note(repo, body.note, episode, about="discharge",
                   code=body.reason_code.value if body.reason_code else None,
                   by=principal, at=now)
        return MoveOut(status=outcome, placement=_placement(repo, client_ref, principal))


def _keep_note(repo: SqlRepository, note: str | None, episode: Episode, *, about: str,
               code: str | None, by: Principal, at: datetime) -> None:
    if note is not None:
        repo.add_note(client_ref=episode.client_ref, site_id=episode.site_id, about=about,
                      reason_code=code, written_by=by.sub, text=note, at=at)


class NoteOut(BaseModel):
    event_id: str = Field(description="the event the noted request caused (the client's "
                          "latest event when it caused none)")
    about: str = Field(description="transition or discharge")
    reason_code: str | None
    written_by: str
    written_at: datetime
    note: str

    @classmethod
    def of(cls, row: NoteRow) -> NoteOut:
        return cls(event_id=str(row.event_id or ""), about=row.about,
                   reason_code=row.reason_code, written_by=row.written_by,
                   written_at=row.written_at, note=row.text)


@router.get("/clients/{client_ref}/notes", response_model=list[NoteOut])
def notes(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep,
          purpose: Purpose = "treatment") -> list[NoteOut]:
    """Clinicians' notes on a client's transitions and discharges, oldest first. Every read
    is audited (who, when, which client, why)."""
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        _placement(repo, client_ref, principal)  # unknown, or at another site: 404
        rows = repo.read_notes(client_ref, sites=principal.site_filter, actor=principal.sub,
                               purpose=purpose, at=datetime.now(UTC))
        return [NoteOut.of(row) for row in rows]


class WaitlistExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: WaitlistExitReason


@router.post("/clients/{client_ref}/waitlist/exit", response_model=MoveOut)
def exit_waitlist(client_ref: ClientRef, body: WaitlistExitIn, runtime: RuntimeDep, deps: DepsDep,
                  principal: PrincipalDep) -> MoveOut:
    """Someone leaves a waitlist unplaced (withdrew, unreachable, referred elsewhere…). A
    person waiting for admission was never in care: their record closes as withdrawn."""
    with runtime.uow.transaction() as tx:
        repo = _locked(tx)
        episode = _open_episode(repo, client_ref, principal)
        placer = _placer(deps, repo, tx, datetime.now(UTC))
        outcome = placer.exit_waitlist(episode, body.reason_code, repo.chain(client_ref))
        return MoveOut(status=outcome, placement=_placement(repo, client_ref, principal))


class ProposalOut(BaseModel):
    proposal_id: str
    client_ref: str
    site_id: str
    from_level: LevelOfCare
    to_level: LevelOfCare
    flag_id: str
    severity: RiskSeverity
    created_at: datetime
    status: ProposalStatus
    decided_at: datetime | None = None

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalOut:
        return cls(proposal_id=proposal.proposal_id, client_ref=proposal.client_ref,
                   site_id=proposal.site_id, from_level=proposal.from_level,
                   to_level=proposal.to_level, flag_id=proposal.flag_id,
                   severity=proposal.severity, created_at=proposal.created_at,
                   status=proposal.status, decided_at=proposal.decided_at)


@router.get("/proposals", response_model=list[ProposalOut])
def proposals(runtime: RuntimeDep, principal: PrincipalDep,
              site_id: Annotated[str | None, Query(max_length=64)] = None,
              status: ProposalStatus | None = None) -> list[ProposalOut]:
    """Step-up proposals, oldest first: `status=open` is the clinicians' work queue."""
    with runtime.uow.transaction() as tx:
        repo = SqlRepository(tx)
        sites = principal.visible(repo.sites())
        if site_id is not None:
            require_site(repo, site_id, principal)
            sites = {site_id}
        return [ProposalOut.of(p) for p in repo.proposals(sites=sites, status=status)]


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: DeclineReason


@router.post("/proposals/{proposal_id}/decline", response_model=ProposalOut)
def decline(proposal_id: Annotated[str, Path(max_length=64)], body: DeclineIn,
            runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep) -> ProposalOut:
    """A clinician declines the step up: the client stays (StepUpDeclined)."""
    with runtime.uow.transaction() as tx:
        repo = _locked(tx)
        proposal = _proposal(repo, proposal_id, principal)
        episode = repo.open_episode(proposal.client_ref)
        if episode is None or not episode.in_care:
            raise Conflict(f"{proposal.client_ref} is no longer in care")
        _placer(deps, repo, tx, datetime.now(UTC)).decline(
            episode, proposal, body.reason_code, by=principal.sub)
        return ProposalOut.of(proposal)


@router.get("/clients/{client_ref}/placement", response_model=PlacementOut)
def placement(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep
              ) -> PlacementOut:
    with runtime.uow.transaction() as tx:
        return _placement(SqlRepository(tx), client_ref, principal)


def _placement(repo: SqlRepository, client_ref: str, principal: Principal) -> PlacementOut:
    episode = repo.latest_episode(client_ref)
    missing = f"placement knows no client {client_ref!r}"
    if episode is None:
        raise NotFound(missing)
    principal.require_site(episode.site_id, missing=missing)
    entry = repo.entry_of(client_ref) if episode.status.is_open else None
    waiting = None
    if entry is not None:
        target = entry.move.target
        queue = [e.client_ref for e in repo.waiting(target)]
        waiting = WaitlistedFor(level=target.level, site_id=target.site_id,
                                position=queue.index(client_ref) + 1)
    return PlacementOut(client_ref=client_ref, episode_id=episode.episode_id,
                        site_id=episode.site_id, level=episode.level, status=episode.status,
                        since=episode.since, waitlisted_for=waiting)


def _placer(deps: PlacementDeps, repo: SqlRepository, tx: Transaction, now: datetime
            ) -> Placer:
    return Placer(repo=repo, outbox=tx, now=now, policy=deps.policy)


def _proposal(repo: SqlRepository, proposal_id: str, principal: Principal) -> Proposal:
    proposal = repo.proposal(proposal_id)
    missing = f"no step-up proposal {proposal_id!r}"
    if proposal is None:
        raise NotFound(missing)
    principal.require_site(proposal.site_id, missing=missing)
    return proposal


def _no_open_proposal(repo: SqlRepository, client_ref: str) -> None:
    """Step-downs are held while a step up is proposed."""
    proposal = repo.open_proposal(client_ref)
    if proposal is not None:
        raise Conflict(f"a step up to {proposal.to_level.value} is proposed for {client_ref} "
                       f"(proposal {proposal.proposal_id}): confirm or decline it first")


def _locked(tx: Transaction) -> SqlRepository:
    repo = SqlRepository(tx)
    repo.lock()
    return repo


def require_site(repo: SqlRepository, site_id: str, principal: Principal) -> None:
    known = principal.visible(repo.sites())
    if site_id not in known:
        raise NotFound(f"unknown site {site_id!r}; known sites: {sorted(known)}")


def _open_episode(repo: SqlRepository, client_ref: str, principal: Principal) -> Episode:
    """The client's open episode; at a site outside the caller's, as unknown as no episode."""
    latest = repo.latest_episode(client_ref)
    if latest is not None:
        principal.require_site(latest.site_id, missing=NEVER_PLACED.format(client_ref))
    return repo.open_episode(client_ref) or _not_open(repo, client_ref)


def _in_care(repo: SqlRepository, client_ref: str, principal: Principal) -> Episode:
    episode = _open_episode(repo, client_ref, principal)
    if not episode.in_care:
        raise Conflict(f"{client_ref} is waiting for admission at {episode.site_id}, not in "
                       "care; only a client in care can transition")
    return episode


def _not_open(repo: SqlRepository, client_ref: str) -> NoReturn:
    last = repo.latest_episode(client_ref)
    if last is None:
        raise NotFound(NEVER_PLACED.format(client_ref))
    raise Conflict(f"{client_ref} is not in care: {last.status.value} at "
                   f"{last.since.isoformat()}")
