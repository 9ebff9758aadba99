"""Bed holds: a held bed counts against capacity until the client it names is admitted to it,
staff release it, or it expires; a bed given back goes to the waitlist."""

from datetime import timedelta

import pytest

from carepath.errors import CapacityExhausted, Conflict, InvalidInput
from contracts import LevelOfCare
from contracts.events import RiskSeverity
from services.placement.domain import EpisodeStatus, Place
from services.placement.holding import expire_due, hold_bed, release
from services.placement.holds import Hold, HoldRequest, HoldStatus
from services.placement.store import CensusLine
from tests.unit.placement.fakes import AUTOMATIC, World, assess, flag, world

L = LevelOfCare
RESIDENTIAL = Place("boston", L.residential)


def hold(w: World, place: Place = RESIDENTIAL, client_ref: str | None = None, *,
         arrives_in_h: float = 2, expires_in_h: float = 24) -> Hold:
    return hold_bed(w.placer(), HoldRequest(
        place=place, expected_arrival=w.now + timedelta(hours=arrives_in_h),
        expires_at=w.now + timedelta(hours=expires_in_h), client_ref=client_ref,
        held_by="intake-1"))


def released(w: World) -> list[tuple[str, str]]:
    return [(e.data["hold_id"], e.data["reason_code"]) for e in w.events("BedHoldReleased")]


def test_a_hold_on_the_last_bed_sends_the_next_client_to_the_waitlist() -> None:
    w = world(residential=2)
    assess(w, "c-first", L.residential)
    held = hold(w)
    assess(w, "c-second", L.residential)

    [event] = w.events("BedHeld")
    assert (event.subject, event.siteid) == ("site-boston", "boston")
    assert (event.data["hold_id"], event.data["for_client"], event.data["held_by"]) == (
        held.hold_id, False, "intake-1")
    assert w.episode("c-second").status is EpisodeStatus.waitlisted
    assert [e.client_ref for e in w.repo.waiting(RESIDENTIAL)] == ["c-second"]


def test_no_bed_can_be_held_where_none_is_free() -> None:
    w = world(residential=1)
    hold(w)
    with pytest.raises(CapacityExhausted, match="no free bed to hold in residential at "
                                                "boston: capacity 1, occupied 0, held 1"):
        hold(w)
    assert len(w.events("BedHeld")) == 1


@pytest.mark.parametrize(("arrives_in_h", "expires_in_h", "message"), [
    (-1, 24, "expected_arrival .* is in the past"),
    (0, -1, "expires_at .* is not in the future"),
    (12, 6, "expires_at .* is before expected_arrival"),
    (1, 15 * 24, "more than 14 days away"),
])
def test_a_hold_must_end_after_now_and_the_arrival_within_the_maximum(
        arrives_in_h: float, expires_in_h: float, message: str) -> None:
    w = world()
    with pytest.raises(InvalidInput, match=message):
        hold(w, arrives_in_h=arrives_in_h, expires_in_h=expires_in_h)
    assert w.events() == []


def test_an_expired_hold_frees_its_bed_for_the_waitlist_once() -> None:
    w = world(residential=1)
    held = hold(w, expires_in_h=6)
    assess(w, "c-waiting", L.residential)
    w.later(0.2)  # 4.8 h: not yet
    assert expire_due(w.placer()) == []
    w.later(0.1)

    assert [h.hold_id for h in expire_due(w.placer())] == [held.hold_id]
    assert released(w) == [(held.hold_id, "expired")]
    [admitted] = w.events("ClientAdmitted", "c-waiting")
    assert admitted.data["from_waitlist"] is True
    assert w.names()[-2:] == ["BedHoldReleased", "ClientAdmitted"]
    assert expire_due(w.placer()) == []
    assert len(w.events("BedHoldReleased")) == 1
    assert w.repo.hold(held.hold_id).status is HoldStatus.expired  # type: ignore[union-attr]


def test_the_client_a_bed_is_held_for_takes_it_though_the_place_looks_full() -> None:
    w = world(residential=2)
    assess(w, "c-first", L.residential)
    held = hold(w, client_ref="c-expected")
    assess(w, "c-other", L.residential)
    assess(w, "c-expected", L.residential)

    assert w.episode("c-other").status is EpisodeStatus.waitlisted
    assert w.episode("c-expected").place == RESIDENTIAL
    [admitted] = w.events("ClientAdmitted", "c-expected")
    [used] = w.events("BedHoldReleased")
    assert (used.subject, used.data["reason_code"], used.data.get("released_by")) == (
        "c-expected", "used", None)
    assert (used.causationid, used.episodeid) == (admitted.id, admitted.episodeid)
    assert w.repo.active_holds(RESIDENTIAL) == []
    assert w.repo.hold(held.hold_id).status is HoldStatus.used  # type: ignore[union-attr]
    [bed_held] = w.events("BedHeld")
    assert (bed_held.subject, bed_held.data["for_client"]) == ("c-expected", True)


def test_a_hold_for_nobody_in_particular_is_not_taken_by_the_next_admission() -> None:
    w = world(residential=2)
    held = hold(w)
    assess(w, "c-first", L.residential)
    assess(w, "c-second", L.residential)

    assert w.episode("c-first").place == RESIDENTIAL
    assert w.episode("c-second").status is EpisodeStatus.waitlisted
    assert [h.hold_id for h in w.repo.active_holds(RESIDENTIAL)] == [held.hold_id]
    assert w.events("BedHoldReleased") == []


def test_a_released_hold_gives_the_bed_to_the_waitlist_and_cannot_be_released_again() -> None:
    w = world(residential=1)
    held = hold(w, client_ref="c-expected")
    assess(w, "c-waiting", L.residential)
    ended = release(w.placer(), held, by="clinician-7")

    assert (ended.status, ended.ended_by) == (HoldStatus.released, "clinician-7")
    [event] = w.events("BedHoldReleased")
    assert (event.subject, event.data["reason_code"], event.data["released_by"]) == (
        "c-expected", "released", "clinician-7")
    assert w.episode("c-waiting").place == RESIDENTIAL
    again = w.repo.hold(held.hold_id)
    assert again is not None
    with pytest.raises(Conflict, match=f"hold {held.hold_id} already ended: released"):
        release(w.placer(), again, by="clinician-7")
    assert len(w.events("BedHoldReleased")) == 1


def test_a_hold_for_a_client_already_waiting_there_admits_them_at_once() -> None:
    w = world(residential=1)
    assess(w, "c-inside", L.residential)
    assess(w, "c-waiting", L.residential)
    w.repo.capacities[RESIDENTIAL] = 2  # a bed added without a fill, as if by hand
    held = hold(w, client_ref="c-waiting")

    assert held.status is HoldStatus.used
    assert w.episode("c-waiting").place == RESIDENTIAL
    assert released(w) == [(held.hold_id, "used")]


def test_a_step_up_of_the_client_a_bed_is_held_for_uses_the_hold() -> None:
    w = world(residential=1, policy=AUTOMATIC)
    assess(w, "c-php", L.php)
    held = hold(w, client_ref="c-php")
    assess(w, "c-other", L.residential)
    flag(w, "c-php", RiskSeverity.high)

    assert w.episode("c-php").place == RESIDENTIAL
    assert w.episode("c-other").status is EpisodeStatus.waitlisted
    [step] = w.events("SteppedUp", "c-php")
    [used] = w.events("BedHoldReleased")
    assert (used.data["hold_id"], used.data["reason_code"], used.causationid) == (
        held.hold_id, "used", step.id)


def test_one_bed_at_a_time_is_held_for_a_client_and_none_where_they_already_are() -> None:
    w = world(residential=3)
    hold(w, client_ref="c-expected")
    with pytest.raises(Conflict, match="a bed is already held for c-expected"):
        hold(w, client_ref="c-expected")
    assess(w, "c-inside", L.residential)
    with pytest.raises(Conflict, match="c-inside is already in residential at boston"):
        hold(w, client_ref="c-inside")


def test_the_census_counts_held_beds_and_never_shows_fewer_than_no_free_beds() -> None:
    line = CensusLine(site_id="boston", level=L.residential, occupied=2, capacity=4,
                      waitlist=0, held=1)
    over = CensusLine(site_id="boston", level=L.php, occupied=3, capacity=2, waitlist=1,
                      held=1)
    assert (line.free, over.free) == (1, 0)


def test_a_hold_in_the_clients_name_takes_over_an_anonymous_one_and_its_bed() -> None:
    w = world(residential=1)
    anonymous = hold(w)
    assess(w, "c-waiting", L.residential)
    named = hold_bed(w.placer(), HoldRequest(
        place=RESIDENTIAL, expected_arrival=w.now + timedelta(hours=1),
        expires_at=w.now + timedelta(hours=12), client_ref="c-arriving",
        held_by="intake-2"), replaces=anonymous)
    assert w.episode("c-waiting").status is EpisodeStatus.waitlisted
    assert [h.hold_id for h in w.repo.active_holds(RESIDENTIAL)] == [named.hold_id]
    assess(w, "c-arriving", L.residential)

    assert w.episode("c-arriving").place == RESIDENTIAL
    assert released(w) == [(anonymous.hold_id, "released"), (named.hold_id, "used")]
    assert w.events("BedHoldReleased")[0].data["released_by"] == "intake-2"
    assert w.names().count("ClientAdmitted") == 1


def test_only_an_active_hold_for_the_same_bed_can_be_replaced() -> None:
    w = world(residential=2, php=2)
    php = hold(w, Place("boston", L.php))
    request = HoldRequest(place=RESIDENTIAL, expected_arrival=w.now + timedelta(hours=1),
                          expires_at=w.now + timedelta(hours=12), client_ref="c-arriving")
    with pytest.raises(Conflict, match="is for php at boston, not residential at boston"):
        hold_bed(w.placer(), request, replaces=php)
    ended = release(w.placer(), hold(w), by="clinician-7")
    with pytest.raises(Conflict, match=r"already ended \(released\)"):
        hold_bed(w.placer(), request, replaces=ended)
    assert w.names() == ["BedHeld", "BedHeld", "BedHoldReleased"]
