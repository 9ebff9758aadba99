"""What a valid assessment request and observation are, and the 422 messages otherwise."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from carepath.errors import InvalidInput
from contracts.events import OverrideReason, PriorityPopulation
from services.assessment import domain
from services.assessment.policy import ObservationKind
from services.assessment.schemas import AssessmentIn, ObservationIn

DIMS = {"d1": 1, "d2": 1, "d3": 2, "d4": 2, "d5": 2, "d6": 2}
BODY = {"client_ref": "c-0123abcd", "kind": "initial", "dimensions": DIMS}


@pytest.mark.parametrize(("kind", "value", "canonical"), [
    ("tox_screen", "positive", "positive"), ("tox_screen", " Negative ", "negative"),
    ("craving", 0, 0), ("craving", 10, 10), ("craving", 6.5, 6.5), ("craving", 7.0, 7),
    ("phq9", 27, 27), ("gad7", 21, 21), ("bam", 30, 30), ("bam", 0, 0),
])
def test_valid_observation_values(kind: str, value: Any, canonical: Any) -> None:
    assert domain.check_observation(ObservationKind(kind), value) == canonical


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("tox_screen", "maybe", "'positive' or 'negative'"),
    ("tox_screen", 1, "'positive' or 'negative'"),
    ("craving", 42, "craving value must be a number from 0 to 10"),
    ("craving", -1, "from 0 to 10"),
    ("craving", "7", "must be a number"),
    ("craving", True, "must be a number"),
    ("phq9", 28, "phq9 value must be a whole number from 0 to 27"),
    ("phq9", 12.5, "whole number"),
    ("gad7", 22, "from 0 to 21"),
    ("bam", 31, "days of substance use in the past 30 days"),
])
def test_invalid_observation_values_say_what_is_valid(kind: str, value: Any, message: str
                                                      ) -> None:
    with pytest.raises(InvalidInput, match=message):
        domain.check_observation(ObservationKind(kind), value)


def test_observations_cannot_be_in_the_future() -> None:
    now = datetime.now(UTC)
    domain.check_observed_at(now - timedelta(days=3), now)
    with pytest.raises(InvalidInput, match="observed_at is in the future"):
        domain.check_observed_at(now + timedelta(hours=1), now)


def test_unknown_observation_kinds_and_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="kind"):
        ObservationIn.model_validate({"kind": "pulse", "value": 80})
    with pytest.raises(ValidationError, match="note"):
        ObservationIn.model_validate({"kind": "craving", "value": 3, "note": "free text"})


def test_an_override_needs_a_reason_code_and_a_code_or_note_needs_an_override() -> None:
    override = AssessmentIn.model_validate({
        **BODY, "override_level": "php", "override_reason_code": "co_occurring_condition",
        "override_note": "  failed IOP twice  "})
    assert (override.override_level, override.override_reason_code, override.override_note) == (
        "php", OverrideReason.co_occurring_condition, "failed IOP twice")
    with pytest.raises(ValidationError, match="override_level needs an override_reason_code"):
        AssessmentIn.model_validate({**BODY, "override_level": "php",
                                     "override_note": "a note is no reason code"})
    with pytest.raises(ValidationError, match="override_reason_code"):
        AssessmentIn.model_validate({**BODY, "override_level": "php",
                                     "override_reason_code": "failed IOP twice"})
    with pytest.raises(ValidationError, match="override_note"):
        AssessmentIn.model_validate({**BODY, "override_level": "php",
                                     "override_reason_code": "other", "override_note": "  "})
    for unexplained in ({"override_reason_code": "other"}, {"override_note": "because"}):
        with pytest.raises(ValidationError, match="give override_level too"):
            AssessmentIn.model_validate({**BODY, **unexplained})


@pytest.mark.parametrize(("retired", "instead"), [
    ({"assessed_by": "clinician-42"}, "the assessor is the caller"),
    ({"override_level": "php", "override_reason": "judgement"}, "send 'override_reason_code'"),
])
def test_the_assessor_and_a_free_text_reason_are_refused_saying_what_to_send(
        retired: dict[str, Any], instead: str) -> None:
    with pytest.raises(ValidationError, match=instead):
        AssessmentIn.model_validate({**BODY, **retired})
    assert "assessed_by" not in AssessmentIn.model_json_schema()["properties"]
    assert "override_reason" not in AssessmentIn.model_json_schema()["properties"]


@pytest.mark.parametrize(("change", "field"), [
    ({"dimensions": {**DIMS, "d1": 7}}, "d1"),
    ({"dimensions": {k: v for k, v in DIMS.items() if k != "d6"}}, "d6"),
    ({"dimensions": {**DIMS, "d7": 1}}, "d7"),
    ({"kind": "annual"}, "kind"),
    ({"client_ref": "Jane Doe"}, "client_ref"),
    ({"override_level": "detox", "override_reason_code": "other"}, "override_level"),
    ({"comment": "anything"}, "comment"),
    ({"asam_edition": 5}, "asam_edition"),
    ({"asam_edition": "fourth"}, "asam_edition"),
    ({"priority_populations": ["veteran"]}, "priority_populations"),
    ({"priority_populations": "pregnant"}, "priority_populations"),
])
def test_invalid_assessment_requests_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AssessmentIn.model_validate({**BODY, **change})


def test_an_assessment_names_its_edition_or_leaves_it_to_the_default_rule_set() -> None:
    assert AssessmentIn.model_validate(BODY).asam_edition is None
    assert AssessmentIn.model_validate({**BODY, "asam_edition": 4}).asam_edition == 4


def test_priority_populations_are_kept_once_each_in_priority_order() -> None:
    assert AssessmentIn.model_validate(BODY).priority_populations == ()
    given = AssessmentIn.model_validate({**BODY, "priority_populations": [
        "injection_drug_use", "pregnant"]})
    assert given.priority_populations == (PriorityPopulation.pregnant,
                                          PriorityPopulation.injection_drug_use)
    twice = AssessmentIn.model_validate({**BODY, "priority_populations": ["pregnant"] * 2})
    assert twice.priority_populations == (PriorityPopulation.pregnant,)
