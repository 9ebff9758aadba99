"""A payer's concurrent-review notice (AuthorizationExpiring): sent only under the client's
written consent to that payer for payment covering utilization review, then a disclosure with
the consent and the 42 CFR 2.32 notice; otherwise suppressed with its reason code — at the
event, or again at send time after a revocation or expiry."""

import json
from datetime import date, timedelta

from contracts.consent import REDISCLOSURE_NOTICE
from contracts.events import AuthorizationExpiring, ConsentRecorded, ConsentRevoked
from contracts.levels import LevelOfCare
from tests.unit.notification.conftest import NOW, World
from tests.unit.notification.test_notify import CARE_TEAM, SPOUSE, disclosures, refer

PAYER = "payer-bcbs-ma"
NOTICE = ("payer", PAYER)
ENDS_ON = date(2025, 3, 3)


def payer_consent(world: World, consent_id: str = "consent-0100", **extra: object) -> None:
    world.apply(ConsentRecorded.model_validate({
        "consent_id": consent_id, "recipient_ref": PAYER, "purpose": "payment",
        "information": ["utilization_review"],
        "expires_at": (NOW + timedelta(days=90)).isoformat(), "signed_at": NOW.isoformat(),
        **extra}))


def expiring(world: World, payer_ref: str = "bcbs-ma") -> None:
    world.apply(AuthorizationExpiring(
        authorization_id="auth-0001", payer_ref=payer_ref, level=LevelOfCare.residential,
        site_id="boston", ends_on=ENDS_ON, days_left=2))


def suppressed_reasons(world: World) -> list[tuple[str, str]]:
    return [(e.data["recipient_ref"], e.data["reason"])
            for e in world.emitted("NotificationSuppressed")]


def test_with_the_clients_consent_the_payer_gets_a_minimal_notice_that_is_a_disclosure(
        world: World) -> None:
    refer(world, SPOUSE)
    payer_consent(world)
    expiring(world)
    assert {key: row.status for key, row in world.rows().items()} == {
        CARE_TEAM: "pending", NOTICE: "pending"}

    world.deliver_until_settled()

    (notice, address), = world.channels["log"].sent
    assert (notice.audience.value, notice.recipient_ref, notice.template) == (
        "payer", PAYER, "payer.concurrent_review")
    assert notice.consent is not None and notice.consent.consent_id == "consent-0100"
    assert notice.text.startswith(
        "Carepath update for client c-client01: authorization auth-0001 for level residential "
        "ends on 2025-03-03; concurrent review requested.")
    assert REDISCLOSURE_NOTICE in notice.text and "consent-0100" in notice.text
    body = notice.as_json()
    assert (body["authorization_id"], body["ends_on"], body["level"], body["site_id"],
            body["reason_code"], body["consent_id"]) == (
        "auth-0001", "2025-03-03", "residential", None, None, "consent-0100")
    assert "boston" not in notice.text  # minimum necessary: no site, nothing clinical
    disclosure, = disclosures(world)
    assert (disclosure.recipient_ref, disclosure.consent_id, disclosure.purpose,
            disclosure.information, disclosure.event_kind) == (
        PAYER, "consent-0100", "payment", "utilization_review", "authorization_expiring")
    sent = {e.data["audience"]: e.data for e in world.emitted("NotificationSent")}
    assert set(sent) == {"care_team", "payer"}
    assert sent["payer"]["recipient_ref"] == PAYER
    assert "auth-0001" not in json.dumps(sent["payer"])  # the bus hears refs and codes only
    (care_team, _), = world.channels["email"].sent
    assert REDISCLOSURE_NOTICE not in care_team.text and "auth-0001" in care_team.text


def test_without_a_consent_to_the_payer_its_notice_is_suppressed_and_never_disclosed(
        world: World) -> None:
    refer(world, SPOUSE)
    # A family consent covering utilization review is not a consent to the payer.
    world.apply(ConsentRecorded.model_validate({
        "consent_id": "consent-0001", "recipient_ref": SPOUSE, "purpose": "treatment_updates",
        "information": ["utilization_review"],
        "expires_at": (NOW + timedelta(days=90)).isoformat(), "signed_at": NOW.isoformat()}))
    payer_consent(world, "consent-0101", recipient_ref="payer-masshealth")  # another payer
    payer_consent(world, "consent-0102", purpose="treatment_updates")  # not for payment
    expiring(world)

    assert (world.rows()[NOTICE].status, world.rows()[NOTICE].reason) == (
        "suppressed", "no_consent")
    assert suppressed_reasons(world) == [(PAYER, "no_consent")]
    world.deliver_until_settled()
    assert world.channels["log"].sent == []
    assert disclosures(world) == []
    assert world.rows()[CARE_TEAM].status == "sent"


def test_a_payer_consent_not_naming_utilization_review_does_not_cover_the_notice(
        world: World) -> None:
    refer(world)
    payer_consent(world, information=["level_of_care"])
    expiring(world)
    assert suppressed_reasons(world) == [(PAYER, "not_covered_by_consent")]


def test_a_revocation_before_sending_suppresses_the_payer_notice(world: World) -> None:
    refer(world)
    payer_consent(world)
    expiring(world)
    world.apply(ConsentRevoked(consent_id="consent-0100", recipient_ref=PAYER))

    world.deliver_until_settled()

    assert world.channels["log"].sent == [] and disclosures(world) == []
    notice = world.rows()[NOTICE]
    assert (notice.status, notice.reason, notice.attempts) == ("suppressed", "consent_revoked", 0)
    assert suppressed_reasons(world) == [(PAYER, "consent_revoked")]


def test_a_consent_revoked_before_the_event_suppresses_the_notice_at_once(world: World) -> None:
    refer(world)
    payer_consent(world)
    world.apply(ConsentRevoked(consent_id="consent-0100", recipient_ref=PAYER))
    expiring(world)
    assert suppressed_reasons(world) == [(PAYER, "consent_revoked")]


def test_a_payer_consent_that_expires_before_sending_suppresses_the_notice(
        world: World) -> None:
    refer(world)
    payer_consent(world, expires_at=(NOW + timedelta(minutes=1)).isoformat())
    expiring(world)
    world.clock.advance(120)

    world.deliver_until_settled()

    assert world.rows()[NOTICE].reason == "consent_expired"
    assert world.channels["log"].sent == [] and disclosures(world) == []


def test_a_payer_consent_until_discharge_covers_the_notice_during_the_episode(
        world: World) -> None:
    refer(world)
    payer_consent(world, expires_at=None, expires_on="discharge")
    expiring(world)
    world.deliver_until_settled()
    assert [m.recipient_ref for m, _ in world.channels["log"].sent] == [PAYER]
