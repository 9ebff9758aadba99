"""Admissions, steps, risk flags and discharges, driven through placement's handlers and placer
against an in-memory store."""

import pytest

from carepath.errors import InvalidTransition
from contracts import LevelOfCare
from contracts.events import DischargeReason, Disposition, RiskSeverity, TransitionReason
from services.placement.domain import EpisodeStatus, MoveKind, Place, move_for_request
from services.placement.handlers import place_assessed
from services.placement.moves import Outcome
from tests.unit.placement.fakes import assess, assessment, caused_by_root, discharge, flag, world

L = LevelOfCare


def test_an_assessed_client_is_admitted_with_the_asam_codes_of_the_level() -> None:
    w = world()
    cause = assess(w, "c-ann", L.residential)
    [admitted] = w.events("ClientAdmitted")
    assert admitted.data["level"] == "residential"
    assert admitted.data["asam_codes"] == ["3.1", "3.3", "3.5", "3.7"]
    assert admitted.causationid == cause.event_id
    assert admitted.correlationid == w.root("c-ann").correlation_id
    assert admitted.episodeid == w.episode("c-ann").episode_id
    assert w.episode("c-ann").status is EpisodeStatus.active


def test_discharge_records_length_of_stay_and_closes_the_episode() -> None:
    w = world()
    assess(w, "c-leaving", L.php)
    episode_id = w.episode("c-leaving").episode_id
    w.later(3.5)
    assert discharge(w, "c-leaving", Disposition.left_against_advice) is Outcome.discharged
    [discharged] = w.events("ClientDischarged")
    assert {k: discharged.data[k] for k in ("los_days", "episode_los_days", "level_los_days",
                                            "disposition", "teds_reason")} == {
        "los_days": 3.5, "episode_los_days": 3.5, "level_los_days": 3.5,
        "disposition": "left_against_advice", "teds_reason": 2}
    assert w.repo.episodes[episode_id].status is EpisodeStatus.discharged
    assert w.repo.open_episode("c-leaving") is None


def test_a_discharge_carries_its_reason_as_a_code_and_who_discharged() -> None:
    w = world()
    assess(w, "c-coded", L.php)
    w.placer().discharge(w.episode("c-coded"), Disposition.terminated_by_facility,
                         DischargeReason.rule_violation, w.repo.chains["c-coded"], by="dr-who")
    [discharged] = w.events("ClientDischarged")
    assert {k: discharged.data[k] for k in ("reason", "reason_code", "decided_by")} == {
        "reason": "rule_violation", "reason_code": "rule_violation", "decided_by": "dr-who"}


def test_completing_iop_steps_down_to_aftercare_and_the_episode_continues() -> None:
    w = world()
    assess(w, "c-done", L.iop)
    assert discharge(w, "c-done", Disposition.completed) is Outcome.moved
    [step] = w.events("SteppedDown")
    assert (step.data["to_level"], step.data["trigger"]) == ("aftercare", "completion")
    assert (step.data["reason"], step.data["reason_code"]) == ("completion", "completion")
    assert not w.events("ClientDischarged")
    assert w.episode("c-done").place == Place("boston", L.aftercare)


def test_relapse_risk_flags_ask_for_reassessment_or_are_ignored() -> None:
    w = world()
    assess(w, "c-top", L.residential)
    cause = flag(w, "c-top", RiskSeverity.high)
    assess(w, "c-mid", L.iop)
    flag(w, "c-mid", RiskSeverity.moderate)
    flag(w, "c-unknown", RiskSeverity.high)
    requests = w.events("ReassessmentRequested")
    assert [(e.subject, e.data["current_level"]) for e in requests] == [
        ("c-top", "residential"), ("c-mid", "iop")]
    assert requests[0].causationid == cause.event_id
    assert [(e.data["reason_code"], e.data["reason"]) for e in requests] == [
        ("high_risk_flag_at_top_level", "high_risk_flag_at_top_level"),
        ("moderate_risk_flag", "moderate_risk_flag")]
    assert not w.events(client_ref="c-unknown")


def test_a_reassessment_steps_up_and_a_same_level_one_cancels_a_pending_step() -> None:
    w = world(residential=1)
    assess(w, "c-bed", L.residential)
    assess(w, "c-upper", L.iop)
    assess(w, "c-upper", L.php)
    [up] = w.events("SteppedUp")
    assert (up.data["from_level"], up.data["trigger"]) == ("iop", "reassessment")
    assess(w, "c-upper", L.residential)
    assess(w, "c-upper", L.residential)
    assert len(w.events("PlacementWaitlisted", "c-upper")) == 1, "no duplicate waitlisting"
    assess(w, "c-upper", L.php)
    discharge(w, "c-bed", Disposition.completed)
    assert w.episode("c-upper").level is L.php


def test_admission_at_an_unknown_site_is_refused() -> None:
    w = world()
    with pytest.raises(InvalidTransition, match="unknown site 'atlantis'"):
        assess(w, "c-lost", L.php, site_id="atlantis")
    assert w.outbox.emitted == []


def test_a_kind_that_disagrees_with_the_direction_is_refused_before_anything_happens() -> None:
    w = world()
    assess(w, "c-xray", L.iop)
    with pytest.raises(InvalidTransition):
        move_for_request(w.episode("c-xray"), to_level=L.residential, to_site=None,
                         kind=MoveKind.step_down, reason=TransitionReason.other)
    assert w.names() == ["ClientAdmitted"]


def test_high_risk_in_residential_cancels_a_pending_step_down() -> None:
    w = world(php=0)
    assess(w, "c-fragile", L.residential)
    assess(w, "c-fragile", L.php)
    assert w.repo.entry_of("c-fragile") is not None
    flag(w, "c-fragile", RiskSeverity.high)
    w.repo.capacities[Place("boston", L.php)] = 1
    w.placer().fill(Place("boston", L.php))
    assert w.episode("c-fragile").level is L.residential
    assert w.names()[-1] == "ReassessmentRequested"


def test_an_episode_id_is_derived_from_the_event_that_opened_it() -> None:
    first, replayed = world(), world()
    data = assessment(L.iop)
    cause = caused_by_root(first, "c-again", data)
    for w in (first, replayed):
        place_assessed(w.placer(), data, client_ref="c-again", site_id="boston", cause=cause)
    assert first.episode("c-again").episode_id == replayed.episode("c-again").episode_id
