"""Events emitted by placement."""

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from pydantic import Field, model_validator

from contracts.envelope import EventData, register
from contracts.events.assessment import RiskSeverity
from contracts.levels import LevelOfCare
from contracts.reasons import (
    CancellationReason,
    DeclineReason,
    DischargeReason,
    HoldReleaseReason,
    ReassessmentReason,
    TransitionReason,
    WaitlistExitReason,
    WaitlistReason,
)

SiteRef = Annotated[str, Field(max_length=64)]
# Who decided (the token's `sub` of the clinician whose request caused the event).
Actor = Annotated[str, Field(max_length=120)]


class Disposition(str, Enum):
    """Why an episode of care ended: the discharge reasons of SAMHSA's Treatment Episode Data
    Set (TEDS-D, "Reason for discharge, transfer, or discontinuance of treatment", REASON).

    TEDS-D codes: 1 treatment completed; 2 dropped out of treatment (the client chose not to
    complete the programme, with or without advice to continue, or had no contact for a
    specified number of days); 3 terminated by facility; 4 transferred to another treatment
    programme or facility; 5 incarcerated; 6 death; 7 other. Carepath keeps a left-against-advice
    discharge apart from a loss of contact (TEDS counts both as 2) because programmes measure
    them separately.

    `ama` and `administrative` are the two values of the first release; no producer emits them
    any more, and consumers read them as `left_against_advice` and `terminated_by_facility`
    (`canonical`)."""

    completed = "completed"
    transferred_out = "transferred_out"
    left_against_advice = "left_against_advice"
    terminated_by_facility = "terminated_by_facility"
    incarcerated = "incarcerated"
    death = "death"
    dropped_out = "dropped_out"
    other = "other"
    ama = "ama"  # legacy (v1 before 2026-12): left_against_advice
    administrative = "administrative"  # legacy (v1 before 2026-12): terminated_by_facility

    @property
    def canonical(self) -> "Disposition":
        return _LEGACY.get(self, self)

    @property
    def teds_reason(self) -> int:
        """The TEDS-D REASON code."""
        return _TEDS_REASON[self.canonical]


_LEGACY = {Disposition.ama: Disposition.left_against_advice,
           Disposition.administrative: Disposition.terminated_by_facility}
_TEDS_REASON = {
    Disposition.completed: 1, Disposition.left_against_advice: 2, Disposition.dropped_out: 2,
    Disposition.terminated_by_facility: 3, Disposition.transferred_out: 4,
    Disposition.incarcerated: 5, Disposition.death: 6, Disposition.other: 7,
}
TEDS_DISPOSITIONS = tuple(_TEDS_REASON)  # the values producers emit


class TransitionTrigger(str, Enum):
    reassessment = "reassessment"
    risk_flag = "risk_flag"
    manual = "manual"
    completion = "completion"
    waitlist = "waitlist"


_REASON_IS_THE_CODE = ("since 2026-12 the value of `reason_code`, never free text (earlier "
                       "events may hold a generated sentence)")


class PlacementEvent(EventData):
    service = "placement"


@register
class ClientAdmitted(PlacementEvent):
    level: LevelOfCare
    asam_edition: int = 3
    asam_codes: tuple[Annotated[str, Field(max_length=8)], ...] = Field(default=(), max_length=10)
    from_waitlist: bool = False
    assessment_id: str | None = Field(default=None, max_length=64)


@register
class PlacementWaitlisted(PlacementEvent):
    level: LevelOfCare
    position: int = Field(ge=1)
    reason: str = Field(max_length=200, description=_REASON_IS_THE_CODE)
    current_level: LevelOfCare | None = None
    # Since 2026-12: the site whose waitlist this is, and the priority class it waits in.
    site_id: SiteRef | None = None
    priority: str | None = Field(default=None, max_length=40)
    # Since 2026-12: why, as a code.
    reason_code: WaitlistReason | None = None


class _Step(PlacementEvent):
    from_level: LevelOfCare
    to_level: LevelOfCare
    trigger: TransitionTrigger
    reason: str = Field(max_length=500, description=_REASON_IS_THE_CODE)
    from_waitlist: bool = False
    # Since 2026-12: a step may also change site (then it is a transfer too), and a step up may
    # carry out a clinician-confirmed proposal.
    from_site: SiteRef | None = None
    to_site: SiteRef | None = None
    proposal_id: str | None = Field(default=None, max_length=64)
    # Since 2026-12: why, as a code; who decided when a clinician did.
    reason_code: TransitionReason | None = None
    decided_by: Actor | None = None


@register
class SteppedDown(_Step):
    @model_validator(mode="after")
    def _to_a_less_intensive_level(self) -> "SteppedDown":
        if not self.from_level.is_higher_than(self.to_level):
            raise ValueError(f"impossible transition: cannot step down from "
                             f"{self.from_level.value} to {self.to_level.value}")
        return self


@register
class SteppedUp(_Step):
    @model_validator(mode="after")
    def _to_a_more_intensive_level(self) -> "SteppedUp":
        if not self.to_level.is_higher_than(self.from_level):
            raise ValueError(f"impossible transition: cannot step up from "
                             f"{self.from_level.value} to {self.to_level.value}")
        return self


@register
class ClientTransferred(PlacementEvent):
    """Another site at the same level (a move that also changes level is a step)."""

    from_site: str = Field(max_length=64)
    to_site: str = Field(max_length=64)
    level: LevelOfCare
    reason: str = Field(max_length=500, description=_REASON_IS_THE_CODE)
    # Since 2026-12, so that every move carries both: equal to `level`.
    from_level: LevelOfCare | None = None
    to_level: LevelOfCare | None = None
    # Since 2026-12: why, as a code; who decided when a clinician did; carried out from the
    # waitlist (the reason used to say so in words).
    reason_code: TransitionReason | None = None
    decided_by: Actor | None = None
    from_waitlist: bool = False


@register
class ClientDischarged(PlacementEvent):
    level: LevelOfCare
    disposition: Disposition
    reason: str | None = Field(default=None, max_length=500, description=_REASON_IS_THE_CODE)
    los_days: float = Field(ge=0)  # the whole episode (= episode_los_days)
    # Since 2026-12: the stay at the last level and the whole episode, apart; the TEDS code.
    level_los_days: float | None = Field(default=None, ge=0)
    episode_los_days: float | None = Field(default=None, ge=0)
    teds_reason: int | None = Field(default=None, ge=1, le=7)
    # Since 2026-12: the detail beside the disposition, as a code; who discharged.
    reason_code: DischargeReason | None = None
    decided_by: Actor | None = None


@register
class ReassessmentRequested(PlacementEvent):
    reason: str = Field(max_length=500, description=_REASON_IS_THE_CODE)
    flag_id: str | None = Field(default=None, max_length=64)
    current_level: LevelOfCare
    # Since 2026-12: asked for with a step-up proposal, to be done at once.
    urgent: bool = False
    proposal_id: str | None = Field(default=None, max_length=64)
    # Since 2026-12: why, as a code.
    reason_code: ReassessmentReason | None = None


@register
class StepUpProposed(PlacementEvent):
    """A relapse-risk flag proposes a more intensive level; a clinician confirms (a SteppedUp
    citing `proposal_id`) or declines (StepUpDeclined). Nobody moves until then."""

    proposal_id: str = Field(max_length=64)
    flag_id: str = Field(max_length=64)
    severity: RiskSeverity
    from_level: LevelOfCare
    to_level: LevelOfCare


@register
class StepUpDeclined(PlacementEvent):
    proposal_id: str = Field(max_length=64)
    flag_id: str = Field(max_length=64)
    level: LevelOfCare  # where the client stays
    reason_code: DeclineReason
    # Since 2026-12: the clinician who declined.
    decided_by: Actor | None = None


@register
class WaitlistExited(PlacementEvent):
    """Someone left a waitlist without being placed from it. A person waiting for admission
    was never in care: their waiting ends here, with no discharge."""

    level: LevelOfCare
    site_id: SiteRef
    reason_code: WaitlistExitReason
    waited_days: float = Field(ge=0)
    in_care: bool = False  # waiting for a move while in care at another level


@register
class AdmissionCancelled(PlacementEvent):
    """The admitted client never arrived within the configured window: the admission is void
    (HL7 v2 A11, cancel admit), the slot is free again and the episode did not happen."""

    level: LevelOfCare
    reason_code: CancellationReason
    admitted_at: datetime
    admission_event_id: str | None = Field(default=None, max_length=64)


@register
class CapacityChanged(PlacementEvent):
    """A site's capacity per level; its subject is the site (`site-<id>`), not a client."""

    site_id: str = Field(max_length=64)
    capacity: dict[LevelOfCare, int]


# Utilization review (UR). A payer is named by a code from the organization's configuration
# (`payers` in config/placement.yaml), never by a member id; the authorization number stays in
# placement. Dates are calendar days in the organization's time zone (UTC by default).
PayerRef = Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


@register
class AuthorizationRecorded(PlacementEvent):
    """A payer approved a level of care for a client: so many days (residential, PHP) or
    sessions (IOP, aftercare) between two dates, with the next concurrent review due."""

    authorization_id: str = Field(max_length=64)
    payer_ref: PayerRef
    level: LevelOfCare
    site_id: SiteRef
    starts_on: date
    ends_on: date
    approved_days: int | None = Field(default=None, ge=1, le=3660)
    approved_sessions: int | None = Field(default=None, ge=1, le=3660)
    next_review_on: date | None = None
    recorded_by: Actor | None = None

    @model_validator(mode="after")
    def _a_period_and_an_amount(self) -> "AuthorizationRecorded":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.approved_days is None) == (self.approved_sessions is None):
            raise ValueError("an authorization approves either days or sessions")
        return self


@register
class AuthorizationExpiring(PlacementEvent):
    """The daily check: a client still in the authorized level whose authorization ends within
    the configured warning window (once per authorization)."""

    authorization_id: str = Field(max_length=64)
    payer_ref: PayerRef
    level: LevelOfCare
    site_id: SiteRef
    ends_on: date
    days_left: int = Field(ge=0)


@register
class UnauthorizedStay(PlacementEvent):
    """The daily check: a client in a level that no active authorization covers (once per stay
    without one, that is per level segment and uncovered run of days)."""

    level: LevelOfCare
    site_id: SiteRef
    uncovered_since: date
    days: int = Field(ge=1)  # uncovered days up to and including `as_of`
    as_of: date


# Bed holds: a bed promised to someone arriving. Its subject is the client it is held for or,
# when there is none yet, the site (`site-<id>`, like CapacityChanged).
@register
class BedHeld(PlacementEvent):
    hold_id: str = Field(max_length=64)
    site_id: SiteRef
    level: LevelOfCare
    expected_arrival: datetime
    expires_at: datetime
    for_client: bool = False  # held for the client who is the subject
    held_by: Actor | None = None


@register
class BedHoldReleased(PlacementEvent):
    hold_id: str = Field(max_length=64)
    site_id: SiteRef
    level: LevelOfCare
    reason_code: HoldReleaseReason
    released_by: Actor | None = None  # the clinician who released it; none when placement did
