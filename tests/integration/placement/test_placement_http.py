"""Placement's HTTP API against the real broker and database: transitions, discharge, census
and capacity — and refusals that emit nothing and change nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.placement.helpers import Client, Publish, admit, placement_events
from tests.support import EventTap, of_type

BOSTON = {"residential": 12, "php": 16, "iop": 30, "aftercare": 200}


def refusals(service: TestClient, ref: str) -> list[tuple[int, str]]:
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/clients/{ref}/transitions",
         {"to_level": "residential", "kind": "step_down", "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions",
         {"to_level": "aftercare", "kind": "step_up", "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions", {"to_level": "iop", "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions", {"to_level": "php", "kind": "transfer",
                                                  "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions", {"to_level": "detox", "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions",
         {"to_level": "php", "to_site": "atlantis", "reason_code": "other"}),
        ("POST", f"/clients/{ref}/transitions", {"to_level": "php", "reason_code": "whim"}),
        ("POST", f"/clients/{ref}/transitions",
         {"to_level": "php", "reason_code": "other", "bed": 4}),
        ("POST", f"/clients/{ref}/discharge", {"disposition": "escaped"}),
        ("POST", "/clients/c-nobody-here/transitions",
         {"to_level": "php", "reason_code": "other"}),
        ("POST", "/clients/c-nobody-here/discharge", {"disposition": "completed"}),
        ("GET", "/clients/c-nobody-here/placement", None),
        ("GET", "/census?site_id=atlantis", None),
        ("PUT", "/sites/atlantis/capacity", BOSTON),
        ("PUT", "/sites/boston/capacity", {**BOSTON, "php": -1}),
        ("PUT", "/sites/boston/capacity", {"residential": 3}),
        ("GET", "/clients/NOT-a-ref/placement", None),  # malformed refs: 422, not 404
        ("POST", "/clients/c-x/discharge", {"disposition": "completed"}),
    ]
    answers = []
    for method, path, body in calls:
        response = service.request(method, path, json=body)
        answers.append((response.status_code, response.json()["detail"]))
    return answers


def test_impossible_moves_and_invalid_requests_are_refused_and_change_nothing(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("http-one")
    with service_client("placement") as placement:
        admitted = admit(publish, event_tap, client, "iop")
        before = placement.get(f"/clients/{client.ref}/placement").json()
        census_before = placement.get("/census").json()
        answers = refusals(placement, client.ref)
        assert placement.get(f"/clients/{client.ref}/placement").json() == before
        assert placement.get("/census").json() == census_before

        moved = placement.post(f"/clients/{client.ref}/transitions",
                               json={"to_level": "php", "reason_code": "capacity"})
        barrier = event_tap.wait_for(of_type("SteppedUp", client.ref))
    assert [status for status, _ in answers] == [
        409, 409, 409, 409, 422, 404, 422, 422, 422, 404, 404, 404, 404, 404, 422, 422, 422, 422]
    assert answers[0][1] == ("cannot step down from iop to residential: "
                             "residential is a more intensive level")
    assert "unknown site 'atlantis'" in answers[5][1]
    assert placement_events(event_tap, client.ref) == [admitted, barrier]
    assert len(event_tap.collected(of_type("CapacityChanged"))) == 2, "only the seeding"
    assert moved.json()["status"] == "moved"
    assert barrier.causationid == admitted.id, "caused by the latest event about the client"
    assert (barrier.data["trigger"], barrier.data["reason"], barrier.data["reason_code"],
            barrier.data["decided_by"]) == ("manual", "capacity", "capacity", "test-admin")


def test_transfer_iop_completion_and_discharge_over_http(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("http-two")
    with service_client("placement") as placement:
        admitted = admit(publish, event_tap, client, "iop")
        transfer = placement.post(f"/clients/{client.ref}/transitions", json={
            "to_level": "iop", "to_site": "worcester", "kind": "transfer",
            "reason_code": "closer_to_home"})
        assert transfer.status_code == 200, transfer.text
        assert transfer.json()["placement"]["site_id"] == "worcester"

        completed = placement.post(f"/clients/{client.ref}/discharge",
                                   json={"disposition": "completed", "reason_code": None})
        assert completed.json()["status"] == "moved"
        assert completed.json()["placement"]["level"] == "aftercare"

        legacy = placement.post(f"/clients/{client.ref}/discharge",
                                json={"disposition": "ama"})
        ended = placement.post(f"/clients/{client.ref}/discharge",
                               json={"disposition": "left_against_advice",
                                     "reason_code": "client_choice"})
        again = placement.post(f"/clients/{client.ref}/discharge",
                               json={"disposition": "left_against_advice"})
        after = placement.get(f"/clients/{client.ref}/placement").json()
        event_tap.wait_for(of_type("ClientDischarged", client.ref))
    events = placement_events(event_tap, client.ref)
    names = [e.event_name for e in events]
    assert names == ["ClientAdmitted", "ClientTransferred", "SteppedDown", "ClientDischarged"]
    moved, step, discharged = events[1:]
    assert (moved.data["from_site"], moved.data["to_site"], moved.siteid) == (
        "boston", "worcester", "worcester")
    assert (step.data["to_level"], step.data["trigger"]) == ("aftercare", "completion")
    assert discharged.data["level"] == "aftercare" and discharged.data["los_days"] >= 0
    assert (moved.data["reason_code"], step.data["reason_code"]) == ("closer_to_home",
                                                                     "completion")
    assert (discharged.data["reason"], discharged.data["reason_code"],
            discharged.data["decided_by"]) == ("client_choice", "client_choice", "test-admin")
    assert legacy.status_code == 422 and "use 'left_against_advice'" in legacy.text
    assert [e.causationid for e in events[1:]] == [e.id for e in events[:-1]]
    assert {e.episodeid for e in events} == {admitted.episodeid}
    assert ended.json()["status"] == "discharged"
    assert again.status_code == 409 and "not in care" in again.json()["detail"]
    assert (after["status"], after["episode_id"]) == ("discharged", str(admitted.episodeid))


def test_a_step_into_a_full_level_waits_and_raising_capacity_carries_it_out(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client, other = Client("http-three"), Client("http-four")
    with service_client("placement") as placement:
        full = placement.put("/sites/boston/capacity", json={**BOSTON, "residential": 0})
        assert full.status_code == 200
        admit(publish, event_tap, client, "php")
        admit(publish, event_tap, other, "php")
        asked = placement.post(f"/clients/{client.ref}/transitions",
                               json={"to_level": "residential",
                                     "reason_code": "clinical_deterioration"})
        waiting = event_tap.wait_for(of_type("PlacementWaitlisted", client.ref))

        raised = placement.put("/sites/boston/capacity",
                               json={**BOSTON, "residential": 1, "php": 0})
        step = event_tap.wait_for(of_type("SteppedUp", client.ref))
        now = placement.get(f"/clients/{client.ref}/placement").json()
    assert asked.json()["status"] == "waitlisted"
    assert asked.json()["placement"]["level"] == "php"
    assert asked.json()["placement"]["waitlisted_for"] == {
        "level": "residential", "site_id": "boston", "position": 1}
    assert waiting.data["current_level"] == "php"
    assert (step.data["from_waitlist"], step.causationid) == (True, waiting.id)
    assert (step.data["reason_code"], step.data["decided_by"]) == (
        "clinical_deterioration", "test-admin"), "kept while the move waited"
    rows = {row["level"]: row for row in raised.json()}
    assert (rows["residential"]["occupied"], rows["residential"]["waitlist"]) == (1, 0)
    assert (rows["php"]["occupied"], rows["php"]["over_capacity"]) == (1, True)
    assert not rows["iop"]["over_capacity"]
    assert (now["level"], now["status"]) == ("residential", "active")
    assert len(event_tap.collected(of_type("CapacityChanged"))) == 4


def test_census_is_per_site_and_level_in_order_of_intensity(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    with service_client("placement") as placement:
        admit(publish, event_tap, Client("http-five", "worcester"), "aftercare")
        rows = placement.get("/census", params={"site_id": "worcester"}).json()
    assert [row["level"] for row in rows] == ["residential", "php", "iop", "aftercare"]
    assert rows[3] == {"site_id": "worcester", "level": "aftercare", "occupied": 1,
                       "capacity": 150, "waitlist": 0, "over_capacity": False,
                       "held": 0, "free": 149}
