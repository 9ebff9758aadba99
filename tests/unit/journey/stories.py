"""Builders of realistic event sequences for one client: each event caused by the previous one,
all correlated to the first (the referral), at chosen days after a fixed start. A move to
another site moves the story there: the events after it carry the new site."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.events import (
    AdmissionCancelled,
    AssessmentKind,
    AttendanceRecorded,
    AttendanceStatus,
    CancellationReason,
    CapacityChanged,
    ClientAdmitted,
    ClientAssessed,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    DeclineReason,
    Dimensions,
    Disposition,
    PlacementWaitlisted,
    ReferralSource,
    RelapseRiskFlagged,
    RiskSeverity,
    SessionKind,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
L = LevelOfCare


def day(offset: float, start: datetime = START) -> datetime:
    return start + timedelta(days=offset)


class ClientStory:
    def __init__(self, client_ref: str | None = None, site_id: str = "boston",
                 start: datetime = START) -> None:
        self.client_ref = client_ref or f"c-{uuid.uuid4().hex[:12]}"
        self.site_id = site_id
        self.start = start
        self.episode_id = uuid.uuid4()
        self.envelopes: list[Envelope] = []

    def event(self, data: EventData, *, at: float, in_episode: bool = True,
              site_id: str | None = None) -> Envelope:
        root, last = (self.envelopes[0], self.envelopes[-1]) if self.envelopes else (None, None)
        envelope = new_envelope(
            data, subject=self.client_ref, site_id=site_id or self.site_id,
            episode_id=self.episode_id if in_episode else None,
            correlation_id=root.id if root else None, causation_id=last.id if last else None,
            time=day(at, self.start))
        self.envelopes.append(envelope)
        return envelope

    def referred(self, at: float = 0) -> Envelope:
        return self.event(ClientReferred(referral_source=ReferralSource.hospital,
                                         referred_at=day(at, self.start),
                                         presenting_concern_count=1), at=at, in_episode=False)

    def assessed(self, level: LevelOfCare, at: float) -> Envelope:
        return self.event(ClientAssessed(
            assessment_id=f"a-{uuid.uuid4().hex[:8]}", kind=AssessmentKind.initial,
            dimensions=Dimensions(d1=2, d2=1, d3=2, d4=3, d5=3, d6=2),
            recommended_level=level, rationale=("illustrative rules",), final_level=level,
            assessed_by="clinician-7", rule_set="default"), at=at, in_episode=False)

    def waitlisted(self, level: LevelOfCare, at: float, current: LevelOfCare | None = None
                   ) -> Envelope:
        return self.event(PlacementWaitlisted(level=level, position=1, reason="no bed",
                                              current_level=current), at=at)

    def admitted(self, level: LevelOfCare, at: float) -> Envelope:
        return self.event(ClientAdmitted(level=level), at=at)

    def admission_cancelled(self, admission: Envelope, at: float) -> Envelope:
        data = admission.payload()
        assert isinstance(data, ClientAdmitted)
        return self.event(AdmissionCancelled(
            level=data.level, reason_code=CancellationReason.no_show, admitted_at=admission.time,
            admission_event_id=str(admission.id)), at=at)

    def waitlist_exited(self, level: LevelOfCare, at: float, *, in_care: bool = False,
                        reason: WaitlistExitReason = WaitlistExitReason.withdrew) -> Envelope:
        return self.event(WaitlistExited(level=level, site_id=self.site_id, reason_code=reason,
                                         waited_days=at, in_care=in_care), at=at)

    def stepped_down(self, from_level: LevelOfCare, to_level: LevelOfCare, at: float,
                     to_site: str | None = None) -> Envelope:
        return self._step(SteppedDown, from_level, to_level, at, to_site=to_site,
                          trigger=TransitionTrigger.reassessment)

    def stepped_up(self, from_level: LevelOfCare, to_level: LevelOfCare, at: float,
                   to_site: str | None = None, proposal_id: str | None = None) -> Envelope:
        return self._step(SteppedUp, from_level, to_level, at, to_site=to_site,
                          trigger=TransitionTrigger.risk_flag, proposal_id=proposal_id)

    def _step(self, kind: type[SteppedDown | SteppedUp], from_level: LevelOfCare,
              to_level: LevelOfCare, at: float, *, to_site: str | None,
              trigger: TransitionTrigger, proposal_id: str | None = None) -> Envelope:
        """Sites only when the step changes site, as placement emits since 2026-12."""
        from_site = self.site_id if to_site else None
        self.site_id = to_site or self.site_id
        return self.event(kind(from_level=from_level, to_level=to_level, trigger=trigger,
                               reason="progress", proposal_id=proposal_id, from_site=from_site,
                               to_site=to_site), at=at)

    def transferred(self, to_site: str, level: LevelOfCare, at: float) -> Envelope:
        from_site, self.site_id = self.site_id, to_site
        return self.event(ClientTransferred(from_site=from_site, to_site=to_site, level=level,
                                            reason="closer to home"), at=at)

    def discharged(self, level: LevelOfCare, at: float,
                   disposition: Disposition = Disposition.completed) -> Envelope:
        return self.event(ClientDischarged(level=level, disposition=disposition,
                                           los_days=at), at=at)

    def flagged(self, level: LevelOfCare, at: float) -> Envelope:
        return self.event(RelapseRiskFlagged(
            flag_id=f"f-{uuid.uuid4().hex[:8]}", severity=RiskSeverity.high, score=0.8,
            indicators=(), current_level=level), at=at)

    def proposed(self, flag: Envelope, to_level: LevelOfCare, at: float) -> Envelope:
        """The step up a flag proposes (the default `review` policy), caused by the flag."""
        data = flag.payload()
        assert isinstance(data, RelapseRiskFlagged) and data.current_level is not None
        return self.event(StepUpProposed(
            proposal_id=f"p-{uuid.uuid4().hex[:8]}", flag_id=data.flag_id,
            severity=data.severity, from_level=data.current_level, to_level=to_level), at=at)

    def declined(self, proposal: Envelope, at: float) -> Envelope:
        data = proposal.payload()
        assert isinstance(data, StepUpProposed)
        return self.event(StepUpDeclined(
            proposal_id=data.proposal_id, flag_id=data.flag_id, level=data.from_level,
            reason_code=DeclineReason.managed_at_current_level), at=at)

    def confirmed(self, proposal: Envelope, at: float) -> Envelope:
        """A clinician confirms the proposal: the step up citing it."""
        data = proposal.payload()
        assert isinstance(data, StepUpProposed)
        return self.stepped_up(data.from_level, data.to_level, at,
                               proposal_id=data.proposal_id)

    def attended(self, level: LevelOfCare, at: float,
                 status: AttendanceStatus = AttendanceStatus.attended) -> Envelope:
        """A session's attendance, recorded (the envelope time) at `at`."""
        return self.event(AttendanceRecorded(
            session_id=f"s-{uuid.uuid4().hex[:8]}", status=status,
            kind=SessionKind.group_therapy, level=level, scheduled_at=day(at, self.start)),
            at=at)

    def next_episode(self, site_id: str | None = None) -> ClientStory:
        """The same client's next episode of care (a readmission), its own causal chain."""
        return ClientStory(client_ref=self.client_ref, site_id=site_id or self.site_id,
                           start=self.start)

    def full_continuum(self) -> list[Envelope]:
        """Referral → residential 14 d → PHP 14 d → IOP 21 d → aftercare 8 d → completed."""
        self.referred(0)
        self.assessed(L.residential, 0.5)
        self.admitted(L.residential, 1)
        self.stepped_down(L.residential, L.php, 15)
        self.stepped_down(L.php, L.iop, 29)
        self.stepped_down(L.iop, L.aftercare, 50)
        self.discharged(L.aftercare, 58)
        return self.envelopes


def capacity_changed(site_id: str, at: datetime, **capacity: int) -> Envelope:
    return new_envelope(CapacityChanged(site_id=site_id, capacity={L(k): v for k, v in
                                                                   capacity.items()}),
                        subject=f"site-{site_id}", site_id=site_id, episode_id=None,
                        correlation_id=None, causation_id=None, time=at)
