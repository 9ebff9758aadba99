"""Placement events through scheduling's real consumer path (tests/harness.py), on a real
SQLite unit of work (no broker)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from contracts import Envelope, LevelOfCare
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    DeclineReason,
    Disposition,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from contracts.events.assessment import RiskSeverity
from services.scheduling.app import SPEC
from services.scheduling.deps import SchedulingDeps
from services.scheduling.handlers import handlers
from services.scheduling.store import CareSession
from services.scheduling.templates import ScheduleConfig
from tests.harness import EventHarness, Outcome
from tests.unit.scheduling.conftest import placement_event

ADMITTED_AT = datetime(2031, 1, 6, 17, 0, tzinfo=UTC)
CLIENT = "c-0123456789abcdef"


class Scheduling:
    """The handlers as the runtime calls them: each event once, in its own transaction."""

    def __init__(self, events: EventHarness) -> None:
        self.events = events

    def consume(self, envelope: Envelope) -> list[Envelope]:
        fed = self.events.feed(envelope)
        assert fed.outcomes[0] in (Outcome.applied, Outcome.repeat)
        return fed.emitted

    def sessions(self) -> list[CareSession]:
        with self.events.uow.transaction() as tx:
            return list(tx.session.exec(select(CareSession).order_by(col(CareSession.starts_at))))


@pytest.fixture
def scheduling(tmp_path: Path, schedules: ScheduleConfig) -> Iterator[Scheduling]:
    with EventHarness(SPEC, database=f"sqlite:///{tmp_path / 'scheduling.db'}",
                      deps=SchedulingDeps(schedules=schedules)) as events:
        yield Scheduling(events)


def names(events: list[Envelope]) -> list[str]:
    return [e.event_name for e in events]


def step_up(at: datetime, admitted: Envelope) -> Envelope:
    return placement_event(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                     trigger=TransitionTrigger.risk_flag, reason="risk"),
                           at=at, episode_id=admitted.episodeid,
                           correlation_id=admitted.correlationid)


def test_an_admission_schedules_two_weeks_of_the_level(scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    [scheduled] = scheduling.consume(admitted)
    assert names([scheduled]) == ["SessionsScheduled"]
    assert scheduled.data["level"] == "iop" and len(scheduled.data["sessions"]) == 20
    assert (scheduled.causationid, scheduled.correlationid) == (admitted.id,
                                                                admitted.correlationid)
    assert (scheduled.episodeid, scheduled.siteid) == (admitted.episodeid, "boston")
    rows = scheduling.sessions()
    assert [r.session_id for r in rows] == [s["session_id"] for s in scheduled.data["sessions"]]
    assert {(r.status, r.level, r.scheduled_event_id) for r in rows} == {
        ("scheduled", "iop", scheduled.id)}
    assert {(r.episode_id, r.correlation_id) for r in rows} == {(admitted.episodeid,
                                                                 admitted.correlationid)}
    assert all(r.starts_at.tzinfo is not None for r in rows)  # read back as UTC, not naive


def test_a_step_up_cancels_what_is_to_come_then_schedules_the_new_level(
        scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    scheduling.consume(admitted)
    stepped = step_up(ADMITTED_AT + timedelta(days=3), admitted)
    cancelled, rescheduled = scheduling.consume(stepped)
    assert names([cancelled, rescheduled]) == ["SessionsCancelled", "SessionsScheduled"]
    iop_rows = [r for r in scheduling.sessions() if r.level == "iop"]
    to_come = [r.session_id for r in iop_rows if r.starts_at > stepped.time]
    assert list(cancelled.data["session_ids"]) == to_come and cancelled.data["reason"] == (
        "stepped_up")
    assert {r.status for r in iop_rows if r.session_id in to_come} == {"cancelled"}
    assert {r.status for r in iop_rows if r.session_id not in to_come} == {"scheduled"}
    assert rescheduled.data["level"] == "php" and rescheduled.data["weekly_hours"] >= 20
    for event in (cancelled, rescheduled):
        assert (event.causationid, event.correlationid) == (stepped.id, admitted.correlationid)
        assert event.episodeid == admitted.episodeid


def test_a_transfer_schedules_the_receiving_sites_week(scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    scheduling.consume(admitted)
    moved = placement_event(ClientTransferred(from_site="boston", to_site="worcester",
                                              level=LevelOfCare.iop, reason="closer to home"),
                            at=ADMITTED_AT + timedelta(days=1), site_id="worcester")
    _, rescheduled = scheduling.consume(moved)
    kinds_and_modalities = {(s["kind"], s.get("modality")) for s in rescheduled.data["sessions"]}
    assert ("group_therapy", "dbt") in kinds_and_modalities
    assert {r.site_id for r in scheduling.sessions() if r.status == "scheduled"
            and r.starts_at > moved.time} == {"worcester"}


def test_a_discharge_only_cancels_and_says_nothing_when_nothing_is_left(
        scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.aftercare), at=ADMITTED_AT)
    scheduling.consume(admitted)
    discharge = ClientDischarged(level=LevelOfCare.aftercare, disposition=Disposition.completed,
                                 los_days=1)
    [cancelled] = scheduling.consume(placement_event(discharge, at=ADMITTED_AT))
    assert names([cancelled]) == ["SessionsCancelled"] and cancelled.data["reason"] == (
        "discharged")
    assert {r.status for r in scheduling.sessions()} == {"cancelled"}
    assert scheduling.consume(placement_event(discharge, at=ADMITTED_AT)) == []


def test_a_cancelled_admission_cancels_the_sessions_to_come(scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    scheduling.consume(admitted)
    no_show = placement_event(
        AdmissionCancelled(level=LevelOfCare.iop, reason_code=CancellationReason.no_show,
                           admitted_at=ADMITTED_AT, admission_event_id=str(admitted.id)),
        at=ADMITTED_AT + timedelta(days=2), episode_id=admitted.episodeid,
        correlation_id=admitted.correlationid)
    [cancelled] = scheduling.consume(no_show)
    assert names([cancelled]) == ["SessionsCancelled"]
    assert cancelled.data["reason"] == "admission_cancelled"
    assert (cancelled.causationid, cancelled.episodeid) == (no_show.id, admitted.episodeid)
    to_come = {r.session_id for r in scheduling.sessions()
               if r.starts_at > no_show.time}
    assert set(cancelled.data["session_ids"]) == to_come
    assert {r.status for r in scheduling.sessions() if r.session_id in to_come} == {
        "cancelled"}


def test_a_step_to_another_site_schedules_that_sites_week_there(
        scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.php), at=ADMITTED_AT)
    scheduling.consume(admitted)
    across = placement_event(
        SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                    trigger=TransitionTrigger.manual, reason="closer to home",
                    from_site="boston", to_site="worcester"),
        at=ADMITTED_AT + timedelta(days=1), site_id="worcester",
        episode_id=admitted.episodeid, correlation_id=admitted.correlationid)
    cancelled, rescheduled = scheduling.consume(across)
    assert names([cancelled, rescheduled]) == ["SessionsCancelled", "SessionsScheduled"]
    assert cancelled.data["reason"] == "stepped_down"
    assert (rescheduled.siteid, rescheduled.data["level"]) == ("worcester", "iop")
    assert ("group_therapy", "dbt") in {(s["kind"], s.get("modality"))
                                        for s in rescheduled.data["sessions"]}
    to_come = [r for r in scheduling.sessions() if r.status == "scheduled"
               and r.starts_at > across.time]
    assert {(r.site_id, r.level) for r in to_come} == {("worcester", "iop")}


def test_proposals_declines_and_waitlist_exits_are_not_consumed() -> None:
    ignored = [
        StepUpProposed(proposal_id="p-1", flag_id="f-1", severity=RiskSeverity.high,
                       from_level=LevelOfCare.iop, to_level=LevelOfCare.php),
        StepUpDeclined(proposal_id="p-1", flag_id="f-1", level=LevelOfCare.iop,
                       reason_code=DeclineReason.managed_at_current_level),
        WaitlistExited(level=LevelOfCare.residential, site_id="boston",
                       reason_code=WaitlistExitReason.withdrew, waited_days=3),
    ]
    assert [handlers.get(type(data)) for data in ignored] == [None, None, None]


def test_a_redelivered_event_changes_nothing(scheduling: Scheduling) -> None:
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    scheduling.consume(admitted)
    assert scheduling.consume(admitted) == []
    assert len(scheduling.sessions()) == 20


def test_sessions_of_one_client_are_not_touched_by_anothers_move(
        scheduling: Scheduling) -> None:
    scheduling.consume(placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT,
                                       client_ref="c-other0000000001"))
    admitted = placement_event(ClientAdmitted(level=LevelOfCare.iop), at=ADMITTED_AT)
    scheduling.consume(admitted)
    scheduling.consume(step_up(ADMITTED_AT, admitted))
    others = [r for r in scheduling.sessions() if r.client_ref != CLIENT]
    assert len(others) == 20 and {r.status for r in others} == {"scheduled"}
