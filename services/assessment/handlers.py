"""What assessment does with the events it consumes: remember referrals, open pending
assessments, follow placement, score attendance — and flag rising relapse risk."""

from __future__ import annotations

from datetime import datetime, timedelta

from carepath.consumer import EventHandlers, Incoming
from carepath.uow import Transaction
from contracts import CausalLink, Envelope
from contracts.events import (
    AdmissionCancelled,
    AssessmentKind,
    AttendanceRecorded,
    ClientAdmitted,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    ReassessmentRequested,
    RelapseRiskFlagged,
    RiskIndicator,
    RiskIndicatorCode,
    RiskSeverity,
    SteppedDown,
    SteppedUp,
    WaitlistExited,
)
from services.assessment import domain, store
from services.assessment.policy import AssessmentDeps, RiskPolicy

handlers = EventHandlers()


@handlers.on(ClientReferred)
def open_initial_assessment(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    client = store.client_seen_in(tx.session, event.envelope)
    client.site_id = event.envelope.siteid or client.site_id
    if not client.in_care:
        client.open_pending(AssessmentKind.initial, trigger=event.envelope.id, flag_id=None)


@handlers.on(ReassessmentRequested)
def open_reassessment(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    client = store.client_seen_in(tx.session, event.envelope)
    if client.in_care:  # a request for someone already discharged no longer applies
        _note_episode(client, event.envelope)
        client.open_pending(AssessmentKind.reassessment, trigger=event.envelope.id,
                            flag_id=event.data.flag_id)


# StepUpProposed and StepUpDeclined move nobody, so assessment has no handler for them: the
# consumer skips events without a handler (no effect, no dead letter). The urgent reassessment a
# proposal asks for arrives as its own ReassessmentRequested.
@handlers.on(ClientAdmitted, SteppedDown, SteppedUp, ClientTransferred, ClientDischarged,
             AdmissionCancelled, WaitlistExited)
def follow_placement(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    client = store.client_seen_in(tx.session, event.envelope)
    state = domain.care_after(event.data, site_id=event.envelope.siteid or client.site_id)
    if state is None:
        return
    client.in_care, client.site_id = state.in_care, state.site_id
    client.current_level = state.level.value if state.level else None
    if not state.in_care:
        client.episode_id = None
    _note_episode(client, event.envelope)
    client.flagged_severity = None  # a new placement starts a new flagging cycle
    wanted = AssessmentKind.reassessment if state.in_care else AssessmentKind.initial
    if client.pending_kind not in (None, wanted.value):
        client.close_pending()


@handlers.on(AttendanceRecorded)
def score_attendance(event: Incoming, tx: Transaction, deps: AssessmentDeps) -> None:
    envelope, data = event.envelope, event.data
    client = store.client_seen_in(tx.session, envelope)
    _note_episode(client, envelope)
    counted_at = domain.attendance_time(scheduled_at=data.scheduled_at, recorded_at=envelope.time)
    store.record_attendance(tx.session, client_ref=client.client_ref, session_id=data.session_id,
                            status=data.status.value, counted_at=counted_at)
    flag_rising_risk(tx, deps.risk, client, now=envelope.time, cause=CausalLink.of(envelope),
                     flag_id=domain.mint_id("flag", from_event=envelope.id))


def current_risk(tx: Transaction, policy: RiskPolicy, client_ref: str, now: datetime
                 ) -> domain.RiskScore:
    since = now - timedelta(days=policy.window_days)
    marks, readings = store.risk_inputs(tx.session, client_ref, since)
    # Observations (HTTP) and attendance (scheduling's topic) arrive by different roads: an
    # input already known counts even when it is stamped later than the one being scored.
    as_of = max([now, *(m.at for m in marks), *(r.at for r in readings)])
    return domain.score_risk(policy, marks=marks, readings=readings, now=as_of)


def flag_rising_risk(tx: Transaction, policy: RiskPolicy, client: store.Client, *,
                     now: datetime, cause: CausalLink, flag_id: str
                     ) -> tuple[domain.RiskScore, str | None]:
    """Score the client at `now`; if they are in care and the severity rose above what was
    flagged since their last placement change, emit RelapseRiskFlagged. Returns the score and
    the new flag's id (None when nothing was flagged)."""
    tx.session.flush()
    risk = current_risk(tx, policy, client.client_ref, now)
    if not client.in_care or not domain.should_flag(risk.severity, client.severity_flagged()):
        return risk, None
    flag = RelapseRiskFlagged(
        flag_id=flag_id, severity=RiskSeverity(risk.severity.value), score=risk.score,
        indicators=tuple(RiskIndicator(name=i.name, code=RiskIndicatorCode(i.name),
                                       band=i.band, detail=i.detail, weight=i.weight)
                         for i in risk.indicators),
        current_level=client.level())
    envelope = tx.emit(flag, subject=client.client_ref, site_id=client.site_id,
                       episode_id=client.episode(), cause=cause, time=now)
    client.flagged_severity = risk.severity.value
    tx.session.add(client)
    tx.session.add(store.RiskFlag(
        flag_id=flag_id, client_ref=client.client_ref, severity=risk.severity.value,
        score=risk.score, indicators=[i.model_dump(mode="json") for i in flag.indicators],
        flagged_at=now, event_id=str(envelope.id)))
    return risk, flag_id


def _note_episode(client: store.Client, envelope: Envelope) -> None:
    if client.in_care and envelope.episodeid is not None:
        client.episode_id = str(envelope.episodeid)

