"""One service alone on a fresh broker and database, given a known client the way its
upstream would describe them (events published as the producing services send them), so
fuzzed requests can reach real records and the rules behind them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from carepath.dev.client import RATINGS
from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.events import (
    AssessmentKind,
    ClientAdmitted,
    ClientAssessed,
    ClientReferred,
    Dimensions,
    FamilyRecipient,
    ReferralSource,
    SteppedUp,
    TransitionTrigger,
)
from tests.security.conftest import consent_body
from tests.support import wait_until

Publish = Callable[..., None]
Known = dict[str, str]  # path or query parameter name -> a value that exists


class Story:
    """One boston client's events, each caused by the one before, rooted in the referral."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self.ref = f"c-{uuid.uuid4().hex[:16]}"
        self.recipient = f"r-{uuid.uuid4().hex[:16]}"
        self.episode_id = uuid.uuid4()
        self.root: Envelope | None = None
        self.last: Envelope | None = None
        self.told: list[Envelope] = []

    def tell(self, data: EventData) -> Envelope:
        envelope = new_envelope(
            data, subject=self.ref, site_id="boston",
            episode_id=None if self.root is None else self.episode_id,
            correlation_id=self.root.id if self.root else None,
            causation_id=self.last.id if self.last else None)
        self.root, self.last = self.root or envelope, envelope
        self.told.append(envelope)
        self.publish(envelope)
        return envelope

    def consumed_by(self, client: TestClient) -> None:
        """Wait until the service has applied every event of this story it handles (topics
        are not ordered among each other), so none can change its state later."""
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        wanted = {e.id for e in self.told
                  if runtime.spec.handlers.get(type(e.payload())) is not None}
        inbox = runtime.spec.inbox

        def applied() -> bool:
            with runtime.engine.connect() as conn:
                done = conn.execute(select(inbox.c.event_id).where(
                    inbox.c.event_id.in_(wanted))).scalars()
                return set(done) == wanted

        wait_until(applied)

    def referred(self) -> Envelope:
        return self.tell(ClientReferred(
            referral_source=ReferralSource.clinician, referred_at=datetime.now(UTC),
            presenting_concern_count=1,
            family_recipients=(FamilyRecipient(recipient_ref=self.recipient,
                                               relationship="parent"),)))

    def assessed(self, level: LevelOfCare) -> Envelope:
        return self.tell(ClientAssessed(
            assessment_id=f"asmt-{uuid.uuid4().hex[:12]}", kind=AssessmentKind.initial,
            dimensions=Dimensions(**RATINGS[level.value]), recommended_level=level,
            rationale=("seeded for fuzzing",), final_level=level, assessed_by="seed",
            rule_set="default"))


def seed_intake(client: TestClient, publish: Publish) -> Known:
    created = client.post("/referrals", json={
        "site_id": "boston", "first_name": "Fuzz", "last_name": "Target",
        "date_of_birth": "1990-01-01", "referral_source": "self",
        "family_contacts": [{"name": "Fuzz Relative", "relationship": "parent"}]}).json()
    ref = created["client_ref"]
    consent = client.post(f"/clients/{ref}/consents", json=consent_body(
        created["family_contacts"][0]["recipient_ref"])).json()
    return {"client_ref": ref, "consent_id": consent["consent_id"], "site_id": "boston",
            "recipient_ref": consent["recipient_ref"]}


def seed_assessment(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    story.consumed_by(client)
    assessed = client.post("/assessments", json={
        "client_ref": story.ref, "kind": "initial", "dimensions": RATINGS["iop"]}).json()
    return {"client_ref": story.ref, "assessment_id": assessed["assessment_id"]}


def seed_placement(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    story.assessed(LevelOfCare.iop)
    story.consumed_by(client)
    return {"client_ref": story.ref, "site_id": "boston"}


def seed_scheduling(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    story.tell(ClientAdmitted(level=LevelOfCare.iop))
    story.consumed_by(client)
    sessions = client.get(f"/clients/{story.ref}/sessions").json()
    return {"client_ref": story.ref, "session_id": sessions[0]["session_id"]}


def seed_notification(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    story.tell(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                         trigger=TransitionTrigger.risk_flag, reason="seeded"))
    story.consumed_by(client)
    pending = {"client_ref": story.ref, "status": "pending"}
    wait_until(lambda: client.get("/notifications", params=pending).json() == [])
    return {"client_ref": story.ref}


def seed_journey(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    story.tell(ClientAdmitted(level=LevelOfCare.iop))
    story.consumed_by(client)
    return {"client_ref": story.ref, "site_id": "boston"}


def seed_interop(client: TestClient, publish: Publish) -> Known:
    story = Story(publish)
    story.referred()
    admitted = story.tell(ClientAdmitted(level=LevelOfCare.iop))
    story.consumed_by(client)
    return {"resource_id": str(admitted.id), "patient": f"Patient/{story.ref}",
            "site_id": "boston"}


SEEDS: dict[str, Callable[[TestClient, Publish], Known]] = {
    "intake": seed_intake, "assessment": seed_assessment, "placement": seed_placement,
    "scheduling": seed_scheduling, "notification": seed_notification, "journey": seed_journey,
    "interop": seed_interop,
}
