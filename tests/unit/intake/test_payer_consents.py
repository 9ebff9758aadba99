"""A consent to disclose to a payer (42 CFR 2.31, § 2.33): its recipient is `payer-<code>` of a
configured payer, for payment, naming utilization review; anything else is refused saying which
rule, never echoing what was sent."""

import pytest

from carepath.errors import InvalidInput, NotFound
from contracts.consent import payer_code_of, payer_recipient_ref
from services.intake.consents import ConsentIn
from tests.support import ADMIN
from tests.unit.intake.test_records import CLIENT, World

PAYERS = frozenset({"bcbs-ma", "masshealth"})
UR = ["utilization_review", "level_of_care"]


@pytest.fixture
def world() -> World:
    return World()


def payer_consent(world: World, recipient_ref: str = "payer-bcbs-ma", **changes: object) -> str:
    terms = ConsentIn.model_validate({
        "recipient_ref": recipient_ref, "purpose": "payment", "information": UR,
        "expires_at": "2027-06-30", "signed_at": "2026-12-01", **changes})
    return world.records().record_consent(CLIENT, terms, ADMIN, payer_codes=PAYERS).consent_id


def test_a_payer_is_named_by_a_typed_ref_of_its_code() -> None:
    assert payer_recipient_ref("bcbs-ma") == "payer-bcbs-ma"
    assert payer_code_of("payer-bcbs-ma") == "bcbs-ma"
    assert payer_code_of("r-0a1b2c3d4e5f6a7b") is None


def test_a_consent_to_a_configured_payer_is_recorded_and_emitted_as_codes(world: World) -> None:
    world.refer()
    consent_id = payer_consent(world)
    recorded = world.outbox.emitted[-1]
    assert recorded.event_name == "ConsentRecorded"
    assert (recorded.data["recipient_ref"], recorded.data["purpose"],
            recorded.data["information"], recorded.data["consent_id"]) == (
        "payer-bcbs-ma", "payment", ["level_of_care", "utilization_review"], consent_id)
    stored = world.rows.consent(consent_id)
    assert stored is not None and stored.recipient_ref == "payer-bcbs-ma"


@pytest.mark.parametrize(("changes", "said"), [
    ({"recipient_ref": "payer-w123456789"}, "names no payer of this organization"),
    ({"recipient_ref": "payer-Bad Code"}, "names no payer of this organization"),
    ({"purpose": "treatment_updates"}, "purpose 'payment'"),
    ({"information": ["level_of_care"]}, "'utilization_review'"),
])
def test_a_payer_consent_breaking_a_rule_is_refused_without_echoing_it(
        world: World, changes: dict[str, object], said: str) -> None:
    world.refer()
    before = len(world.outbox.emitted)
    with pytest.raises(InvalidInput) as refused:
        payer_consent(world, **changes)
    assert said in str(refused.value)
    assert "w123456789" not in str(refused.value) and "Bad Code" not in str(refused.value)
    assert len(world.outbox.emitted) == before


def test_an_unknown_payer_is_told_which_codes_are_configured(world: World) -> None:
    world.refer()
    with pytest.raises(InvalidInput, match=r"\(bcbs-ma, masshealth\)"):
        payer_consent(world, "payer-tufts-hp")


def test_a_family_ref_still_has_to_be_the_clients_own_contact(world: World) -> None:
    world.refer()
    with pytest.raises(NotFound):
        world.consent("r-9f9f9f9f9f9f9f9f")
