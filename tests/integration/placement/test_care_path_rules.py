"""Placement's care-path rules against the real broker and database: declining a proposal,
leaving a waitlist, arrival from attendance events, and the periodic no-show and dropped-out
checks (run here with a clock days ahead, as the worker would run them then)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Envelope, new_envelope
from contracts.events import AttendanceRecorded, AttendanceStatus, SessionKind
from services.placement.checks import check_overdue
from services.placement.domain import Overdue
from tests.integration.placement.helpers import (
    Client,
    Publish,
    admit,
    consumed,
    placement_events,
)
from tests.support import EventTap, of_type, wait_until


def attended(client: Client, admitted: Envelope) -> Envelope:
    data = AttendanceRecorded(session_id=f"s-{client.ref}", status=AttendanceStatus.attended,
                              kind=SessionKind.group_therapy, level=admitted.data["level"],
                              scheduled_at=admitted.time)
    return new_envelope(data, subject=client.ref, site_id=client.site_id,
                        episode_id=admitted.episodeid, correlation_id=client.root.id,
                        causation_id=admitted.id)


def test_a_clinician_declines_a_proposal_and_the_client_stays(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("declined-one")
    with service_client("placement") as placement:
        admit(publish, event_tap, client, "php")
        publish(client.flagged("high"))
        proposed = event_tap.wait_for(of_type("StepUpProposed", client.ref))
        proposal_id = proposed.data["proposal_id"]
        step_down = placement.post(f"/clients/{client.ref}/transitions",
                                   json={"to_level": "iop",
                                         "reason_code": "clinical_improvement"})
        bad = placement.post(f"/proposals/{proposal_id}/decline", json={"reason_code": "meh"})
        declined = placement.post(f"/proposals/{proposal_id}/decline",
                                  json={"reason_code": "managed_at_current_level"})
        twice = placement.post(f"/proposals/{proposal_id}/decline",
                               json={"reason_code": "other"})
        confirm_late = placement.post(f"/clients/{client.ref}/transitions", json={
            "to_level": "residential", "reason_code": "relapse_risk_confirmed",
            "proposal_id": proposal_id})
        missing = placement.post("/proposals/nope/decline", json={"reason_code": "other"})
        event = event_tap.wait_for(of_type("StepUpDeclined", client.ref))
        still = placement.get(f"/clients/{client.ref}/placement").json()
        open_now = placement.get("/proposals", params={"status": "open"}).json()
    assert step_down.status_code == 409 and "confirm or decline it first" in step_down.text
    assert bad.status_code == 422
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert twice.status_code == 409 and confirm_late.status_code == 409
    assert missing.status_code == 404
    assert (event.causationid, event.data["level"]) == (proposed.id, "php")
    assert event.data["decided_by"] == "test-admin"
    assert (still["level"], still["status"]) == ("php", "active")
    assert [p for p in open_now if p["client_ref"] == client.ref] == []


def test_waiting_people_exit_the_waitlist_and_are_never_discharged(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    waiting = Client("waits-then-leaves")
    with service_client("placement") as placement:
        placement.put("/sites/boston/capacity", json={
            "residential": 0, "php": 16, "iop": 30, "aftercare": 200})
        publish(waiting.assessed("residential"))
        listed = event_tap.wait_for(of_type("PlacementWaitlisted", waiting.ref))
        discharge = placement.post(f"/clients/{waiting.ref}/discharge",
                                   json={"disposition": "dropped_out"})
        left = placement.post(f"/clients/{waiting.ref}/waitlist/exit",
                              json={"reason_code": "referred_elsewhere"})
        again = placement.post(f"/clients/{waiting.ref}/waitlist/exit",
                               json={"reason_code": "withdrew"})
        exited = event_tap.wait_for(of_type("WaitlistExited", waiting.ref))
    assert (listed.data["site_id"], listed.data["priority"]) == ("boston", "standard")
    assert discharge.status_code == 409 and "waitlist/exit" in discharge.text
    assert left.status_code == 200, left.text
    assert left.json()["placement"]["status"] == "withdrawn"
    assert again.status_code == 409
    assert (exited.data["reason_code"], exited.data["in_care"]) == ("referred_elsewhere", False)
    assert exited.causationid == listed.id
    assert not [e for e in placement_events(event_tap, waiting.ref)
                if e.type.endswith("ClientDischarged.v1")]


def test_the_checks_cancel_a_no_show_and_discharge_a_client_who_stopped_coming(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    absent, present, next_in = Client("never-came"), Client("came-then-went"), Client("next-in")
    with service_client("placement") as placement:
        placement.put("/sites/boston/capacity", json={
            "residential": 1, "php": 16, "iop": 30, "aftercare": 200})
        no_show = admit(publish, event_tap, absent, "residential")
        came = admit(publish, event_tap, present, "iop")
        publish(next_in.assessed("residential"))
        event_tap.wait_for(of_type("PlacementWaitlisted", next_in.ref))
        publish(attended(present, came))
        runtime = placement.app.state.runtime  # type: ignore[attr-defined]
        policy = runtime.deps.policy

        wait_until(lambda: consumed(placement, AttendanceRecorded.type_name()) >= 1)
        acted = check_overdue(runtime.uow, policy, came.time + timedelta(days=3.5))
        cancelled = event_tap.wait_for(of_type("AdmissionCancelled", absent.ref))
        admitted_next = event_tap.wait_for(of_type("ClientAdmitted", next_in.ref))
        assert check_overdue(runtime.uow, policy, came.time + timedelta(days=3.5)) == []
        month = datetime.now(UTC) + timedelta(days=31)
        dropped = check_overdue(runtime.uow, policy, month)
        discharged = event_tap.wait_for(of_type("ClientDischarged", present.ref))
        states = {c.ref: placement.get(f"/clients/{c.ref}/placement").json()["status"]
                  for c in (absent, present, next_in)}
    assert (cancelled.data["reason_code"], cancelled.data["admission_event_id"]) == (
        "no_show", str(no_show.id))
    assert [(a.client_ref, a.overdue) for a in acted] == [(absent.ref, Overdue.no_show)]
    assert admitted_next.data["from_waitlist"] is True
    assert [(a.client_ref, a.overdue) for a in dropped] == [
        (present.ref, Overdue.dropped_out), (next_in.ref, Overdue.no_show)]
    assert (discharged.data["disposition"], discharged.data["teds_reason"],
            discharged.data["reason_code"], discharged.data.get("decided_by")) == (
        "dropped_out", 2, "no_contact", None)
    assert states == {absent.ref: "cancelled", present.ref: "discharged",
                      next_in.ref: "cancelled"}
