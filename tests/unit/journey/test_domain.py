"""Pure journey rules: what a placement event does, length of stay, event order, reports."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts import LevelOfCare as L
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientDischarged,
    ClientTransferred,
    Disposition,
    PlacementWaitlisted,
    SteppedDown,
    SteppedUp,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from services.journey import domain, reports, timeline
from services.journey.domain import EpisodeStatus, MoveKind, Stay

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_step_up_ends_the_stay_and_starts_one_at_the_higher_level_at_the_same_site() -> None:
    change = domain.placement_change(
        SteppedUp(from_level=L.iop, to_level=L.php, trigger=TransitionTrigger.risk_flag,
                  reason="risk"), site_id=None, current=Stay("iop", "worcester"))
    assert change is not None
    assert change.ends_stay == "stepped_up" and change.starts == Stay("php", "worcester")
    assert change.move == domain.Move(MoveKind.stepped_up, "iop", "php", "worcester",
                                      to_site="worcester")
    assert change.leaves_waitlist


def test_a_step_to_another_site_is_a_step_leaving_one_site_and_starting_at_the_other(
        ) -> None:
    change = domain.placement_change(
        SteppedDown(from_level=L.residential, to_level=L.php, from_site="boston",
                    to_site="worcester", trigger=TransitionTrigger.reassessment,
                    reason="closer to home"),
        site_id="worcester", current=Stay("residential", "boston"))
    assert change is not None
    assert change.ends_stay == "stepped_down" and change.starts == Stay("php", "worcester")
    assert change.move == domain.Move(MoveKind.stepped_down, "residential", "php", "boston",
                                      to_site="worcester")


def test_a_legacy_transfer_that_changed_level_counts_as_the_step_it_was() -> None:
    change = domain.placement_change(
        ClientTransferred(from_site="boston", to_site="worcester", level=L.iop, reason="home"),
        site_id="worcester", current=Stay("php", "boston"))
    assert change is not None
    assert change.ends_stay == "stepped_down" and change.starts == Stay("iop", "worcester")
    assert change.move == domain.Move(MoveKind.stepped_down, "php", "iop", "boston",
                                      to_site="worcester")


def test_a_transfer_keeps_the_level_moves_the_site_and_is_not_a_flow() -> None:
    change = domain.placement_change(
        ClientTransferred(from_site="boston", to_site="worcester", level=L.php, reason="home"),
        site_id="boston", current=Stay("php", "boston"))
    assert change is not None
    assert change.ends_stay == "transferred" and change.starts == Stay("php", "worcester")
    assert change.move is None


def test_discharge_closes_the_episode_with_its_disposition_and_counts_a_flow_out() -> None:
    change = domain.placement_change(
        ClientDischarged(level=L.residential, disposition=Disposition.ama, los_days=3),
        site_id="boston", current=Stay("residential", "boston"))
    assert change is not None and change.starts is None
    # a legacy value is kept as the TEDS-D disposition it means
    assert change.status is EpisodeStatus.discharged
    assert change.disposition == "left_against_advice"
    assert change.move is not None and change.move.to_level == domain.DISCHARGED
    assert change.move.disposition == "left_against_advice"


def test_dispositions_read_as_their_teds_values_and_unknown_ones_are_kept() -> None:
    assert domain.canonical_disposition("administrative") == "terminated_by_facility"
    assert domain.canonical_disposition("dropped_out") == "dropped_out"
    assert domain.canonical_disposition("moved_abroad") == "moved_abroad"
    assert domain.canonical_disposition(None) is None


def test_leaving_the_waitlist_before_admission_withdraws_the_episode_without_a_discharge(
        ) -> None:
    waiting = domain.placement_change(
        WaitlistExited(level=L.residential, site_id="boston",
                       reason_code=WaitlistExitReason.withdrew, waited_days=4),
        site_id="boston", current=None)
    assert waiting is not None and waiting.leaves_waitlist
    assert (waiting.status, waiting.move, waiting.ends_stay) == (
        EpisodeStatus.withdrawn, None, None)
    in_care = domain.placement_change(
        WaitlistExited(level=L.php, site_id="boston", in_care=True,
                       reason_code=WaitlistExitReason.no_longer_needed, waited_days=4),
        site_id="boston", current=Stay("iop", "boston"))
    assert in_care is not None and in_care.leaves_waitlist and in_care.status is None
    assert domain.next_status("active", EpisodeStatus.withdrawn) == "active"


def test_a_cancelled_admission_ends_its_segment_voids_its_move_and_the_episode() -> None:
    change = domain.placement_change(
        AdmissionCancelled(level=L.php, reason_code=CancellationReason.no_show,
                           admitted_at=T, admission_event_id="adm-1"),
        site_id="boston", current=Stay("php", "boston"))
    assert change is not None
    assert (change.ends_stay, change.status) == ("cancelled", EpisodeStatus.cancelled)
    assert change.voids_admission and change.admission_event_id == "adm-1"
    assert change.starts is None and change.move is None


def test_waiting_for_a_step_up_does_not_demote_an_active_episode() -> None:
    change = domain.placement_change(
        PlacementWaitlisted(level=L.php, position=2, reason="full", current_level=L.iop),
        site_id="boston", current=Stay("iop", "boston"))
    assert change is not None and change.waitlists == Stay("php", "boston")
    assert domain.next_status("active", EpisodeStatus.waitlisted) == "active"
    assert domain.next_status(None, EpisodeStatus.waitlisted) == "waitlisted"
    assert domain.next_status("waitlisted", EpisodeStatus.active) == "active"


def test_length_of_stay_is_in_days_to_two_decimals_and_open_stays_count_to_now() -> None:
    assert timeline.los_days(T, T + timedelta(days=14), T) == 14.0
    assert timeline.los_days(T, T + timedelta(hours=30), T) == 1.25
    assert timeline.los_days(T, None, T + timedelta(days=2, hours=12)) == 2.5


@dataclass(frozen=True)
class Seg:
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None


def test_an_episode_lasts_from_admission_to_discharge_and_a_cancelled_one_not_at_all(
        ) -> None:
    held = [Seg(T, T + timedelta(days=10), "stepped_down"),
            Seg(T + timedelta(days=10), T + timedelta(days=24), "discharged")]
    assert domain.episode_los_days(held, T + timedelta(days=99)) == 24.0
    going_on = [*held[:1], Seg(T + timedelta(days=10), None, None)]
    assert domain.episode_los_days(going_on, T + timedelta(days=12, hours=12)) == 12.5
    assert domain.episode_los_days([Seg(T, T + timedelta(days=2), "cancelled")], T) is None
    assert domain.episode_los_days([], T) is None


@dataclass(frozen=True)
class Ev:
    id: uuid.UUID
    time: datetime
    causation_id: uuid.UUID | None


def test_events_are_ordered_by_time_and_causes_come_first_when_times_tie() -> None:
    ref, ass, adm, sch = (uuid.uuid4() for _ in range(4))
    referral = Ev(ref, T, None)
    assessed = Ev(ass, T + timedelta(hours=1), ref)
    admitted = Ev(adm, T + timedelta(hours=1), ass)  # emitted with its cause's time
    scheduled = Ev(sch, T + timedelta(hours=1), adm)
    arrived = [scheduled, admitted, referral, assessed]  # as consumed from separate topics
    ordered = timeline.in_journey_order(arrived)
    assert [e.id for e in ordered] == [ref, ass, adm, sch]


def test_census_lists_every_level_of_every_site_from_most_to_least_intensive() -> None:
    rows = reports.census(sites={"worcester", "boston"}, occupied={("boston", "php"): 3},
                          waitlist={("boston", "residential"): 2},
                          capacity={("boston", "php"): 4})
    assert [(r.site_id, r.level) for r in rows][:5] == [
        ("boston", "residential"), ("boston", "php"), ("boston", "iop"),
        ("boston", "aftercare"), ("worcester", "residential")]
    php = rows[1]
    assert (php.occupied, php.capacity, php.waitlist, php.utilisation) == (3, 4, 0, 0.75)
    assert rows[0].waitlist == 2 and rows[0].capacity is None and rows[0].utilisation is None


def test_flows_read_from_referral_through_the_levels_to_discharge() -> None:
    pairs = [("aftercare", "discharged"), ("php", "iop"), ("referral", "residential"),
             ("iop", "php"), ("residential", "php")]
    assert sorted(pairs, key=lambda p: reports.flow_order(*p)) == [
        ("referral", "residential"), ("residential", "php"), ("php", "iop"), ("iop", "php"),
        ("aftercare", "discharged")]
