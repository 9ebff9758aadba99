"""Placement's pure rules: what an assessment, a risk flag or a request means for a client."""

import uuid
from datetime import timedelta

import pytest

from carepath.errors import Conflict, InvalidInput, InvalidTransition
from contracts import LevelOfCare
from contracts.events import (
    Disposition,
    PriorityPopulation,
    ReassessmentReason,
    RiskSeverity,
    TransitionReason,
    TransitionTrigger,
)
from services.placement.domain import (
    Episode,
    EpisodeStatus,
    Move,
    MoveKind,
    Overdue,
    Place,
    Proposal,
    ProposalStatus,
    ProposeStepUp,
    ReassessmentNeeded,
    asam_codes,
    confirm,
    los_days,
    move_for_assessment,
    move_for_discharge,
    move_for_flag,
    move_for_request,
    overdue,
)
from services.placement.policy import PlacementPolicy, Priority, StepUpPolicy
from tests.unit.placement.fakes import T0

L = LevelOfCare
R = TransitionReason
REVIEW = StepUpPolicy.review
POLICY = PlacementPolicy.model_validate({
    "organization": "test", "admission": {"no_show_after_days": 3},
    "episodes": {"dropped_out_after_days": 30},
    "waitlist": {"priority_classes": [
        {"id": "pregnant-injecting", "all_of": ["pregnant", "injection_drug_use"]},
        {"id": "pregnant", "all_of": ["pregnant"]},
        {"id": "injecting", "all_of": ["injection_drug_use"]}]}})


def in_care(level: LevelOfCare, site_id: str = "boston") -> Episode:
    return Episode(episode_id=uuid.uuid4(), client_ref="c-0000000000000001", site_id=site_id,
                   level=level, status=EpisodeStatus.active, since=T0, admitted_at=T0)


def waitlisted_only() -> Episode:
    return Episode(episode_id=uuid.uuid4(), client_ref="c-0000000000000002", site_id="boston",
                   level=None, status=EpisodeStatus.waitlisted, since=T0)


def test_an_assessment_of_someone_not_in_care_admits_them_at_the_final_level() -> None:
    move = move_for_assessment(None, site_id="worcester", final_level=L.php)
    assert move is not None and move.kind is MoveKind.admission
    assert move.target == Place("worcester", L.php)


def test_a_new_assessment_of_a_waitlisted_client_is_still_an_admission() -> None:
    move = move_for_assessment(waitlisted_only(), site_id="boston", final_level=L.iop)
    assert move is not None and move.kind is MoveKind.admission


@pytest.mark.parametrize(("current", "final", "kind"), [
    (L.residential, L.php, MoveKind.step_down),
    (L.iop, L.residential, MoveKind.step_up),
    (L.php, L.aftercare, MoveKind.step_down),
])
def test_a_reassessment_steps_in_the_direction_of_the_final_level(
        current: LevelOfCare, final: LevelOfCare, kind: MoveKind) -> None:
    move = move_for_assessment(in_care(current, "worcester"), site_id="boston",
                               final_level=final)
    assert move is not None
    assert (move.kind, move.target, move.trigger) == (
        kind, Place("worcester", final), TransitionTrigger.reassessment)


def test_a_reassessment_at_the_current_level_moves_nobody() -> None:
    assert move_for_assessment(in_care(L.php), site_id="boston", final_level=L.php) is None


def test_high_relapse_risk_proposes_one_level_up_under_review() -> None:
    decision = move_for_flag(in_care(L.iop), severity=RiskSeverity.high, flag_id="flag-1",
                             policy=REVIEW)
    assert decision == ProposeStepUp("flag-1", RiskSeverity.high, Place("boston", L.php))


def test_high_relapse_risk_steps_up_one_level_at_once_when_automatic() -> None:
    move = move_for_flag(in_care(L.iop), severity=RiskSeverity.high, flag_id="flag-1",
                         policy=StepUpPolicy.automatic)
    assert isinstance(move, Move)
    assert (move.kind, move.target.level, move.trigger, move.reason, move.decided_by) == (
        MoveKind.step_up, L.php, TransitionTrigger.risk_flag, R.relapse_risk_flag, None)


def test_high_relapse_risk_in_residential_asks_for_a_reassessment() -> None:
    decision = move_for_flag(in_care(L.residential), severity=RiskSeverity.high, flag_id="f-9",
                             policy=REVIEW)
    assert decision == ReassessmentNeeded(ReassessmentReason.high_risk_flag_at_top_level, "f-9")


def test_moderate_relapse_risk_asks_for_a_reassessment_naming_the_flag() -> None:
    decision = move_for_flag(in_care(L.aftercare), severity=RiskSeverity.moderate,
                             flag_id="flag-42", policy=REVIEW)
    assert decision == ReassessmentNeeded(ReassessmentReason.moderate_risk_flag, "flag-42")


@pytest.mark.parametrize("episode", [None, waitlisted_only()])
def test_a_flag_for_someone_not_in_care_is_ignored(episode: Episode | None) -> None:
    assert move_for_flag(episode, severity=RiskSeverity.high, flag_id="f", policy=REVIEW) is None


def test_stepping_down_to_a_more_intensive_level_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidTransition) as refused:
        move_for_request(in_care(L.iop), to_level=L.residential, to_site=None,
                         kind=MoveKind.step_down, reason=R.other)
    assert str(refused.value) == ("cannot step down from iop to residential: "
                                  "residential is a more intensive level")


def test_stepping_up_to_a_less_intensive_level_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="less intensive"):
        move_for_request(in_care(L.php), to_level=L.aftercare, to_site=None,
                         kind=MoveKind.step_up, reason=R.other)


def test_a_transition_to_where_the_client_already_is_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="already in iop at boston"):
        move_for_request(in_care(L.iop), to_level=L.iop, to_site="boston", kind=None,
                         reason=R.other)


def test_a_transfer_must_change_site() -> None:
    with pytest.raises(InvalidTransition, match="already at boston"):
        move_for_request(in_care(L.iop), to_level=L.php, to_site=None,
                         kind=MoveKind.transfer, reason=R.other)


def test_a_request_takes_its_kind_from_the_direction_when_none_is_given() -> None:
    up = move_for_request(in_care(L.iop), to_level=L.php, to_site=None, kind=None,
                          reason=R.clinical_deterioration, decided_by="dr-who")
    away = move_for_request(in_care(L.iop), to_level=L.iop, to_site="worcester", kind=None,
                            reason=R.client_request)
    assert (up.kind, up.trigger, up.reason, up.decided_by) == (
        MoveKind.step_up, TransitionTrigger.manual, R.clinical_deterioration, "dr-who")
    assert (away.kind, away.target) == (MoveKind.transfer, Place("worcester", L.iop))


def test_completing_iop_continues_to_aftercare_and_other_discharges_end_care() -> None:
    completion = move_for_discharge(in_care(L.iop), Disposition.completed, decided_by="dr-who")
    assert completion is not None
    assert (completion.target.level, completion.trigger, completion.reason,
            completion.decided_by) == (L.aftercare, TransitionTrigger.completion, R.completion,
                                       "dr-who")
    assert move_for_discharge(in_care(L.iop), Disposition.left_against_advice) is None
    assert move_for_discharge(in_care(L.residential), Disposition.completed) is None


def test_length_of_stay_is_days_since_admission_and_never_negative() -> None:
    assert los_days(T0, T0 + timedelta(days=2, hours=12)) == 2.5
    assert los_days(T0, T0 - timedelta(hours=1)) == 0.0
    assert los_days(None, T0) == 0.0


def test_asam_codes_follow_the_edition_and_unknown_editions_are_refused() -> None:
    assert asam_codes(L.php, 3) == ("2.5",)
    assert asam_codes(L.php, 4) == ("2.5", "2.7")
    with pytest.raises(InvalidInput, match="edition 9"):
        asam_codes(L.php, 9)


def proposal_for(episode: Episode, **changes: object) -> Proposal:
    values: dict[str, object] = dict(
        proposal_id="p-1", client_ref=episode.client_ref, episode_id=episode.episode_id,
        site_id="boston", from_level=L.iop, to_level=L.php, flag_id="flag-1",
        severity=RiskSeverity.high, created_at=T0, cause_event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4())
    return Proposal(**(values | changes))  # type: ignore[arg-type]


def test_a_confirmed_proposal_is_a_step_up_citing_it() -> None:
    episode = in_care(L.iop)
    move = confirm(proposal_for(episode), episode, to_level=L.php, to_site=None,
                   reason=R.relapse_risk_confirmed, decided_by="dr-who")
    assert (move.kind, move.target, move.trigger, move.proposal_id, move.decided_by) == (
        MoveKind.step_up, Place("boston", L.php), TransitionTrigger.risk_flag, "p-1", "dr-who")


def test_a_proposal_is_confirmed_only_while_open_at_the_level_it_was_made_and_upwards() -> None:
    episode = in_care(L.iop)
    with pytest.raises(Conflict, match="declined, not open"):
        confirm(proposal_for(episode, status=ProposalStatus.declined), episode,
                to_level=L.php, to_site=None, reason=R.other, decided_by="dr-who")
    with pytest.raises(Conflict, match="made at php; .* is now in iop"):
        confirm(proposal_for(episode, from_level=L.php), episode, to_level=L.residential,
                to_site=None, reason=R.other, decided_by="dr-who")
    with pytest.raises(InvalidTransition, match="confirmed by a step up"):
        confirm(proposal_for(episode), episode, to_level=L.aftercare, to_site=None,
                reason=R.other, decided_by="dr-who")
    with pytest.raises(Conflict, match="not about"):
        confirm(proposal_for(episode, client_ref="c-someone-else"), episode, to_level=L.php,
                to_site=None, reason=R.other, decided_by="dr-who")


def test_a_change_of_level_at_another_site_is_a_step_and_the_same_level_a_transfer() -> None:
    down = move_for_request(in_care(L.php), to_level=L.iop, to_site="worcester", kind=None,
                            reason=R.client_request)
    assert (down.kind, down.target) == (MoveKind.step_down, Place("worcester", L.iop))


def test_an_admitted_client_who_never_attends_is_a_no_show_after_the_window() -> None:
    episode = in_care(L.residential)
    assert overdue(episode, POLICY, T0 + timedelta(days=2.9)) is None
    assert overdue(episode, POLICY, T0 + timedelta(days=3)) is Overdue.no_show


def test_no_contact_for_the_window_after_arrival_is_dropping_out() -> None:
    episode = in_care(L.aftercare)
    episode.arrived_at = T0 + timedelta(days=1)
    episode.last_contact_at = T0 + timedelta(days=10)
    assert overdue(episode, POLICY, T0 + timedelta(days=39.9)) is None
    assert overdue(episode, POLICY, T0 + timedelta(days=40)) is Overdue.dropped_out
    episode.since = T0 + timedelta(days=20)  # a move (a reassessment) is contact too
    assert overdue(episode, POLICY, T0 + timedelta(days=40)) is None


def test_nobody_waiting_for_admission_is_overdue() -> None:
    assert overdue(waitlisted_only(), POLICY, T0 + timedelta(days=400)) is None


@pytest.mark.parametrize(("populations", "expected"), [
    ((PriorityPopulation.pregnant, PriorityPopulation.injection_drug_use),
     Priority(0, "pregnant-injecting")),
    ((PriorityPopulation.pregnant,), Priority(1, "pregnant")),
    ((PriorityPopulation.injection_drug_use,), Priority(2, "injecting")),
    ((), Priority(3, "standard")),
])
def test_priority_classes_follow_the_block_grant_order(
    populations: tuple[PriorityPopulation, ...], expected: Priority
) -> None:
    assert POLICY.priority_of(populations) == expected


def test_a_policy_with_a_repeated_or_reserved_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        PlacementPolicy.model_validate({"organization": "o", "waitlist": {"priority_classes": [
            {"id": "standard", "all_of": ["pregnant"]}]}})


def test_the_shipped_policy_is_valid_reviews_step_ups_and_ranks_the_block_grant_classes() -> None:
    from carepath.settings import Settings
    from services.placement.app import make_deps

    policy = make_deps(Settings()).policy
    assert policy.step_up_policy is StepUpPolicy.review
    assert [c.id for c in policy.waitlist.priority_classes] == [
        "pregnant-injecting", "pregnant", "injecting"]
