"""Scheduling against the real broker and database: placement events in, session plans and
attendance out."""

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from contracts import Envelope, EventData, LevelOfCare, dlq_topic_for, new_envelope
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientAdmitted,
    DeclineReason,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from contracts.events.assessment import RiskSeverity
from tests.support import EventTap, of_type

ADMITTED_AT = datetime(2031, 1, 6, 17, 0, tzinfo=UTC)  # a Monday, noon in Boston
ServiceClient = Callable[..., AbstractContextManager[TestClient]]
Publish = Callable[..., None]


class Client:
    """One client's placement events, chained to a referral like placement would chain them."""

    def __init__(self) -> None:
        self.ref = f"c-{uuid.uuid4().hex[:16]}"
        self.referral_id = uuid.uuid4()
        self.episode_id = uuid.uuid4()
        self.last_id = self.referral_id

    def event(self, data: EventData, at: datetime) -> Envelope:
        envelope = new_envelope(data, subject=self.ref, site_id="boston",
                                episode_id=self.episode_id, correlation_id=self.referral_id,
                                causation_id=self.last_id, time=at)
        self.last_id = envelope.id
        return envelope


def admit(publish: Publish, tap: EventTap, client: Client,
          level: LevelOfCare = LevelOfCare.iop) -> Envelope:
    publish(client.event(ClientAdmitted(level=level), ADMITTED_AT))
    return tap.wait_for(of_type("SessionsScheduled", client.ref))


def sessions(api: TestClient, client: Client, **params: str) -> list[dict[str, Any]]:
    response = api.get(f"/clients/{client.ref}/sessions", params=params)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def test_an_admission_schedules_sessions_that_the_api_lists(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish) -> None:
    client = Client()
    with service_client("scheduling") as api:
        scheduled = admit(publish, event_tap, client)
        listed = sessions(api, client)
        assert sessions(api, Client()) == []
    assert scheduled.data["level"] == "iop" and 9 <= scheduled.data["weekly_hours"] <= 19
    assert (scheduled.causationid, scheduled.correlationid) == (client.last_id,
                                                                client.referral_id)
    assert (scheduled.episodeid, scheduled.siteid) == (client.episode_id, "boston")
    planned = scheduled.data["sessions"]
    assert [s["session_id"] for s in listed] == [s["session_id"] for s in planned]
    assert [s["starts_at"] for s in listed] == sorted(s["starts_at"] for s in listed)
    assert {(s["status"], s["level"]) for s in listed} == {("scheduled", "iop")}
    assert {s["kind"] for s in listed} >= {"group_therapy", "individual_therapy",
                                           "family_therapy", "medication_management",
                                           "life_skills", "case_management"}
    assert all(datetime.fromisoformat(s["starts_at"]) > ADMITTED_AT for s in listed)


def test_a_step_up_cancels_the_rest_of_iop_and_schedules_php(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish) -> None:
    client = Client()
    with service_client("scheduling") as api:
        admit(publish, event_tap, client)
        stepped = client.event(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                         trigger=TransitionTrigger.risk_flag,
                                         reason="relapse risk"),
                               ADMITTED_AT + timedelta(days=3))
        publish(stepped)
        cancelled = event_tap.wait_for(of_type("SessionsCancelled", client.ref))
        php = event_tap.wait_for(lambda e: of_type("SessionsScheduled", client.ref)(e)
                                 and e.data["level"] == "php")
        listed_cancelled = sessions(api, client, status="cancelled")
        listed_php = [s for s in sessions(api, client) if s["level"] == "php"]
        iop_kept = sessions(api, client, status="scheduled")
    for event in (cancelled, php):
        assert (event.causationid, event.correlationid) == (stepped.id, client.referral_id)
    assert [s["session_id"] for s in listed_cancelled] == list(cancelled.data["session_ids"])
    assert all(datetime.fromisoformat(s["starts_at"]) > stepped.time for s in listed_cancelled)
    assert [s["session_id"] for s in listed_php] == [s["session_id"]
                                                     for s in php.data["sessions"]]
    assert php.data["weekly_hours"] >= 20
    earlier_iop = [s for s in iop_kept if s["level"] == "iop"]
    assert earlier_iop and all(datetime.fromisoformat(s["starts_at"]) < stepped.time
                               for s in earlier_iop)


def test_attendance_is_recorded_and_caused_by_the_plan(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish) -> None:
    client = Client()
    with service_client("scheduling") as api:
        scheduled = admit(publish, event_tap, client)
        session = scheduled.data["sessions"][0]
        response = api.post(f"/sessions/{session['session_id']}/attendance",
                            json={"status": "missed"})
        assert response.status_code == 200, response.text
        recorded = event_tap.wait_for(of_type("AttendanceRecorded", client.ref))
        listed = sessions(api, client, status="missed")
    assert response.json()["status"] == "missed"
    assert recorded.data == {"session_id": session["session_id"], "status": "missed",
                             "kind": session["kind"], "level": "iop",
                             "scheduled_at": recorded.data["scheduled_at"]}
    assert datetime.fromisoformat(recorded.data["scheduled_at"]) == datetime.fromisoformat(
        session["starts_at"])
    assert (recorded.causationid, recorded.correlationid) == (scheduled.id, client.referral_id)
    assert (recorded.episodeid, recorded.siteid) == (client.episode_id, "boston")
    assert [s["session_id"] for s in listed] == [session["session_id"]]


def test_refused_attendance_changes_nothing(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish) -> None:
    client = Client()
    with service_client("scheduling") as api:
        first, second, third = admit(publish, event_tap, client).data["sessions"][:3]
        attend = f"/sessions/{first['session_id']}/attendance"
        assert api.post(attend, json={"status": "attended"}).status_code == 200
        before = sessions(api, client)

        again = api.post(attend, json={"status": "late"})
        assert again.status_code == 409 and "already recorded" in again.json()["detail"]
        unknown = api.post("/sessions/no-such-session/attendance", json={"status": "attended"})
        assert unknown.status_code == 404 and "no-such-session" in unknown.json()["detail"]
        for bad in ({"status": "cancelled"}, {"status": "present"}, {},
                    {"status": "attended", "note": "free text"}):
            assert api.post(f"/sessions/{second['session_id']}/attendance",
                            json=bad).status_code == 422
        assert api.get("/clients/not a ref/sessions").status_code == 422
        assert api.get(f"/clients/{client.ref}/sessions",
                       params={"status": "done"}).status_code == 422
        assert sessions(api, client) == before

        assert api.post(f"/sessions/{third['session_id']}/attendance",
                        json={"status": "excused"}).status_code == 200
        event_tap.wait_for(lambda e: of_type("AttendanceRecorded", client.ref)(e)
                           and e.data["session_id"] == third["session_id"])
    recorded = event_tap.collected(of_type("AttendanceRecorded", client.ref))
    assert [(e.data["session_id"], e.data["status"]) for e in recorded] == [
        (first["session_id"], "attended"), (third["session_id"], "excused")]


def test_attendance_for_a_cancelled_session_is_refused(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish) -> None:
    client = Client()
    with service_client("scheduling") as api:
        admit(publish, event_tap, client)
        publish(client.event(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                       trigger=TransitionTrigger.manual, reason="clinician"),
                             ADMITTED_AT))
        cancelled_id = event_tap.wait_for(
            of_type("SessionsCancelled", client.ref)).data["session_ids"][0]
        refused = api.post(f"/sessions/{cancelled_id}/attendance", json={"status": "attended"})
        assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]
        [row] = [s for s in sessions(api, client) if s["session_id"] == cancelled_id]
        php_session = sessions(api, client, status="scheduled")[0]["session_id"]
        assert api.post(f"/sessions/{php_session}/attendance",
                        json={"status": "late"}).status_code == 200
        event_tap.wait_for(of_type("AttendanceRecorded", client.ref))
    assert row["status"] == "cancelled"
    # Delivery is at least once: the tap may read one event twice (consumers dedupe by id).
    recorded = {e.id: e for e in event_tap.collected(of_type("AttendanceRecorded", client.ref))}
    assert [(e.data["session_id"], e.data["level"]) for e in recorded.values()] == [
        (php_session, "php")]


def test_a_no_show_cancels_what_is_to_come_and_decisions_pass_by_without_a_dead_letter(
        service_client: ServiceClient, event_tap: EventTap, publish: Publish,
        kafka_bootstrap: str) -> None:
    client = Client()
    dead = EventTap(kafka_bootstrap, topics=(dlq_topic_for("scheduling"),)).start()
    try:
        with service_client("scheduling") as api:
            admitted = admit(publish, event_tap, client)
            publish(*(client.event(data, ADMITTED_AT + timedelta(hours=1)) for data in (
                StepUpProposed(proposal_id="p-1", flag_id="f-1", severity=RiskSeverity.high,
                               from_level=LevelOfCare.iop, to_level=LevelOfCare.php),
                StepUpDeclined(proposal_id="p-1", flag_id="f-1", level=LevelOfCare.iop,
                               reason_code=DeclineReason.managed_at_current_level),
                WaitlistExited(level=LevelOfCare.php, site_id="boston", in_care=True,
                               reason_code=WaitlistExitReason.no_longer_needed,
                               waited_days=0))))
            no_show = client.event(AdmissionCancelled(
                level=LevelOfCare.iop, reason_code=CancellationReason.no_show,
                admitted_at=ADMITTED_AT), ADMITTED_AT + timedelta(days=2))
            publish(no_show)
            cancelled = event_tap.wait_for(of_type("SessionsCancelled", client.ref))
            still_scheduled = sessions(api, client, status="scheduled")
        letters = dead.collected(lambda e: e.subject == client.ref)
    finally:
        dead.stop()
    assert cancelled.causationid == no_show.id
    assert cancelled.data["reason"] == "admission_cancelled"
    planned = {s["session_id"]: s["starts_at"] for s in admitted.data["sessions"]}
    assert set(cancelled.data["session_ids"]) == {
        sid for sid, at in planned.items() if datetime.fromisoformat(at) > no_show.time}
    assert all(datetime.fromisoformat(s["starts_at"]) < no_show.time for s in still_scheduled)
    assert letters == []
    assert len(event_tap.collected(of_type("SessionsScheduled", client.ref))) == 1
