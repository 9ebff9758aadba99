"""Step up by proposal: a high relapse-risk flag proposes, a clinician confirms or declines, and
nobody moves on a score alone."""

import pytest

from carepath.errors import Conflict
from contracts import LevelOfCare
from contracts.events import DeclineReason, Disposition, RiskSeverity, TransitionReason
from services.placement.domain import Place, ProposalStatus, confirm, move_for_request
from services.placement.moves import Outcome
from tests.unit.placement.fakes import AUTOMATIC, World, assess, discharge, flag, world

L = LevelOfCare


def proposed(w: World, client_ref: str) -> str:
    assess(w, client_ref, L.iop)
    flag(w, client_ref, RiskSeverity.high)
    proposal = w.repo.open_proposal(client_ref)
    assert proposal is not None
    return proposal.proposal_id


def test_a_high_flag_proposes_asks_for_an_urgent_reassessment_and_moves_nobody() -> None:
    w = world()
    assess(w, "c-flagged", L.iop)
    cause = flag(w, "c-flagged", RiskSeverity.high)
    [proposal_event] = w.events("StepUpProposed")
    [request] = w.events("ReassessmentRequested")
    assert proposal_event.causationid == cause.event_id
    assert (proposal_event.data["from_level"], proposal_event.data["to_level"]) == ("iop", "php")
    assert (request.data["urgent"], request.data["proposal_id"]) == (
        True, proposal_event.data["proposal_id"])
    assert request.causationid == proposal_event.id
    assert not w.events("SteppedUp")
    assert w.episode("c-flagged").level is L.iop


def test_confirming_steps_up_with_the_proposal_in_the_causal_chain() -> None:
    w = world()
    proposal_id = proposed(w, "c-confirmed")
    proposal = w.repo.proposals[proposal_id]
    episode = w.episode("c-confirmed")
    move = confirm(proposal, episode, to_level=L.php, to_site=None,
                   reason=TransitionReason.relapse_risk_confirmed, decided_by="dr-who")
    assert w.placer().confirm(episode, proposal, move, by="dr-who") is Outcome.moved
    [step] = w.events("SteppedUp")
    [proposal_event] = w.events("StepUpProposed")
    assert step.causationid == proposal_event.id
    assert (step.data["proposal_id"], step.data["trigger"]) == (proposal_id, "risk_flag")
    assert (step.data["reason_code"], step.data["reason"], step.data["decided_by"]) == (
        "relapse_risk_confirmed", "relapse_risk_confirmed", "dr-who")
    decided = w.repo.proposals[proposal_id]
    assert (decided.status, decided.decided_by) == (ProposalStatus.confirmed, "dr-who")
    assert w.episode("c-confirmed").level is L.php


def test_declining_keeps_the_client_where_they_are() -> None:
    w = world()
    proposal_id = proposed(w, "c-declined")
    proposal = w.repo.proposals[proposal_id]
    episode = w.episode("c-declined")
    placer = w.placer()
    assert placer.decline(episode, proposal, DeclineReason.managed_at_current_level,
                          by="dr-no") is Outcome.declined
    [declined] = w.events("StepUpDeclined")
    assert declined.data == {"proposal_id": proposal_id, "flag_id": proposal.flag_id,
                             "level": "iop", "reason_code": "managed_at_current_level",
                             "decided_by": "dr-no"}
    assert declined.causationid == w.events("StepUpProposed")[0].id
    assert w.repo.proposals[proposal_id].status is ProposalStatus.declined
    with pytest.raises(Conflict, match="declined, not open"):
        placer.decline(episode, w.repo.proposals[proposal_id], DeclineReason.other, by="x")


def test_a_second_flag_while_a_proposal_is_open_adds_nothing() -> None:
    w = world()
    proposed(w, "c-twice")
    flag(w, "c-twice", RiskSeverity.high)
    assert len(w.events("StepUpProposed")) == 1


def test_a_move_before_anyone_decided_withdraws_the_proposal() -> None:
    w = world()
    proposal_id = proposed(w, "c-moved")
    assess(w, "c-moved", L.residential)  # the urgent reassessment decided instead
    assert w.repo.proposals[proposal_id].status is ProposalStatus.withdrawn
    [step] = w.events("SteppedUp")
    assert (step.data["trigger"], "proposal_id" in step.data) == ("reassessment", False)


def test_a_discharge_withdraws_an_open_proposal() -> None:
    w = world()
    proposal_id = proposed(w, "c-gone")
    discharge(w, "c-gone", Disposition.left_against_advice)
    assert w.repo.proposals[proposal_id].status is ProposalStatus.withdrawn


def test_the_automatic_policy_steps_up_at_once() -> None:
    w = world(policy=AUTOMATIC)
    assess(w, "c-auto", L.iop)
    cause = flag(w, "c-auto", RiskSeverity.high)
    [step] = w.events("SteppedUp")
    assert step.causationid == cause.event_id and not w.events("StepUpProposed")


def test_a_cross_site_step_down_is_a_step_that_names_both_sites() -> None:
    w = world()
    w.repo.capacities.update({Place("worcester", level): 5 for level in L})
    assess(w, "c-mover", L.php)
    move = move_for_request(w.episode("c-mover"), to_level=L.iop, to_site="worcester",
                            kind=None, reason=TransitionReason.closer_to_home)
    w.placer().move(w.episode("c-mover"), move, None)
    [step] = w.events("SteppedDown")
    assert (step.data["from_level"], step.data["to_level"], step.data["from_site"],
            step.data["to_site"], step.siteid) == ("php", "iop", "boston", "worcester",
                                                   "worcester")
    assert not w.events("ClientTransferred")
