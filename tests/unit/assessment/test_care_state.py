"""Where each placement event leaves a client, as assessment tracks it: in care or not, at which
level and site. Events that move nobody leave the care state alone."""

from datetime import UTC, datetime

import pytest

from contracts import LevelOfCare
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    DeclineReason,
    Disposition,
    RiskSeverity,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from contracts.events.placement import PlacementEvent
from services.assessment.domain import CareState, care_after

L = LevelOfCare
NOT_IN_CARE = CareState(in_care=False, level=None, site_id="boston")


def step_down(to_site: str | None = None) -> SteppedDown:
    return SteppedDown(from_level=L.php, to_level=L.iop, trigger=TransitionTrigger.reassessment,
                       reason="progress", from_site="boston" if to_site else None,
                       to_site=to_site)


def left_waitlist(*, in_care: bool) -> WaitlistExited:
    return WaitlistExited(level=L.residential, site_id="boston",
                          reason_code=WaitlistExitReason.withdrew, waited_days=4,
                          in_care=in_care)


def test_admission_step_and_transfer_put_the_client_in_care_at_the_new_level() -> None:
    assert care_after(ClientAdmitted(level=L.iop), site_id="boston") == CareState(
        in_care=True, level=L.iop, site_id="boston")
    assert care_after(step_down(), site_id="boston") == CareState(True, L.iop, "boston")
    moved = ClientTransferred(from_site="boston", to_site="worcester", level=L.iop,
                              reason="closer to home")
    assert care_after(moved, site_id="boston") == CareState(True, L.iop, "worcester")


def test_a_step_that_also_changes_site_moves_the_client_to_that_site() -> None:
    assert care_after(step_down(to_site="worcester"), site_id="boston") == CareState(
        True, L.iop, "worcester")
    up = SteppedUp(from_level=L.iop, to_level=L.php, trigger=TransitionTrigger.risk_flag,
                   reason="relapse", from_site="worcester", to_site="boston",
                   proposal_id="prop-1")
    assert care_after(up, site_id="worcester") == CareState(True, L.php, "boston")


def test_a_discharge_or_a_cancelled_admission_leaves_the_client_not_in_care() -> None:
    discharged = ClientDischarged(level=L.iop, disposition=Disposition.completed, los_days=30)
    cancelled = AdmissionCancelled(level=L.php, reason_code=CancellationReason.no_show,
                                   admitted_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert care_after(discharged, site_id="boston") == NOT_IN_CARE
    assert care_after(cancelled, site_id="boston") == NOT_IN_CARE


def test_leaving_a_waitlist_changes_care_only_for_someone_never_admitted() -> None:
    assert care_after(left_waitlist(in_care=False), site_id="boston") == NOT_IN_CARE
    assert care_after(left_waitlist(in_care=True), site_id="boston") is None


@pytest.mark.parametrize("event", [
    StepUpProposed(proposal_id="prop-1", flag_id="flag-1", severity=RiskSeverity.high,
                   from_level=L.iop, to_level=L.php),
    StepUpDeclined(proposal_id="prop-1", flag_id="flag-1", level=L.iop,
                   reason_code=DeclineReason.managed_at_current_level),
])
def test_a_step_up_proposal_or_its_decline_moves_nobody(event: PlacementEvent) -> None:
    assert care_after(event, site_id="boston") is None
