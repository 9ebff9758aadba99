"""Interop's projection on an in-memory repository (fakes.py): a client's events as FHIR
resource rows, and placement's events as the ADT messages of the HL7 v2 feed."""

from __future__ import annotations

import uuid

from contracts import LevelOfCare as L
from contracts.consent import InformationCategory
from contracts.events import (
    AttendanceRecorded,
    AttendanceStatus,
    ConsentRecorded,
    ConsentRevoked,
    ScheduledSession,
    SessionKind,
    SessionsCancelled,
    SessionsScheduled,
)
from services.interop import hl7v2
from tests.unit.interop.fakes import fold
from tests.unit.journey.stories import ClientStory, capacity_changed, day


def _pv1(message: str) -> list[str]:
    return next(s for s in message.split("\r") if s.startswith("PV1|")).split("|")


def test_a_stay_goes_out_as_admit_transfers_and_discharge_in_order() -> None:
    story = ClientStory(site_id="boston")
    story.admitted(L.residential, 1)
    story.stepped_down(L.residential, L.php, 10)
    story.transferred("worcester", L.php, 15)
    story.discharged(L.php, 20)
    views = fold(*story.envelopes)

    assert views.triggers() == ["A01", "A02", "A02", "A03"]
    assert [m.control_id for m in views.adt] == [e.id.hex[:20] for e in story.envelopes]
    for message in views.adt:
        hl7v2.validate(message.message)
        assert hl7v2.patient_id(message.message) == story.client_ref
    transfer = _pv1(views.adt[2].message)
    assert (transfer[3], transfer[6]) == ("php^^^worcester", "php^^^boston")
    assert transfer[19].startswith(str(story.episode_id))
    encounters = views.encounters_of(story.episode_id)
    assert [(e.level, e.site_id, e.end_reason) for e in encounters] == [
        ("residential", "boston", "stepped_down"), ("php", "boston", "transferred"),
        ("php", "worcester", "discharged")]
    assert [e.encounter_id for e in encounters] == [e.id for e in story.envelopes[:3]]


def test_without_a_feed_the_same_resources_and_no_message() -> None:
    story = ClientStory()
    story.admitted(L.iop, 1)
    story.discharged(L.iop, 9)
    quiet, fed = fold(*story.envelopes, feed=False), fold(*story.envelopes)
    assert quiet.adt == []
    assert quiet.episodes == fed.episodes and quiet.encounters == fed.encounters


def test_the_wait_before_an_admission_is_in_the_episodes_status_history() -> None:
    story = ClientStory()
    story.waitlisted(L.residential, 1)
    story.admitted(L.residential, 3)
    views = fold(*story.envelopes)

    assert views.triggers() == ["A05", "A01"]
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.status, episode.status_since, episode.opened_at) == ("active", day(3), day(1))
    assert episode.history == [{"status": "waitlisted", "start": day(1).isoformat(),
                                "end": day(3).isoformat()}]
    assert (episode.last_updated, episode.event_id) == (day(3), story.envelopes[-1].id)

    fold(story.discharged(L.residential, 30), into=views)
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.status, episode.closed_at, episode.disposition) == (
        "discharged", day(30), "completed")
    assert [h["status"] for h in episode.history] == ["waitlisted", "active"]


def test_a_cancelled_admission_is_an_a11_and_the_episode_did_not_happen() -> None:
    story = ClientStory()
    admission = story.admitted(L.residential, 1)
    story.admission_cancelled(admission, 2)
    views = fold(*story.envelopes)

    assert views.triggers() == ["A01", "A11"]
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.status, episode.closed_at) == ("cancelled", day(2))
    [encounter] = views.encounters_of(story.episode_id)
    assert (encounter.ended_at, encounter.end_reason) == (day(2), "cancelled")


def test_a_second_discharge_keeps_the_first_close() -> None:
    story = ClientStory()
    story.admitted(L.iop, 1)
    story.discharged(L.iop, 10)
    story.discharged(L.iop, 12)
    [episode] = fold(*story.envelopes).episodes_of(story.client_ref)
    assert episode.closed_at == day(10)


def test_a_patient_is_first_seen_at_the_earliest_event_and_kept_at_the_latest_site() -> None:
    story = ClientStory(site_id="boston")
    late = story.admitted(L.iop, 5)
    story.site_id = "worcester"
    late_elsewhere = story.discharged(L.iop, 9)
    story.site_id = "springfield"
    early = story.waitlisted(L.iop, 1)
    views = fold(late, late_elsewhere, early)  # arrival order is not time order
    patient = views.patients[story.client_ref]
    assert (patient.first_seen, patient.site_id, patient.last_updated) == (
        day(1), "worcester", day(9))


def test_appointments_follow_scheduling_and_attendance() -> None:
    story = ClientStory()
    sessions = tuple(ScheduledSession(session_id=f"s-{i}", kind=SessionKind.group_therapy,
                                      starts_at=day(10 + i), duration_min=90)
                     for i in range(3))
    story.event(SessionsScheduled(level=L.iop, sessions=sessions, weekly_hours=9,
                                  period_start=day(10), period_end=day(17)), at=2)
    story.event(AttendanceRecorded(session_id="s-0", status=AttendanceStatus.attended,
                                   kind=SessionKind.group_therapy, level=L.iop,
                                   scheduled_at=day(10)), at=10)
    cancelled = story.event(SessionsCancelled(session_ids=("s-0", "s-1"), reason="moved"),
                            at=11)
    views = fold(*story.envelopes)
    rows = views.appointments
    assert {i: rows[i].status for i in rows} == {"s-0": "attended", "s-1": "cancelled",
                                                 "s-2": "scheduled"}
    assert (rows["s-1"].last_updated, rows["s-1"].event_id) == (day(11), cancelled.id)
    assert rows["s-0"].duration_min == 90


def test_a_consent_is_revoked_once() -> None:
    story = ClientStory()
    story.event(ConsentRecorded(consent_id="consent-one", recipient_ref="r-family",
                                purpose="treatment_updates",
                                information=(InformationCategory.level_of_care,)), at=1)
    story.event(ConsentRevoked(consent_id="consent-one", recipient_ref="r-family"), at=4)
    story.event(ConsentRevoked(consent_id="consent-one", recipient_ref="r-family"), at=6)
    consent = fold(*story.envelopes).consents["consent-one"]
    assert (consent.revoked_at, consent.recorded_at, consent.last_updated) == (
        day(4), day(1), day(4))


def test_a_sites_events_are_not_projected() -> None:
    views = fold(capacity_changed("boston", day(1), residential=4))
    assert views.patients == {} and views.adt == []


def test_a_placement_event_naming_an_unseen_episode_opens_it_under_its_own_id() -> None:
    story = ClientStory()
    story.stepped_down(L.php, L.iop, 3)  # interop joined mid-way
    views = fold(*story.envelopes)
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.episode_id, episode.status, episode.history) == (story.episode_id,
                                                                     "active", [])
    assert views.triggers() == ["A01"]  # nothing ended that interop saw
    assert uuid.UUID(_pv1(views.adt[0].message)[19].split("^")[0]) == story.episode_id
