import json
import uuid

import pytest

from contracts import (
    EVENT_TYPES,
    Envelope,
    InvalidEvent,
    LevelOfCare,
    UnknownEventType,
    new_envelope,
)
from contracts.events import ClientReferred, ReferralSource, SteppedDown, TransitionTrigger
from contracts.schemas import SCHEMA_DIR, generated, render


def referral() -> ClientReferred:
    from datetime import UTC, datetime

    return ClientReferred(referral_source=ReferralSource.self_, referred_at=datetime.now(UTC),
                          presenting_concern_count=2)


def test_committed_schemas_match_the_models() -> None:
    for name, schema in generated().items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"{name} missing: run `make contracts`"
        assert path.read_text() == render(schema), f"{name} is stale: run `make contracts`"


def test_every_event_type_is_versioned_and_named_after_its_service() -> None:
    for type_name, cls in EVENT_TYPES.items():
        assert type_name == f"carepath.{cls.service}.{cls.event_name()}.v{cls.version}"


def test_every_event_type_is_in_the_consumers_guide() -> None:
    guide = (SCHEMA_DIR.parent / "README.md").read_text()
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in guide]
    assert missing == [], "describe them in contracts/README.md's event catalogue"


def test_envelope_is_a_structured_cloudevent_with_extension_attributes() -> None:
    envelope = new_envelope(referral(), subject="c-abc123", site_id="boston", episode_id=None,
                            correlation_id=None, causation_id=None)
    body = json.loads(envelope.to_bytes())
    assert body["specversion"] == "1.0"
    assert body["source"] == "carepath/intake"
    assert body["type"] == "carepath.intake.ClientReferred.v1"
    assert body["subject"] == body["partitionkey"] == "c-abc123"
    assert body["correlationid"] == body["id"]  # a root event starts its own chain
    assert body["securitylabels"] == "42CFRPart2"
    assert all(key.isalnum() and key.islower() for key in body), "CloudEvents attribute names"


def test_payload_round_trips_and_unknown_fields_are_ignored() -> None:
    envelope = new_envelope(referral(), subject="c-abc123", site_id="boston", episode_id=None,
                            correlation_id=None, causation_id=None)
    newer = envelope.model_copy(update={"data": {**envelope.data, "added_later": 1}})
    assert Envelope.from_bytes(newer.to_bytes()).payload() == referral().model_copy(
        update={"referred_at": envelope.payload().referred_at})  # type: ignore[attr-defined]


def test_bad_events_are_rejected_with_a_reason() -> None:
    with pytest.raises(InvalidEvent, match="not a Carepath CloudEvent"):
        Envelope.from_bytes(b"{not json")
    envelope = new_envelope(referral(), subject="c-abc123", site_id="boston", episode_id=None,
                            correlation_id=None, causation_id=None)
    with pytest.raises(UnknownEventType):
        envelope.model_copy(update={"type": "carepath.intake.Nope.v1"}).payload()
    with pytest.raises(InvalidEvent, match="referral_source"):
        envelope.model_copy(update={"data": {"referral_source": "martians"}}).payload()


def test_subject_must_be_a_pseudonym_not_free_text() -> None:
    with pytest.raises(InvalidEvent):
        Envelope.from_bytes(new_envelope(
            referral(), subject="c-abc123", site_id="boston", episode_id=None,
            correlation_id=None, causation_id=None).to_bytes().replace(b"c-abc123", b"Ann Lee"))


def test_levels_are_ordered_by_intensity_and_carry_asam_codes() -> None:
    assert LevelOfCare.residential.is_higher_than(LevelOfCare.php)
    assert LevelOfCare.iop.one_step_up() is LevelOfCare.php
    assert LevelOfCare.residential.one_step_up() is LevelOfCare.residential
    assert LevelOfCare.php.asam_codes(3) == ("2.5",)
    assert "3.7" in LevelOfCare.residential.asam_codes(4)


def test_step_events_carry_both_levels() -> None:
    step = SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                       trigger=TransitionTrigger.reassessment, reason="stable")
    envelope = new_envelope(step, subject="c-abc123", site_id="boston",
                            episode_id=uuid.uuid4(), correlation_id=uuid.uuid4(),
                            causation_id=uuid.uuid4())
    assert envelope.payload() == step
