"""Expanding a level's week into two weeks of sessions, and what a move cancels."""

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carepath.errors import Conflict
from contracts import LevelOfCare
from contracts.events import (
    ClientAdmitted,
    ClientTransferred,
    SessionKind,
    SteppedDown,
    SteppedUp,
    TransitionTrigger,
)
from services.scheduling.domain import (
    SESSION_ID_NAMESPACE,
    Booking,
    Placement,
    Plan,
    SessionStatus,
    check_attendance_can_be_recorded,
    placement_after,
    plan_sessions,
    to_cancel,
)
from services.scheduling.templates import ScheduleConfig

EASTERN = ZoneInfo("America/New_York")
MONDAY_NOON = datetime(2031, 1, 6, 17, 0, tzinfo=UTC)  # 12:00 in Boston
SEED = uuid.UUID("00000000-0000-4000-8000-000000000001")


def plan(schedules: ScheduleConfig, level: LevelOfCare, site: str | None = "boston",
         after: datetime = MONDAY_NOON, seed: uuid.UUID = SEED) -> Plan:
    return plan_sessions(schedules.week_for(level, site), level=level, after=after,
                         zone=schedules.zone_for(site), weeks=schedules.horizon_weeks, seed=seed)


def local(moment: datetime) -> datetime:
    return moment.astimezone(EASTERN)


def test_iop_expands_to_two_weeks_from_the_next_day(schedules: ScheduleConfig) -> None:
    iop = plan(schedules, LevelOfCare.iop)
    assert local(iop.period_start) == datetime(2031, 1, 7, tzinfo=EASTERN)
    assert local(iop.period_end) == datetime(2031, 1, 21, tzinfo=EASTERN)
    assert Counter(s.kind for s in iop.sessions) == {
        SessionKind.group_therapy: 6, SessionKind.life_skills: 6,
        SessionKind.individual_therapy: 2, SessionKind.family_therapy: 2,
        SessionKind.medication_management: 2, SessionKind.case_management: 2}
    assert all(iop.period_start <= s.starts_at < iop.period_end for s in iop.sessions)
    assert [s.starts_at for s in iop.sessions] == sorted(s.starts_at for s in iop.sessions)
    assert iop.weekly_hours == pytest.approx(10.33)


def test_sessions_keep_their_days_local_times_and_durations(schedules: ScheduleConfig) -> None:
    groups = [s for s in plan(schedules, LevelOfCare.iop).sessions
              if s.kind is SessionKind.group_therapy]
    assert [local(s.starts_at).strftime("%a %d %H:%M") for s in groups] == [
        "Tue 07 18:00", "Thu 09 18:00", "Mon 13 18:00", "Tue 14 18:00", "Thu 16 18:00",
        "Mon 20 18:00"]
    assert {(s.duration_min, s.modality and s.modality.value) for s in groups} == {(90, "cbt")}


def test_a_late_evening_event_starts_the_plan_on_the_next_local_day(
        schedules: ScheduleConfig) -> None:
    late_monday = datetime(2031, 1, 7, 3, 30, tzinfo=UTC)  # Mon 22:30 in Boston
    assert local(plan(schedules, LevelOfCare.iop, after=late_monday).period_start).day == 7


def test_local_times_hold_across_daylight_saving(schedules: ScheduleConfig) -> None:
    iop = plan(schedules, LevelOfCare.iop, after=datetime(2031, 3, 3, 17, tzinfo=UTC))
    groups = [s for s in iop.sessions if s.kind is SessionKind.group_therapy]
    assert {local(s.starts_at).hour for s in groups} == {18}
    assert {s.starts_at.hour for s in groups} == {23, 22}  # EST then EDT


def test_residential_schedules_sessions_every_day(schedules: ScheduleConfig) -> None:
    residential = plan(schedules, LevelOfCare.residential)
    days = {local(s.starts_at).date() for s in residential.sessions}
    assert len(days) == 14


def test_a_site_override_replaces_only_its_level(schedules: ScheduleConfig) -> None:
    worcester = plan(schedules, LevelOfCare.iop, site="worcester")
    group_days = {local(s.starts_at).strftime("%a") for s in worcester.sessions
                  if s.kind is SessionKind.group_therapy}
    assert group_days == {"Mon", "Wed", "Fri"}
    assert {s.modality.value for s in worcester.sessions
            if s.kind is SessionKind.group_therapy and s.modality} == {"dbt"}
    assert plan(schedules, LevelOfCare.php, site="worcester") == plan(schedules, LevelOfCare.php)
    assert plan(schedules, LevelOfCare.iop, site=None) == plan(schedules, LevelOfCare.iop)


def test_the_same_event_always_gives_the_same_session_ids(schedules: ScheduleConfig) -> None:
    first, again = plan(schedules, LevelOfCare.iop), plan(schedules, LevelOfCare.iop)
    other = plan(schedules, LevelOfCare.iop, seed=uuid.uuid4())
    ids = [s.session_id for s in first.sessions]
    assert ids == [s.session_id for s in again.sessions] and len(set(ids)) == len(ids)
    assert not set(ids) & {s.session_id for s in other.sessions}


def test_session_ids_stay_the_name_based_uuids_of_the_event_and_index(
        schedules: ScheduleConfig) -> None:
    """Ids already stored and sent keep their meaning: uuid5(namespace, "<event id>/<index>")."""
    residential = plan(schedules, LevelOfCare.residential)
    assert [s.session_id for s in residential.sessions] == [
        str(uuid.uuid5(SESSION_ID_NAMESPACE, f"{SEED}/{index}"))
        for index in range(len(residential.sessions))]


def test_a_move_cancels_only_scheduled_sessions_still_to_come() -> None:
    moved = MONDAY_NOON
    bookings = [
        Booking("past", SessionStatus.scheduled, moved - timedelta(hours=1)),
        Booking("now", SessionStatus.scheduled, moved),
        Booking("later-b", SessionStatus.scheduled, moved + timedelta(days=2)),
        Booking("later-a", SessionStatus.scheduled, moved + timedelta(days=1)),
        Booking("attended-early", SessionStatus.attended, moved + timedelta(days=1)),
        Booking("gone", SessionStatus.cancelled, moved + timedelta(days=1)),
    ]
    assert to_cancel(bookings, moved_at=moved) == ["later-a", "later-b"]
    assert to_cancel([], moved_at=moved) == []


def test_each_placement_change_names_the_level_and_site_to_schedule() -> None:
    trigger, reason = TransitionTrigger.reassessment, "reassessed"
    admitted = ClientAdmitted(level=LevelOfCare.iop)
    up = SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php, trigger=trigger,
                   reason=reason)
    down = SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop, trigger=trigger,
                       reason=reason)
    transfer = ClientTransferred(from_site="boston", to_site="worcester", level=LevelOfCare.iop,
                                 reason="closer to home")
    assert placement_after(admitted, "boston") == Placement(LevelOfCare.iop, "boston")
    assert placement_after(up, "boston") == Placement(LevelOfCare.php, "boston")
    assert placement_after(down, None) == Placement(LevelOfCare.iop, None)
    assert placement_after(transfer, "boston") == Placement(LevelOfCare.iop, "worcester")


def test_a_step_that_changes_site_schedules_at_the_new_site() -> None:
    across = SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                         trigger=TransitionTrigger.manual, reason="closer to home",
                         from_site="boston", to_site="worcester")
    assert placement_after(across, "worcester") == Placement(LevelOfCare.iop, "worcester")
    assert placement_after(across, None) == Placement(LevelOfCare.iop, "worcester")


def test_attendance_is_recorded_once_and_never_for_a_cancelled_session() -> None:
    check_attendance_can_be_recorded("s-1", SessionStatus.scheduled)
    with pytest.raises(Conflict, match="cancelled"):
        check_attendance_can_be_recorded("s-1", SessionStatus.cancelled)
    with pytest.raises(Conflict, match="already recorded as 'missed'"):
        check_attendance_can_be_recorded("s-1", SessionStatus.missed)
