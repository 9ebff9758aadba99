"""Placement's event handlers: assessments admit, waitlist or step; risk flags propose a step up
(or, under the `automatic` policy, make it) or ask for a reassessment; attendance tells placement
that a client arrived and is still in contact. Event time is "now", so redelivery and replay give
the same effects."""

from __future__ import annotations

from carepath.errors import InvalidTransition
from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.uow import Transaction
from contracts import CausalLink
from contracts.events import (
    AttendanceRecorded,
    AttendanceStatus,
    ClientAssessed,
    RelapseRiskFlagged,
    RiskSeverity,
)
from services.placement.deps import PlacementDeps
from services.placement.domain import (
    MoveKind,
    ProposeStepUp,
    ReassessmentNeeded,
    move_for_assessment,
    move_for_flag,
)
from services.placement.moves import Admission, Placer
from services.placement.store import SqlRepository

handlers = EventHandlers()
CONTACT = (AttendanceStatus.attended, AttendanceStatus.late)


@handlers.on(ClientAssessed)
def on_client_assessed(event: Incoming, tx: Transaction, deps: PlacementDeps) -> None:
    placer, cause = _placer(event, tx, deps)
    place_assessed(placer, event.data, client_ref=event.envelope.subject,
                   site_id=event.envelope.siteid, cause=cause)


@handlers.on(RelapseRiskFlagged)
def on_relapse_risk_flagged(event: Incoming, tx: Transaction, deps: PlacementDeps) -> None:
    placer, cause = _placer(event, tx, deps)
    place_flagged(placer, event.data, client_ref=event.envelope.subject, cause=cause)


@handlers.on(AttendanceRecorded)
def on_attendance_recorded(event: Incoming, tx: Transaction, deps: PlacementDeps) -> None:
    attendance: AttendanceRecorded = event.data
    if attendance.status not in CONTACT:
        return
    repo = SqlRepository(tx)
    episode = repo.open_episode(event.envelope.subject)
    if episode is None or not episode.in_care:
        return
    if event.envelope.episodeid not in (None, episode.episode_id):
        return  # a session of an earlier episode
    Placer(repo=repo, outbox=tx, now=event.envelope.time, policy=deps.policy).attended(
        episode, event.envelope.time)


def place_assessed(placer: Placer, assessed: ClientAssessed, *, client_ref: str,
                   site_id: str | None, cause: CausalLink) -> None:
    episode = placer.repo.open_episode(client_ref)
    site_id = site_id or (episode.site_id if episode else None)
    if site_id is None:
        raise InvalidTransition(f"assessment {assessed.assessment_id} names no site to admit at")
    if episode is not None:
        episode.populations = assessed.priority_populations
    move = move_for_assessment(episode, site_id=site_id, final_level=assessed.final_level)
    if move is None:
        if episode is not None:
            placer.keep(episode)
    elif move.kind is MoveKind.admission:
        placer.admit(client_ref, move, cause, Admission(
            assessment_id=assessed.assessment_id, asam_edition=assessed.asam_edition,
            populations=assessed.priority_populations))
    elif episode is not None:
        placer.move(episode, move, cause)


def place_flagged(placer: Placer, flag: RelapseRiskFlagged, *, client_ref: str,
                  cause: CausalLink) -> None:
    episode = placer.repo.open_episode(client_ref)
    decision = move_for_flag(episode, severity=flag.severity, flag_id=flag.flag_id,
                             policy=placer.policy.step_up_policy)
    if episode is None or decision is None:
        return
    if isinstance(decision, ReassessmentNeeded):
        if flag.severity is RiskSeverity.high:
            placer.hold_step_down(episode)
        placer.request_reassessment(episode, decision, cause)
    elif isinstance(decision, ProposeStepUp):
        placer.propose(episode, decision, cause)
    else:
        placer.move(episode, decision, cause)


def _placer(event: Incoming, tx: Transaction, deps: PlacementDeps) -> tuple[Placer, CausalLink]:
    repo = SqlRepository(tx)
    repo.lock()
    cause = CausalLink.of(event.envelope)
    repo.remember(event.envelope.subject, cause)
    return Placer(repo=repo, outbox=tx, now=event.envelope.time, policy=deps.policy), cause
