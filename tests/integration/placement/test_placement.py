"""Placement against the real broker and database: assessments and risk flags in, placement
events out; capacity seeding; dead letters."""

from __future__ import annotations

from typing import Any

from contracts import dlq_topic_for
from contracts.events import RelapseRiskFlagged
from tests.integration.placement.helpers import (
    Client,
    Publish,
    admit,
    census,
    consumed,
    placement_events,
)
from tests.support import EventTap, of_type, wait_until


def test_capacity_is_seeded_from_sites_yaml_and_announced_once_per_site(
        service_client: Any, event_tap: EventTap) -> None:
    with service_client("placement") as placement:
        announced = event_tap.wait_for_count(of_type("CapacityChanged"), 2)
        rows = placement.get("/census").json()
    assert {e.subject for e in announced} == {"site-boston", "site-worcester"}
    boston = next(e for e in announced if e.siteid == "boston")
    assert boston.data["capacity"] == {"residential": 12, "php": 16, "iop": 30,
                                       "aftercare": 200}
    assert boston.causationid is None and boston.episodeid is None
    assert [(r["site_id"], r["level"]) for r in rows[:4]] == [
        ("boston", "residential"), ("boston", "php"), ("boston", "iop"), ("boston", "aftercare")]
    assert {r["site_id"] for r in rows} == {"boston", "worcester"}
    assert all(r["occupied"] == 0 and r["waitlist"] == 0 for r in rows)


def test_a_third_admission_waits_for_a_full_residential_and_gets_the_freed_bed(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    one, two, three = (Client(n, "worcester") for n in ("cap-one", "cap-two", "cap-three"))
    with service_client("placement") as placement:
        slots = {"residential": 2, "php": 12, "iop": 24, "aftercare": 150}
        assert placement.put("/sites/worcester/capacity", json=slots).status_code == 200
        admit(publish, event_tap, one, "residential")
        admit(publish, event_tap, two, "residential")
        publish(three.assessed("residential"))
        waitlisted = event_tap.wait_for(of_type("PlacementWaitlisted", three.ref))
        assert (waitlisted.data["position"], waitlisted.siteid) == (1, "worcester")
        waiting = placement.get(f"/clients/{three.ref}/placement").json()
        assert waiting["status"] == "waitlisted"
        assert waiting["waitlisted_for"] == {"level": "residential", "site_id": "worcester",
                                             "position": 1}
        row = census(placement, "worcester")["residential"]
        assert (row["occupied"], row["capacity"], row["waitlist"]) == (2, 2, 1)

        publish(one.assessed("php", kind="reassessment"))
        event_tap.wait_for(of_type("SteppedDown", one.ref))
        admitted = event_tap.wait_for(of_type("ClientAdmitted", three.ref))
        now = placement.get(f"/clients/{three.ref}/placement").json()
    assert admitted.data["from_waitlist"] is True
    assert admitted.causationid == waitlisted.id and admitted.correlationid == three.root.id
    assert admitted.episodeid == waitlisted.episodeid
    assert (now["status"], now["level"], now.get("waitlisted_for")) == (
        "active", "residential", None)


def test_relapse_risk_proposes_a_step_up_a_clinician_confirms_and_unknown_clients_are_ignored(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client, ghost = Client("risky-one"), Client("never-admitted")
    with service_client("placement") as placement:
        admitted = admit(publish, event_tap, client, "iop")
        high = client.flagged("high")
        publish(high)
        proposed = event_tap.wait_for(of_type("StepUpProposed", client.ref))
        urgent = event_tap.wait_for(of_type("ReassessmentRequested", client.ref))
        [open_one] = placement.get("/proposals", params={"status": "open"}).json()
        confirmed = placement.post(f"/clients/{client.ref}/transitions", json={
            "to_level": "php", "reason_code": "relapse_risk_confirmed",
            "proposal_id": open_one["proposal_id"]})
        step = event_tap.wait_for(of_type("SteppedUp", client.ref))
        moderate = client.flagged("moderate")
        publish(moderate, ghost.flagged("high"))
        request = event_tap.wait_for(lambda e: of_type("ReassessmentRequested", client.ref)(e)
                                     and e.causationid == moderate.id)
        wait_until(lambda: consumed(placement, RelapseRiskFlagged.type_name()) >= 3)
        assert placement.get(f"/clients/{ghost.ref}/placement").status_code == 404
        after = placement.get("/proposals").json()
    assert (proposed.causationid, proposed.data["flag_id"]) == (high.id, high.data["flag_id"])
    assert (urgent.data["urgent"], urgent.causationid) == (True, proposed.id)
    assert open_one == {**open_one, "client_ref": client.ref, "site_id": "boston",
                        "from_level": "iop", "to_level": "php", "status": "open",
                        "flag_id": high.data["flag_id"]}
    assert confirmed.status_code == 200, confirmed.text
    assert (step.data["from_level"], step.data["to_level"], step.data["trigger"]) == (
        "iop", "php", "risk_flag")
    assert step.data["proposal_id"] == open_one["proposal_id"]
    assert (step.data["reason"], step.data["decided_by"]) == ("relapse_risk_confirmed",
                                                              "test-admin")
    assert step.causationid == proposed.id and step.episodeid == admitted.episodeid
    assert [p["status"] for p in after] == ["confirmed"]
    assert (request.data["flag_id"], request.data["reason"], request.data["reason_code"]) == (
        moderate.data["flag_id"], "moderate_risk_flag", "moderate_risk_flag")
    assert request.data["current_level"] == "php" and request.data["urgent"] is False
    assert placement_events(event_tap, ghost.ref) == []


def test_an_admission_at_an_unknown_site_is_dead_lettered_with_the_reason(
        service_client: Any, event_tap: EventTap, publish: Publish,
        kafka_bootstrap: str) -> None:
    lost = Client("lost-one", site_id="atlantis")
    dead = EventTap(kafka_bootstrap, topics=(dlq_topic_for("placement"),)).start()
    try:
        with service_client("placement"):
            publish(lost.assessed("php"))
            dead.wait_for(lambda e: e.subject == lost.ref)
        [headers] = dead.headers_of()
    finally:
        dead.stop()
    assert headers["carepath.dlq.error_class"] == "InvalidTransition"
    assert "unknown site 'atlantis'" in headers["carepath.dlq.reason"]
    assert placement_events(event_tap, lost.ref) == []
