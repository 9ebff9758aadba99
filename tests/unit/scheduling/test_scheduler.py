"""The Scheduler on in-memory sessions (no SQL): what a move cancels and schedules, and when
attendance is recorded, with the events each emits and what they are caused by."""

from datetime import UTC, datetime, timedelta

import pytest

from carepath.errors import Conflict, NotFound
from contracts import CausalLink, Envelope, LevelOfCare
from contracts.events import (
    AttendanceStatus,
    ClientAdmitted,
    ClientDischarged,
    Disposition,
    SteppedUp,
    TransitionTrigger,
)
from services.scheduling.domain import SessionStatus
from services.scheduling.scheduler import Scheduler
from services.scheduling.templates import ScheduleConfig
from tests.support import ADMIN, FakeOutbox, principal
from tests.unit.scheduling.conftest import placement_event
from tests.unit.scheduling.fakes import FakeSessions

ADMITTED_AT = datetime(2031, 1, 6, 17, 0, tzinfo=UTC)
CLIENT = "c-0123456789abcdef"


class World:
    def __init__(self, schedules: ScheduleConfig) -> None:
        self.schedules = schedules
        self.sessions = FakeSessions()
        self.outbox = FakeOutbox()
        self.scheduler = Scheduler(repo=self.sessions, outbox=self.outbox)

    def admit(self, level: LevelOfCare = LevelOfCare.iop) -> Envelope:
        admission = ClientAdmitted(level=level)
        admitted = placement_event(admission, at=ADMITTED_AT)
        self.scheduler.reschedule(admission, admitted, self.schedules)
        return admitted

    def names(self) -> list[str]:
        return [e.event_name for e in self.outbox.emitted]


@pytest.fixture
def world(schedules: ScheduleConfig) -> World:
    return World(schedules)


def test_an_admission_schedules_sessions_caused_by_it_and_stores_what_caused_them(
        world: World) -> None:
    admitted = world.admit()
    [scheduled] = world.outbox.emitted
    assert world.names() == ["SessionsScheduled"]
    assert (scheduled.causationid, scheduled.correlationid, scheduled.episodeid) == (
        admitted.id, admitted.correlationid, admitted.episodeid)
    rows = world.sessions.of(CLIENT)
    assert [r.session_id for r in rows] == [s["session_id"] for s in scheduled.data["sessions"]]
    assert {(r.status, r.level, r.site_id, r.episode_id) for r in rows} == {
        ("scheduled", "iop", "boston", admitted.episodeid)}
    assert {CausalLink(event_id=r.scheduled_event_id, correlation_id=r.correlation_id)
            for r in rows} == {CausalLink.of(scheduled)}


def test_a_step_up_cancels_only_what_is_to_come_then_schedules_the_new_level(
        world: World) -> None:
    admitted = world.admit()
    step = SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                     trigger=TransitionTrigger.risk_flag, reason="risk")
    stepped = placement_event(step, at=ADMITTED_AT + timedelta(days=3),
                              episode_id=admitted.episodeid,
                              correlation_id=admitted.correlationid)
    world.scheduler.reschedule(step, stepped, world.schedules)
    _, cancelled, rescheduled = world.outbox.emitted
    assert world.names() == ["SessionsScheduled", "SessionsCancelled", "SessionsScheduled"]
    iop = [r for r in world.sessions.of(CLIENT) if r.level == "iop"]
    assert list(cancelled.data["session_ids"]) == [r.session_id for r in iop
                                                   if r.starts_at > stepped.time]
    assert {r.status for r in iop if r.starts_at > stepped.time} == {"cancelled"}
    assert {r.status for r in iop if r.starts_at <= stepped.time} == {"scheduled"}
    assert cancelled.data["reason"] == "stepped_up" and rescheduled.data["level"] == "php"
    assert {e.causationid for e in (cancelled, rescheduled)} == {stepped.id}


def test_leaving_with_nothing_to_come_cancels_nothing_and_says_nothing(world: World) -> None:
    world.admit(LevelOfCare.aftercare)
    gone = placement_event(ClientDischarged(level=LevelOfCare.aftercare,
                                            disposition=Disposition.completed, los_days=30),
                           at=ADMITTED_AT + timedelta(days=60))
    assert world.scheduler.cancel_to_come(gone, "discharged") == []
    assert world.names() == ["SessionsScheduled"]


def test_attendance_is_recorded_once_and_caused_by_the_plan(world: World) -> None:
    admitted = world.admit()
    [scheduled] = world.outbox.emitted
    first = world.sessions.of(CLIENT)[0]
    now = ADMITTED_AT + timedelta(days=1)
    row = world.scheduler.record_attendance(first.session_id, AttendanceStatus.late,
                                            principal=ADMIN, now=now)
    assert (row.status, row.attendance_recorded_at) == ("late", now)
    assert world.sessions.of(CLIENT, SessionStatus.late) == [row]
    recorded = world.outbox.emitted[-1]
    assert recorded.data == {"session_id": first.session_id, "status": "late",
                             "kind": first.kind, "level": "iop",
                             "scheduled_at": recorded.data["scheduled_at"]}
    assert datetime.fromisoformat(recorded.data["scheduled_at"]) == first.starts_at
    assert (recorded.causationid, recorded.correlationid) == (scheduled.id,
                                                              admitted.correlationid)
    assert (recorded.subject, recorded.siteid, recorded.episodeid, recorded.time) == (
        CLIENT, "boston", admitted.episodeid, now)
    with pytest.raises(Conflict, match="already recorded as 'late'"):
        world.scheduler.record_attendance(first.session_id, AttendanceStatus.attended,
                                          principal=ADMIN, now=now)


def test_attendance_is_refused_for_a_cancelled_an_unknown_or_an_unseen_session(
        world: World) -> None:
    world.admit()
    first, last = world.sessions.of(CLIENT)[0], world.sessions.of(CLIENT)[-1]
    world.scheduler.cancel_to_come(placement_event(
        ClientDischarged(level=LevelOfCare.iop, disposition=Disposition.completed, los_days=1),
        at=first.starts_at), "discharged")
    emitted = len(world.outbox.emitted)
    with pytest.raises(Conflict, match="was cancelled"):
        world.scheduler.record_attendance(last.session_id, AttendanceStatus.attended,
                                          principal=ADMIN, now=ADMITTED_AT)
    with pytest.raises(NotFound, match="no session 'no-such-session'"):
        world.scheduler.record_attendance("no-such-session", AttendanceStatus.attended,
                                          principal=ADMIN, now=ADMITTED_AT)
    with pytest.raises(NotFound, match=f"no session '{first.session_id}'"):
        world.scheduler.record_attendance(first.session_id, AttendanceStatus.attended,
                                          principal=principal("clinician", "worcester"),
                                          now=ADMITTED_AT)
    assert len(world.outbox.emitted) == emitted
    assert world.sessions.of(CLIENT)[0].status == "scheduled"
