"""Reasons are codes and the actor is the token: a clinician's free-text note on a transition or
discharge stays in placement, readable by clinicians only, and every read is audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from services.placement.store import NoteReadRow
from tests.integration.placement.helpers import Client, Publish, admit, placement_events
from tests.support import EventTap, bearer_for, of_type, principal

NURSE = principal("clinician", "boston", sub="nurse-17")
STEP_NOTE = "Mother's house on Elm St is unsafe; sister Dora will host. MARK-step-5c1e"
LEAVE_NOTE = "Left for a job in Ohio, call 555 0199 for follow-up. MARK-leave-77ab"


def test_notes_stay_in_placement_and_every_read_of_them_is_audited(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("notes-one")
    with service_client("placement") as placement:
        as_nurse = bearer_for(placement, NURSE)
        admit(publish, event_tap, client, "php")
        stepped = placement.post(f"/clients/{client.ref}/transitions", headers=as_nurse, json={
            "to_level": "iop", "reason_code": "family_or_housing", "note": STEP_NOTE})
        left = placement.post(f"/clients/{client.ref}/discharge", headers=as_nurse, json={
            "disposition": "left_against_advice", "reason_code": "relocation",
            "note": LEAVE_NOTE})
        step = event_tap.wait_for(of_type("SteppedDown", client.ref))
        discharged = event_tap.wait_for(of_type("ClientDischarged", client.ref))
        read = placement.get(f"/clients/{client.ref}/notes", headers=as_nurse,
                             params={"purpose": "care_planning"})
        placement.get(f"/clients/{client.ref}/notes", headers=as_nurse)
        elsewhere = placement.get(f"/clients/{client.ref}/notes", headers=bearer_for(
            placement, principal("clinician", "worcester")))
        care_team = placement.get(f"/clients/{client.ref}/notes", headers=bearer_for(
            placement, principal("care_team", "boston")))
        with placement.app.state.runtime.uow.transaction() as tx:  # type: ignore[attr-defined]
            audit = [(row.client_ref, row.actor, row.purpose) for row in tx.session.exec(
                select(NoteReadRow).order_by(col(NoteReadRow.id))).all()]
    assert (stepped.status_code, left.status_code) == (200, 200), left.text
    assert (step.data["reason_code"], step.data["decided_by"]) == ("family_or_housing",
                                                                   "nurse-17")
    assert (discharged.data["reason"], discharged.data["decided_by"]) == ("relocation",
                                                                          "nurse-17")
    for event in placement_events(event_tap, client.ref):
        assert "MARK-" not in event.to_bytes().decode()
    assert [(n["about"], n["reason_code"], n["written_by"], n["note"], n["event_id"])
            for n in read.json()] == [
        ("transition", "family_or_housing", "nurse-17", STEP_NOTE, str(step.id)),
        ("discharge", "relocation", "nurse-17", LEAVE_NOTE, str(discharged.id))]
    assert elsewhere.status_code == 404 and care_team.status_code == 403
    assert audit == [(client.ref, "nurse-17", "care_planning"),
                     (client.ref, "nurse-17", "treatment")]


def test_the_retired_free_text_reason_is_refused_saying_what_to_send_without_echoing_it(
        service_client: Any, event_tap: EventTap, publish: Publish) -> None:
    client = Client("notes-two")
    with service_client("placement") as placement:
        admitted = admit(publish, event_tap, client, "php")
        moved = placement.post(f"/clients/{client.ref}/transitions", json={
            "to_level": "iop", "reason": "MARK-old-reason sister's divorce"})
        left = placement.post(f"/clients/{client.ref}/discharge", json={
            "disposition": "completed", "reason": "MARK-old-reason", "note": "MARK-note"})
        too_long = placement.post(f"/clients/{client.ref}/transitions", json={
            "to_level": "iop", "reason_code": "other", "note": "MARK-long " * 500})
    for refused in (moved, left, too_long):
        assert refused.status_code == 422 and "MARK-" not in refused.text
    [retired] = [e for e in moved.json()["detail"] if e["loc"] == ["body", "reason"]]
    assert "send 'reason_code'" in retired["msg"] and "'note'" in retired["msg"]
    assert placement_events(event_tap, client.ref) == [admitted]
