"""Placement rules: which move an assessment, a risk flag or a request means, and when a move
is impossible. Pure: no database, no broker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from carepath.errors import Conflict, InvalidInput, InvalidTransition
from contracts import ASAM_CODES, LevelOfCare
from contracts.events import (
    Disposition,
    PriorityPopulation,
    ReassessmentReason,
    RiskSeverity,
    TransitionReason,
    TransitionTrigger,
)
from services.placement.policy import PlacementPolicy, Priority, StepUpPolicy

LEVELS_BY_INTENSITY = tuple(sorted(LevelOfCare, key=lambda level: -level.intensity))
_EPISODES = uuid.UUID("5c7f2d0e-8a53-4a57-9a8e-0c1f3b6d2e41")
_PROPOSALS = uuid.UUID("9d2b6a1e-3f4c-4e8a-b7d5-1c0e9f8a2b63")


def episode_id_for(client_ref: str, opening_event_id: uuid.UUID) -> uuid.UUID:
    """Derived from the event that opened the episode, so a replay mints the same id."""
    return uuid.uuid5(_EPISODES, f"{client_ref}/{opening_event_id}")


def proposal_id_for(client_ref: str, flag_id: str) -> str:
    """One proposal per flag, whatever redelivers it."""
    return str(uuid.uuid5(_PROPOSALS, f"{client_ref}/{flag_id}"))


class EpisodeStatus(str, Enum):
    active = "active"
    waitlisted = "waitlisted"
    discharged = "discharged"
    cancelled = "cancelled"  # admitted, never arrived: the admission is void
    withdrawn = "withdrawn"  # left the waitlist before admission

    @property
    def is_open(self) -> bool:
        return self in (EpisodeStatus.active, EpisodeStatus.waitlisted)


class MoveKind(str, Enum):
    admission = "admission"
    step_down = "step_down"
    step_up = "step_up"
    transfer = "transfer"


@dataclass(frozen=True)
class Place:
    site_id: str
    level: LevelOfCare

    def __str__(self) -> str:
        return f"{self.level.value} at {self.site_id}"


@dataclass
class Episode:
    """One admission to discharge. A waitlisted-only episode has a site but no level yet."""

    episode_id: uuid.UUID
    client_ref: str
    site_id: str
    level: LevelOfCare | None
    status: EpisodeStatus
    since: datetime
    admitted_at: datetime | None = None
    asam_edition: int = 3
    arrived_at: datetime | None = None  # the first attended session of the episode
    last_contact_at: datetime | None = None  # the latest attended session
    admission_event_id: uuid.UUID | None = None
    populations: tuple[PriorityPopulation, ...] = ()

    @property
    def in_care(self) -> bool:
        return self.status is EpisodeStatus.active and self.level is not None

    @property
    def place(self) -> Place:
        if self.level is None:
            raise InvalidTransition(f"{self.client_ref} has not been admitted yet")
        return Place(self.site_id, self.level)


@dataclass(frozen=True)
class Move:
    """Where to, why (a code; none for an admission) and who decided (a clinician's token
    `sub`; none when placement moves the client itself)."""

    kind: MoveKind
    target: Place
    trigger: TransitionTrigger | None
    reason: TransitionReason | None
    proposal_id: str | None = None
    decided_by: str | None = None


@dataclass(frozen=True)
class WaitEntry:
    """A move that waits for a slot; it keeps the causal link of the client's own chain."""

    client_ref: str
    episode_id: uuid.UUID
    move: Move
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    since: datetime
    priority: Priority = Priority(0, "standard")
    assessment_id: str | None = None
    asam_edition: int = 3


@dataclass(frozen=True)
class ReassessmentNeeded:
    reason: ReassessmentReason
    flag_id: str


@dataclass(frozen=True)
class ProposeStepUp:
    """Under the `review` policy a high flag proposes; a clinician decides."""

    flag_id: str
    severity: RiskSeverity
    target: Place


class ProposalStatus(str, Enum):
    open = "open"
    confirmed = "confirmed"
    declined = "declined"
    withdrawn = "withdrawn"  # the client moved or left before anyone decided


@dataclass
class Proposal:
    proposal_id: str
    client_ref: str
    episode_id: uuid.UUID
    site_id: str
    from_level: LevelOfCare
    to_level: LevelOfCare
    flag_id: str
    severity: RiskSeverity
    created_at: datetime
    cause_event_id: uuid.UUID  # the StepUpProposed event: what a decision is caused by
    correlation_id: uuid.UUID
    status: ProposalStatus = ProposalStatus.open
    decided_at: datetime | None = None
    decided_by: str | None = None


class Overdue(str, Enum):
    no_show = "no_show"
    dropped_out = "dropped_out"


def kind_of(origin: Place, target: Place) -> MoveKind:
    """A change of level is a step, at this site or another; the same level elsewhere is a
    transfer."""
    if origin.level == target.level:
        return MoveKind.transfer
    if target.level.is_higher_than(origin.level):
        return MoveKind.step_up
    return MoveKind.step_down


def move_for_assessment(
    episode: Episode | None, *, site_id: str, final_level: LevelOfCare
) -> Move | None:
    """Admission for someone not in care; for someone in care, a reassessment step (or none)."""
    if episode is None or not episode.in_care:
        return Move(MoveKind.admission, Place(site_id, final_level), None, None)
    origin = episode.place
    if final_level == origin.level:
        return None
    target = Place(origin.site_id, final_level)
    return Move(kind_of(origin, target), target, TransitionTrigger.reassessment,
                TransitionReason.reassessment)


def move_for_flag(
    episode: Episode | None, *, severity: RiskSeverity, flag_id: str, policy: StepUpPolicy
) -> Move | ProposeStepUp | ReassessmentNeeded | None:
    """Moderate risk asks for a reassessment, as does high risk at the top level. High risk
    elsewhere proposes one level up (`review`), or steps up at once (`automatic`)."""
    if episode is None or not episode.in_care:
        return None
    origin = episode.place
    if severity is RiskSeverity.moderate:
        return ReassessmentNeeded(ReassessmentReason.moderate_risk_flag, flag_id)
    if origin.level is LevelOfCare.residential:
        return ReassessmentNeeded(ReassessmentReason.high_risk_flag_at_top_level, flag_id)
    target = Place(origin.site_id, origin.level.one_step_up())
    if policy is StepUpPolicy.review:
        return ProposeStepUp(flag_id, severity, target)
    return Move(MoveKind.step_up, target, TransitionTrigger.risk_flag,
                TransitionReason.relapse_risk_flag)


def confirm(proposal: Proposal, episode: Episode, *, to_level: LevelOfCare,
            to_site: str | None, reason: TransitionReason, decided_by: str) -> Move:
    """The step up a clinician confirms; raises Conflict when the proposal no longer fits."""
    if proposal.client_ref != episode.client_ref:
        raise Conflict(f"proposal {proposal.proposal_id} is not about {episode.client_ref}")
    if proposal.status is not ProposalStatus.open:
        raise Conflict(f"proposal {proposal.proposal_id} is {proposal.status.value}, not open")
    origin = episode.place
    if origin.level is not proposal.from_level:
        raise Conflict(f"proposal {proposal.proposal_id} was made at {proposal.from_level.value}"
                       f"; {episode.client_ref} is now in {origin.level.value}")
    target = Place(to_site or origin.site_id, to_level)
    if not to_level.is_higher_than(origin.level):
        raise InvalidTransition(f"a step-up proposal is confirmed by a step up: {to_level.value}"
                                f" is not more intensive than {origin.level.value}")
    return Move(kind_of(origin, target), target, TransitionTrigger.risk_flag,
                reason, proposal_id=proposal.proposal_id, decided_by=decided_by)


def overdue(episode: Episode, policy: PlacementPolicy, now: datetime) -> Overdue | None:
    """An admitted client who never arrived is a no-show; one who stopped coming has dropped
    out. Both are judged from the attendance events placement has seen."""
    if not episode.in_care or episode.admitted_at is None:
        return None
    if episode.arrived_at is None:
        return Overdue.no_show if now >= episode.admitted_at + policy.no_show_after else None
    last = max(episode.last_contact_at or episode.arrived_at, episode.since)
    return Overdue.dropped_out if now >= last + policy.dropped_out_after else None


def move_for_request(
    episode: Episode, *, to_level: LevelOfCare, to_site: str | None, kind: MoveKind | None,
    reason: TransitionReason, decided_by: str | None = None,
) -> Move:
    """A manual transition; raises InvalidTransition when it is impossible or mislabelled."""
    origin = episode.place
    target = Place(to_site or origin.site_id, to_level)
    if target == origin:
        raise InvalidTransition(f"{episode.client_ref} is already in {origin}")
    if kind is not None:
        check_kind(kind, origin, target)
    return Move(kind_of(origin, target), target, TransitionTrigger.manual, reason,
                decided_by=decided_by)


def check_kind(kind: MoveKind, origin: Place, target: Place) -> None:
    here, there = origin.level.value, target.level.value
    if kind is MoveKind.step_down and not origin.level.is_higher_than(target.level):
        raise InvalidTransition(f"cannot step down from {here} to {there}: "
                                f"{there} is {_not_lower(origin.level, target.level)}")
    if kind is MoveKind.step_up and not target.level.is_higher_than(origin.level):
        raise InvalidTransition(f"cannot step up from {here} to {there}: "
                                f"{there} is {_not_higher(origin.level, target.level)}")
    if kind is MoveKind.transfer and target.site_id == origin.site_id:
        raise InvalidTransition(f"cannot transfer to {target.site_id}: "
                                f"the client is already at {origin.site_id}")
    if kind is MoveKind.admission:
        raise InvalidTransition("admission is not a transition of a client in care")


def _not_lower(origin: LevelOfCare, target: LevelOfCare) -> str:
    return "the current level" if origin == target else "a more intensive level"


def _not_higher(origin: LevelOfCare, target: LevelOfCare) -> str:
    return "the current level" if origin == target else "a less intensive level"


def move_for_discharge(episode: Episode, disposition: Disposition,
                       decided_by: str | None = None) -> Move | None:
    """Completing IOP continues to aftercare at the same site; anything else ends the episode."""
    if disposition is Disposition.completed and episode.level is LevelOfCare.iop:
        return Move(MoveKind.step_down, Place(episode.site_id, LevelOfCare.aftercare),
                    TransitionTrigger.completion, TransitionReason.completion,
                    decided_by=decided_by)
    return None


def los_days(started_at: datetime | None, now: datetime) -> float:
    if started_at is None:
        return 0.0
    return round(max((now - started_at).total_seconds() / 86400, 0.0), 4)


def asam_codes(level: LevelOfCare, edition: int) -> tuple[str, ...]:
    if edition not in ASAM_CODES:
        raise InvalidInput(f"unknown ASAM edition {edition}; known: {sorted(ASAM_CODES)}")
    return level.asam_codes(edition)
