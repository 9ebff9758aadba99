"""What assessment does with the events it consumes: remember referrals, open pending
assessments, follow placement, score attendance — and flag rising relapse risk. Storage only
through the repository (services.assessment.domain.AssessmentRepository)."""

from __future__ import annotations

from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.uow import Transaction
from contracts import CausalLink, Envelope
from contracts.events import (
    AdmissionCancelled,
    AttendanceRecorded,
    ClientAdmitted,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    WaitlistExited,
)
from services.assessment import domain
from services.assessment.deps import AssessmentDeps
from services.assessment.domain import AssessmentRepository, ClientCare
from services.assessment.store import SqlAssessments

handlers = EventHandlers()


@handlers.on(ClientReferred)
def open_initial_assessment(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    repo = SqlAssessments.within(tx)
    client = seen_in(repo, event.envelope)
    client.referred(trigger=event.envelope.id, site_id=event.envelope.siteid)
    repo.save_client(client)


@handlers.on(ReassessmentRequested)
def open_reassessment(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    repo = SqlAssessments.within(tx)
    client = seen_in(repo, event.envelope)
    client.reassessment_requested(trigger=event.envelope.id, flag_id=event.data.flag_id,
                                  episode_id=event.envelope.episodeid)
    repo.save_client(client)


# StepUpProposed and StepUpDeclined move nobody, so assessment has no handler for them: the
# consumer skips events without a handler (no effect, no dead letter). The urgent reassessment a
# proposal asks for arrives as its own ReassessmentRequested.
@handlers.on(ClientAdmitted, SteppedDown, SteppedUp, ClientTransferred, ClientDischarged,
             AdmissionCancelled, WaitlistExited)
def follow_placement(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    repo = SqlAssessments.within(tx)
    client = seen_in(repo, event.envelope)
    state = domain.care_after(event.data, site_id=event.envelope.siteid or client.site_id)
    if state is not None:
        client.placed(state, episode_id=event.envelope.episodeid)
    repo.save_client(client)


@handlers.on(AttendanceRecorded)
def score_attendance(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    envelope, data = event.envelope, event.data
    repo = SqlAssessments.within(tx)
    client = seen_in(repo, envelope)
    client.note_episode(envelope.episodeid)
    counted_at = domain.attendance_time(scheduled_at=data.scheduled_at, recorded_at=envelope.time)
    repo.record_attendance(client_ref=client.client_ref, session_id=data.session_id,
                           status=data.status.value, counted_at=counted_at)
    domain.flag_rising_risk(repo, tx, deps.risk, client, now=envelope.time,
                            cause=CausalLink.of(envelope),
                            flag_id=domain.mint_id("flag", from_event=envelope.id))
    repo.save_client(client)  # after a flag, which saves the client too: written once


def seen_in(repo: AssessmentRepository, envelope: Envelope) -> ClientCare:
    """The client an event is about (held for the transaction), first seen if unknown, its
    causal link moved to the event."""
    client = repo.client(envelope.subject, lock=True) or ClientCare.first_seen(
        envelope.subject, site_id=envelope.siteid, link=CausalLink.of(envelope))
    client.seen(envelope.id)
    return client
