"""Intake against the real broker and database."""

import json

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
    assert event.data["family_recipients"][0]["relationship"] == "spouse"


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

        consent = intake.post(f"/clients/{ref}/consents", json={"recipient_ref": recipient})
        assert consent.status_code == 201
        consent_id = consent.json()["consent_id"]
        revoked = intake.delete(f"/clients/{ref}/consents/{consent_id}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert intake.delete(f"/clients/{ref}/consents/{consent_id}").status_code == 409
        assert intake.post(f"/clients/{ref}/consents",
                           json={"recipient_ref": "r-nobody00"}).status_code == 404
        recorded = event_tap.wait_for(of_type("ConsentRecorded", ref))
        revoked_event = event_tap.wait_for(of_type("ConsentRevoked", ref))
    assert recorded.causationid == recorded.correlationid == revoked_event.correlationid


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
