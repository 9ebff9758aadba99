"""Pure journey rules: what a placement event does, length of stay, event order, reports."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts import LevelOfCare as L
from contracts.events import (
    ClientDischarged,
    ClientTransferred,
    Disposition,
    PlacementWaitlisted,
    SteppedUp,
    TransitionTrigger,
)
from services.journey import domain, reports
from services.journey.domain import EpisodeStatus, MoveKind, Stay

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_step_up_ends_the_stay_and_starts_one_at_the_higher_level_at_the_same_site() -> None:
    change = domain.placement_change(
        SteppedUp(from_level=L.iop, to_level=L.php, trigger=TransitionTrigger.risk_flag,
                  reason="risk"), site_id=None, current=Stay("iop", "worcester"))
    assert change is not None
    assert change.ends_stay == "stepped_up" and change.starts == Stay("php", "worcester")
    assert change.move == domain.Move(MoveKind.stepped_up, "iop", "php", "worcester")
    assert change.leaves_waitlist


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
    assert change.status is EpisodeStatus.discharged and change.disposition == "ama"
    assert change.move is not None and change.move.to_level == domain.DISCHARGED


def test_waiting_for_a_step_up_does_not_demote_an_active_episode() -> None:
    change = domain.placement_change(
        PlacementWaitlisted(level=L.php, position=2, reason="full", current_level=L.iop),
        site_id="boston", current=Stay("iop", "boston"))
    assert change is not None and change.waitlists == Stay("php", "boston")
    assert domain.next_status("active", EpisodeStatus.waitlisted) == "active"
    assert domain.next_status(None, EpisodeStatus.waitlisted) == "waitlisted"
    assert domain.next_status("waitlisted", EpisodeStatus.active) == "active"


def test_length_of_stay_is_in_days_to_two_decimals_and_open_stays_count_to_now() -> None:
    assert domain.los_days(T, T + timedelta(days=14), T) == 14.0
    assert domain.los_days(T, T + timedelta(hours=30), T) == 1.25
    assert domain.los_days(T, None, T + timedelta(days=2, hours=12)) == 2.5


def test_naive_timestamps_from_the_database_are_read_as_utc() -> None:
    assert domain.as_utc(datetime(2026, 3, 1)) == T


@dataclass(frozen=True)
class Ev:
    id: str
    time: datetime
    causation_id: str | None


def test_events_are_ordered_by_time_and_causes_come_first_when_times_tie() -> None:
    referral = Ev("ref", T, None)
    assessed = Ev("ass", T + timedelta(hours=1), "ref")
    admitted = Ev("adm", T + timedelta(hours=1), "ass")  # emitted with its cause's time
    scheduled = Ev("sch", T + timedelta(hours=1), "adm")
    arrived = [scheduled, admitted, referral, assessed]  # as consumed from separate topics
    ordered = domain.in_journey_order(arrived)
    assert [e.id for e in ordered] == ["ref", "ass", "adm", "sch"]


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
