"""The waitlist: full places make clients wait, freed slots admit them by priority class and
then FIFO, in their own causal chain; people leave it unplaced, and no-shows free their slot."""

import pytest

from carepath.errors import Conflict
from contracts import LevelOfCare
from contracts.events import (
    Disposition,
    PriorityPopulation,
    RiskSeverity,
    TransitionReason,
    WaitlistExitReason,
)
from services.placement.domain import EpisodeStatus, Place, move_for_request
from services.placement.moves import Outcome
from tests.unit.placement.fakes import AUTOMATIC, PRIORITY, assess, discharge, flag, world

L = LevelOfCare


def test_a_full_level_waitlists_and_admits_when_someone_steps_down() -> None:
    w = world(residential=2)
    assess(w, "c-one", L.residential)
    assess(w, "c-two", L.residential)
    assess(w, "c-three", L.residential)
    [waitlisted] = w.events("PlacementWaitlisted")
    assert (waitlisted.subject, waitlisted.data["position"]) == ("c-three", 1)
    assert (waitlisted.data["reason"], waitlisted.data["reason_code"]) == (
        "no_capacity", "no_capacity")
    assert w.episode("c-three").status is EpisodeStatus.waitlisted

    assess(w, "c-one", L.php)
    assert w.names()[-2:] == ["SteppedDown", "ClientAdmitted"]
    admitted = w.events("ClientAdmitted", "c-three")[0]
    assert admitted.data["from_waitlist"] is True
    assert admitted.causationid == waitlisted.id, "caused by the client's own chain"
    assert admitted.correlationid == w.root("c-three").correlation_id
    assert admitted.episodeid == waitlisted.episodeid
    assert w.episode("c-three").place == Place("boston", L.residential)


def test_the_waitlist_is_first_in_first_out() -> None:
    w = world(php=1)
    for ref in ("c-first", "c-second", "c-third", "c-fourth"):
        assess(w, ref, L.php)
    positions = [e.data["position"] for e in w.events("PlacementWaitlisted")]
    assert positions == [1, 2, 3]

    discharge(w, "c-first", Disposition.left_against_advice)
    assert [e.subject for e in w.events("ClientAdmitted")] == ["c-first", "c-second"]
    assert [e.client_ref for e in w.repo.waiting(Place("boston", L.php))] == [
        "c-third", "c-fourth"]


def test_a_step_up_into_a_full_level_waits_where_the_client_is_until_a_bed_frees() -> None:
    w = world(residential=1, policy=AUTOMATIC)
    assess(w, "c-res", L.residential)
    assess(w, "c-iop", L.php)
    flag(w, "c-iop", RiskSeverity.high)
    waiting = w.events("PlacementWaitlisted", "c-iop")[0]
    assert (waiting.data["level"], waiting.data["current_level"]) == ("residential", "php")
    assert w.episode("c-iop").level is L.php

    discharge(w, "c-res", Disposition.completed)
    [step] = w.events("SteppedUp", "c-iop")
    assert (step.data["from_level"], step.data["to_level"]) == ("php", "residential")
    assert (step.data["trigger"], step.data["from_waitlist"]) == ("risk_flag", True)
    assert step.causationid == waiting.id


def test_a_freed_slot_cascades_through_the_waitlists() -> None:
    w = world(residential=1, php=1, policy=AUTOMATIC)
    assess(w, "c-alpha", L.residential)
    assess(w, "c-bravo", L.php)
    assess(w, "c-charlie", L.php)
    flag(w, "c-bravo", RiskSeverity.high)
    discharge(w, "c-alpha", Disposition.terminated_by_facility)
    assert w.names()[-3:] == ["ClientDischarged", "SteppedUp", "ClientAdmitted"]
    assert w.episode("c-bravo").level is L.residential
    assert w.episode("c-charlie").place == Place("boston", L.php)


def test_a_transfer_to_a_full_site_waits_and_happens_when_capacity_is_raised() -> None:
    w = world(iop=5)
    w.repo.capacities |= {Place("worcester", level): 0 for level in L}
    assess(w, "c-mover", L.iop)
    episode = w.episode("c-mover")
    move = move_for_request(episode, to_level=L.iop, to_site="worcester", kind=None,
                            reason=TransitionReason.closer_to_home, decided_by="dr-who")
    assert w.placer().move(episode, move, w.repo.chains["c-mover"]) is Outcome.waitlisted
    assert w.events("PlacementWaitlisted")[0].siteid == "boston"
    assert w.episode("c-mover").site_id == "boston"

    w.repo.capacities[Place("worcester", L.iop)] = 1
    w.placer().fill(Place("worcester", L.iop))
    [moved] = w.events("ClientTransferred")
    assert (moved.data["from_site"], moved.data["to_site"], moved.data["level"]) == (
        "boston", "worcester", "iop")
    assert (moved.data["reason_code"], moved.data["decided_by"], moved.data["from_waitlist"]) == (
        "closer_to_home", "dr-who", True)
    assert moved.siteid == "worcester" and w.episode("c-mover").site_id == "worcester"


def test_raising_capacity_admits_waitlisted_clients_in_order_as_far_as_it_goes() -> None:
    w = world(residential=1)
    for ref in ("c-inside", "c-wait1", "c-wait2", "c-wait3"):
        assess(w, ref, L.residential)
    w.repo.capacities[Place("boston", L.residential)] = 3
    w.placer().fill(Place("boston", L.residential))
    assert [e.subject for e in w.events("ClientAdmitted") if e.data["from_waitlist"]] == [
        "c-wait1", "c-wait2"]
    assert w.repo.entry_of("c-wait3") is not None


def test_lowering_capacity_below_occupancy_evicts_nobody_and_admits_nobody_new() -> None:
    w = world(php=3)
    for ref in ("c-no1", "c-no2", "c-no3"):
        assess(w, ref, L.php)
    w.repo.capacities[Place("boston", L.php)] = 1
    assess(w, "c-no4", L.php)
    discharge(w, "c-no1", Disposition.completed)
    assert w.repo.occupied(Place("boston", L.php)) == 2
    assert w.episode("c-no4").status is EpisodeStatus.waitlisted


def test_completing_iop_with_aftercare_full_waits_in_iop() -> None:
    w = world(aftercare=0)
    assess(w, "c-done", L.iop)
    assert discharge(w, "c-done", Disposition.completed) is Outcome.waitlisted
    assert w.episode("c-done").level is L.iop


def test_someone_waiting_for_admission_exits_the_waitlist_and_is_never_discharged() -> None:
    w = world(residential=0)
    assess(w, "c-wait1", L.residential)
    assess(w, "c-wait2", L.residential)
    episode = w.episode("c-wait1")
    with pytest.raises(Conflict, match="waiting for admission, not in care"):
        discharge(w, "c-wait1", Disposition.dropped_out)
    w.later(4.5)
    assert w.placer().exit_waitlist(episode, WaitlistExitReason.unreachable,
                                    w.repo.chains["c-wait1"]) is Outcome.exited
    [exited] = w.events("WaitlistExited", "c-wait1")
    assert exited.data == {"level": "residential", "site_id": "boston", "in_care": False,
                           "reason_code": "unreachable", "waited_days": 4.5}
    assert not w.events("ClientDischarged")
    assert w.repo.episodes[episode.episode_id].status is EpisodeStatus.withdrawn
    assert [e.client_ref for e in w.repo.waiting(Place("boston", L.residential))] == ["c-wait2"]


def test_a_priority_client_is_admitted_before_earlier_ordinary_ones() -> None:
    w = world(residential=1, policy=PRIORITY)
    assess(w, "c-inside", L.residential)
    assess(w, "c-early", L.residential)
    assess(w, "c-pwid", L.residential, populations=(PriorityPopulation.injection_drug_use,))
    assess(w, "c-pregnant", L.residential, populations=(PriorityPopulation.pregnant,))
    waits = {e.subject: (e.data["priority"], e.data["position"], e.data["site_id"])
             for e in w.events("PlacementWaitlisted")}
    assert waits == {"c-early": ("standard", 1, "boston"), "c-pwid": ("injecting", 1, "boston"),
                     "c-pregnant": ("pregnant", 1, "boston")}
    discharge(w, "c-inside", Disposition.completed)
    assert w.events("ClientAdmitted")[-1].subject == "c-pregnant"
    assert [e.client_ref for e in w.repo.waiting(Place("boston", L.residential))] == [
        "c-pwid", "c-early"]


def test_a_no_show_frees_the_bed_for_the_next_on_the_waitlist() -> None:
    w = world(residential=1, policy=PRIORITY)
    assess(w, "c-absent", L.residential)
    assess(w, "c-next", L.residential)
    admitted = w.events("ClientAdmitted", "c-absent")[0]
    w.later(3)
    episode = w.episode("c-absent")
    assert w.placer().cancel_admission(episode, w.repo.chains["c-absent"]) is Outcome.cancelled
    [cancelled] = w.events("AdmissionCancelled")
    assert (cancelled.data["reason_code"], cancelled.data["admission_event_id"]) == (
        "no_show", str(admitted.id))
    assert w.repo.episodes[episode.episode_id].status is EpisodeStatus.cancelled
    assert w.episode("c-next").place == Place("boston", L.residential)
    assert w.names()[-2:] == ["AdmissionCancelled", "ClientAdmitted"]
