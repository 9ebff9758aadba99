"""Intake against the real broker and database."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support import EventTap, bearer_for, of_type, principal

REFERRAL = {
    "site_id": "boston", "first_name": "Ann", "last_name": "Example",
    "date_of_birth": "1988-04-12", "phone": "+1 617 555 0100", "email": "ann@example.org",
    "referral_source": "hospital", "presenting_concerns": ["alcohol use"],
    "requested_level": "residential",
    "family_contacts": [{"name": "Bo Example", "relationship": "spouse",
                         "email": "bo@example.org"}],
}


def test_referral_mints_a_pseudonym_and_emits_no_phi(service_client, event_tap: EventTap
                                                     ) -> None:
    with service_client("intake") as intake:
        response = intake.post("/referrals", json=REFERRAL)
        assert response.status_code == 201, response.text
        client_ref = response.json()["client_ref"]
        event = event_tap.wait_for(of_type("ClientReferred", client_ref))
    raw = event.to_bytes().decode()
    for phi in ("Ann", "Example", "1988", "617", "ann@", "bo@", "alcohol"):
        assert phi not in raw
    assert event.siteid == "boston" and event.correlationid == event.id
    assert event.data["family_recipients"][0]["relationship"] == "spouse_partner"  # the code


def test_invalid_referrals_say_what_is_wrong_and_store_nothing(service_client,
                                                               event_tap: EventTap) -> None:
    with service_client("intake") as intake:
        unknown_site = intake.post("/referrals", json={**REFERRAL, "site_id": "paris"})
        assert unknown_site.status_code == 422
        assert "unknown site 'paris'" in unknown_site.json()["detail"]
        future = intake.post("/referrals", json={**REFERRAL, "date_of_birth": "2999-01-01"})
        assert future.status_code == 422 and "future" in future.json()["detail"]
        nameless = intake.post("/referrals", json={**REFERRAL, "first_name": " "})
        assert nameless.status_code == 422
        assert "first_name" in json.dumps(nameless.json())
        assert intake.get("/audit").json() == []
        ok = intake.post("/referrals", json=REFERRAL)
        event_tap.wait_for(of_type("ClientReferred", ok.json()["client_ref"]))
    assert len(event_tap.collected(of_type("ClientReferred"))) == 1


def test_reading_identity_is_audited_and_consent_can_be_revoked(service_client,
                                                                event_tap: EventTap) -> None:
    with service_client("intake") as intake:
        created = intake.post("/referrals", json=REFERRAL).json()
        ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
        nurse = principal("clinician", "boston", sub="nurse-1")
        person = intake.get(f"/clients/{ref}", headers=bearer_for(intake, nurse))
        assert person.json()["last_name"] == "Example"
        audit = intake.get("/audit", params={"client_ref": ref}).json()
        assert [(a["actor"], a["client_ref"]) for a in audit] == [("nurse-1", ref)]

        consent = intake.post(f"/clients/{ref}/consents", json=consent_body(recipient))
        assert consent.status_code == 201, consent.text
        consent_id = consent.json()["consent_id"]
        revoked = intake.delete(f"/clients/{ref}/consents/{consent_id}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert intake.delete(f"/clients/{ref}/consents/{consent_id}").status_code == 409
        assert intake.post(f"/clients/{ref}/consents",
                           json=consent_body("r-nobody00")).status_code == 404
        recorded = event_tap.wait_for(of_type("ConsentRecorded", ref))
        revoked_event = event_tap.wait_for(of_type("ConsentRevoked", ref))
    assert recorded.causationid == recorded.correlationid == revoked_event.correlationid


def consent_body(recipient: str, **changes: Any) -> dict[str, Any]:
    """A written consent as 42 CFR 2.31 has it: what, until when, signed when."""
    today = datetime.now(UTC).date()
    return {"recipient_ref": recipient, "purpose": "treatment_updates",
            "information": ["level_of_care", "admission_discharge"],
            "expires_at": str(today + timedelta(days=180)), "signed_at": str(today),
            "document_ref": "dms:consent-2026-0042", **changes}


def test_a_consent_records_what_may_be_disclosed_until_when_and_the_signed_form(
        service_client, event_tap: EventTap) -> None:
    with service_client("intake") as intake:
        created = intake.post("/referrals", json=REFERRAL).json()
        ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
        signed = datetime.now(UTC) - timedelta(hours=1)
        by_date = intake.post(f"/clients/{ref}/consents", json=consent_body(
            recipient, information=["level_of_care", "level_of_care"],
            signed_at=signed.isoformat(), expires_at="2099-06-30"))
        by_event = intake.post(f"/clients/{ref}/consents", json=consent_body(
            recipient, expires_at=None, expires_on="discharge", document_ref=None))
        recorded = event_tap.wait_for_count(of_type("ConsentRecorded", ref), 2)
    assert (by_date.status_code, by_event.status_code) == (201, 201), by_date.text
    consent = by_date.json()
    assert consent["information"] == ["level_of_care"]
    assert consent["expires_at"].startswith("2099-07-01T00:00:00")  # through June 30 (UTC)
    assert datetime.fromisoformat(consent["signed_at"]) == signed
    assert consent["document_ref"] == "dms:consent-2026-0042"
    assert (by_event.json()["expires_on"], by_event.json()["expires_at"]) == ("discharge", None)
    first, second = (event.data for event in recorded)
    assert (first["information"], first.get("expires_on")) == (["level_of_care"], None)
    assert datetime.fromisoformat(first["signed_at"]) == signed
    assert (second["expires_on"], second.get("expires_at")) == ("discharge", None)
    assert second["information"] == ["admission_discharge", "level_of_care"]
    assert all("document_ref" not in event for event in (first, second))  # stays in intake


def test_a_consent_missing_what_2_31_requires_is_refused_saying_what_without_echoing_it(
        service_client, event_tap: EventTap) -> None:
    future = str(date.today() + timedelta(days=3))
    with service_client("intake") as intake:
        created = intake.post("/referrals", json=REFERRAL).json()
        ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
        bodies = {
            "information": consent_body(recipient, information=[]),
            "no information": {k: v for k, v in consent_body(recipient).items()
                               if k != "information"},
            "an unknown kind": consent_body(recipient, information=["diagnosis_sud_history"]),
            "no signature date": {k: v for k, v in consent_body(recipient).items()
                                  if k != "signed_at"},
            "signed_at is in the future": consent_body(recipient, signed_at=future),
            "when it expires": consent_body(recipient, expires_at=None),
            "expires_at has passed": consent_body(recipient, expires_at="2020-01-31"),
            "an unknown event": consent_body(recipient, expires_at=None,
                                             expires_on="sobriety_day_99"),
            "a document ref with a name": consent_body(recipient,
                                                       document_ref="Ann Example scan.pdf"),
        }
        answers = {case: intake.post(f"/clients/{ref}/consents", json=body)
                   for case, body in bodies.items()}
        stored = intake.post(f"/clients/{ref}/consents", json=consent_body(recipient))
        event_tap.wait_for(of_type("ConsentRecorded", ref))
    assert {case: a.status_code for case, a in answers.items()} == dict.fromkeys(bodies, 422)
    said = {case: json.dumps(a.json()) for case, a in answers.items()}
    assert '"information"' in said["no information"] and "information" in said["information"]
    assert "signed_at" in said["no signature date"]
    assert "signed_at is in the future" in said["signed_at is in the future"]
    assert "an expiry is required (42 CFR 2.31(a)(6))" in said["when it expires"]
    assert "expires_at has passed" in said["expires_at has passed"]
    assert "expires_on" in said["an unknown event"] and "discharge" in said["an unknown event"]
    assert "document_ref" in said["a document ref with a name"]
    for echoed in ("diagnosis_sud_history", future, "2020-01-31", "sobriety_day_99", "Ann"):
        assert not any(echoed in text for text in said.values()), echoed
    assert stored.status_code == 201  # and only it was recorded
    assert len(event_tap.collected(of_type("ConsentRecorded", ref))) == 1


def test_family_relationships_are_codes_and_common_words_for_them_are_taken(
        service_client, event_tap: EventTap) -> None:
    contacts = [{"name": "Cy Example", "relationship": "Sister"},
                {"name": "Di Example", "relationship": "guardian"}]
    with service_client("intake") as intake:
        created = intake.post("/referrals", json={**REFERRAL, "family_contacts": contacts})
        refused = intake.post("/referrals", json={**REFERRAL, "family_contacts": [
            {"name": "Ed Example", "relationship": "my late husband's cousin"}]})
        event = event_tap.wait_for(of_type("ClientReferred", created.json()["client_ref"]))
    assert [c["relationship"] for c in created.json()["family_contacts"]] == [
        "sibling", "guardian"]
    assert [r["relationship"] for r in event.data["family_recipients"]] == [
        "sibling", "guardian"]
    assert refused.status_code == 422 and "relationship" in refused.text
    assert "cousin" not in refused.text and "spouse_partner" in refused.text


def test_a_known_client_referred_again_keeps_the_pseudonym_in_a_new_causal_chain(
        service_client, event_tap: EventTap) -> None:
    with service_client("intake") as intake:
        first = intake.post("/referrals", json=REFERRAL).json()
        again = intake.post(f"/clients/{first['client_ref']}/referrals", json={
            "site_id": "worcester", "referral_source": "self",
            "presenting_concerns": ["return of use"]})
        unknown = intake.post("/clients/c-nobody-at-all/referrals", json={
            "site_id": "boston", "referral_source": "self"})
        bad_site = intake.post(f"/clients/{first['client_ref']}/referrals", json={
            "site_id": "paris", "referral_source": "self"})
        events = [event_tap.wait_for(lambda e, rid=rid: str(e.id) == rid)
                  for rid in (first["referral_event_id"], again.json()["referral_event_id"])]
        identity = intake.get(f"/clients/{first['client_ref']}",
                              params={"purpose": "treatment"}).json()
    assert again.status_code == 201, again.text
    assert again.json()["client_ref"] == first["client_ref"]
    assert (unknown.status_code, bad_site.status_code) == (404, 422)
    second = events[1]
    assert (second.subject, second.siteid) == (first["client_ref"], "worcester")
    assert second.correlationid == second.id != events[0].id
    assert second.data["family_recipients"] == events[0].data["family_recipients"]
    assert (identity["first_name"], identity["site_id"]) == ("Ann", "worcester")
    assert "return of use" not in second.to_bytes().decode()


def test_a_consent_to_a_configured_payer_is_recorded_and_an_unknown_payer_refused(
        service_client, event_tap: EventTap) -> None:
    """A payer is a consent recipient as `payer-<code>` (config/placement.yaml `payers`), for
    payment and naming utilization review; no foreign key to the family contacts stands in the
    way, and a refusal names the rule, never the code sent."""
    payer = {"purpose": "payment", "information": ["utilization_review", "level_of_care"]}
    with service_client("intake") as intake:
        ref = intake.post("/referrals", json=REFERRAL).json()["client_ref"]
        unknown = intake.post(f"/clients/{ref}/consents",
                              json=consent_body("payer-w123456789", **payer))
        not_payment = intake.post(f"/clients/{ref}/consents",
                                  json=consent_body("payer-bcbs-ma"))
        accepted = intake.post(f"/clients/{ref}/consents",
                               json=consent_body("payer-bcbs-ma", **payer))
        assert accepted.status_code == 201, accepted.text
        recorded = event_tap.wait_for(of_type("ConsentRecorded", ref))
        revoked = intake.delete(f"/clients/{ref}/consents/{accepted.json()['consent_id']}")
        event_tap.wait_for(of_type("ConsentRevoked", ref))
    assert (unknown.status_code, not_payment.status_code, revoked.status_code) == (422, 422, 200)
    said = unknown.json()["detail"]
    assert "names no payer of this organization" in said and "bcbs-ma" in said
    assert "w123456789" not in json.dumps(unknown.json())
    assert "purpose 'payment'" in not_payment.json()["detail"]
    assert (recorded.data["recipient_ref"], recorded.data["purpose"],
            recorded.data["information"]) == (
        "payer-bcbs-ma", "payment", ["level_of_care", "utilization_review"])
    assert len(event_tap.collected(of_type("ConsentRecorded", ref))) == 1
