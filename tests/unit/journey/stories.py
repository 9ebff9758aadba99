"""Builders of realistic event sequences for one client: each event caused by the previous one,
all correlated to the referral, at chosen days after a fixed start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.events import (
    AssessmentKind,
    CapacityChanged,
    ClientAdmitted,
    ClientAssessed,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    Dimensions,
    Disposition,
    PlacementWaitlisted,
    ReferralSource,
    SteppedDown,
    SteppedUp,
    TransitionTrigger,
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

    def stepped_down(self, from_level: LevelOfCare, to_level: LevelOfCare, at: float
                     ) -> Envelope:
        return self.event(SteppedDown(from_level=from_level, to_level=to_level,
                                      trigger=TransitionTrigger.reassessment,
                                      reason="progress"), at=at)

    def stepped_up(self, from_level: LevelOfCare, to_level: LevelOfCare, at: float) -> Envelope:
        return self.event(SteppedUp(from_level=from_level, to_level=to_level,
                                    trigger=TransitionTrigger.risk_flag, reason="risk"), at=at)

    def transferred(self, to_site: str, level: LevelOfCare, at: float) -> Envelope:
        return self.event(ClientTransferred(from_site=self.site_id, to_site=to_site, level=level,
                                            reason="closer to home"), at=at, site_id=to_site)

    def discharged(self, level: LevelOfCare, at: float,
                   disposition: Disposition = Disposition.completed) -> Envelope:
        return self.event(ClientDischarged(level=level, disposition=disposition,
                                           los_days=at), at=at)

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
