"""Utilization review in placement against the real broker and database: recording an
authorization (the number stays in placement, the recorder is the token), refusals that emit
nothing, the queue's site scope, and the daily check emitting each event once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from services.placement.ur_store import check_utilization
from tests.integration.placement.helpers import Client, Publish, admit
from tests.support import EventTap, bearer_for, of_type, principal

NURSE = principal("clinician", "boston", sub="nurse-31")
NUMBER = "BC-MARK-4471"


def authorization(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"payer_ref": "bcbs-ma", "level": "residential", "starts_on": str(today),
            "ends_on": str(today + timedelta(days=1)), "approved_days": 2,
            "authorization_number": NUMBER, **changes}


def refusals(placement: TestClient, ref: str) -> list[int]:
    today = datetime.now(UTC).date()
    as_nurse = bearer_for(placement, NURSE)
    bodies = [authorization(approved_sessions=4), authorization(approved_days=None),
              authorization(ends_on=str(today - timedelta(days=1))),
              authorization(level="detox"), authorization(site_id="atlantis"),
              authorization(next_review_on=str(today + timedelta(days=9))), authorization()]
    answers = [placement.post(f"/clients/{ref}/authorizations", headers=as_nurse, json=body)
               .status_code for body in bodies]
    answers.append(placement.post(f"/clients/{ref}/authorizations", json=authorization(
        authorization_number="other"), headers=bearer_for(
        placement, principal("clinician", "worcester"))).status_code)
    answers.append(placement.post(f"/clients/{ref}/authorizations", json=authorization(
        authorization_number="other"), headers=bearer_for(
        placement, principal("ops_viewer", "boston"))).status_code)
    return answers


def test_an_authorization_is_recorded_once_and_its_expiry_emitted_once(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("ur-one")
    with service_client("placement") as placement:
        admit(publish, event_tap, client, "residential")
        recorded = placement.post(f"/clients/{client.ref}/authorizations",
                                  headers=bearer_for(placement, NURSE), json=authorization())
        event = event_tap.wait_for(of_type("AuthorizationRecorded", client.ref))
        refused = refusals(placement, client.ref)
        member_id = placement.post(f"/clients/{client.ref}/authorizations",
                                   json=authorization(payer_ref="w998877665"))
        runtime = placement.app.state.runtime  # type: ignore[attr-defined]
        windows = runtime.deps.policy.utilization_review
        now = datetime.now(UTC)
        first = check_utilization(runtime.uow, windows, now)
        again = check_utilization(runtime.uow, windows, now + timedelta(minutes=5))
        expiring = event_tap.wait_for(of_type("AuthorizationExpiring", client.ref))
        here = placement.get("/ur/queue", headers=bearer_for(placement, NURSE)).json()
        elsewhere = placement.get("/ur/queue", headers=bearer_for(
            placement, principal("clinician", "worcester"))).json()
        hidden = placement.get("/ur/queue", params={"site_id": "boston"}, headers=bearer_for(
            placement, principal("clinician", "worcester")))
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert (body["authorization_number"], body["recorded_by"], body["site_id"]) == (
        NUMBER, "nurse-31", "boston")
    assert (event.data["authorization_id"], event.data["recorded_by"]) == (
        body["authorization_id"], "nurse-31")
    assert NUMBER not in event.to_bytes().decode()
    assert refused == [422, 422, 422, 422, 404, 422, 409, 404, 403]
    assert member_id.status_code == 422 and "w998877665" not in member_id.text
    assert len(event_tap.collected(of_type("AuthorizationRecorded", client.ref))) == 1
    assert [type(d.event).__name__ for d in first if d.key.startswith("expiring/")] == [
        "AuthorizationExpiring"]
    assert [d for d in again if d.key.startswith("expiring/")] == []
    assert (expiring.data["days_left"], expiring.causationid) == (1, event.causationid)
    assert [(i["client_ref"], i["ends_in_days"]) for i in here] == [(client.ref, 1)]
    assert elsewhere == [] and hidden.status_code == 404
