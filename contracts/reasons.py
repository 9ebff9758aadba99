"""The closed code lists reasons travel as. No free text goes on the bus: a clinician's note stays
in the service that took it (access-controlled, every read audited), and events carry one of
these codes. A new value may be added within a version; removing or renaming one is a new
event version (see contracts/README.md, "Reason codes")."""

from enum import Enum


class TransitionReason(str, Enum):
    """Why a client in care moved to another level or site (SteppedDown, SteppedUp,
    ClientTransferred). `reassessment`, `completion` and `relapse_risk_flag` are also what
    placement records for the moves it makes itself."""

    reassessment = "reassessment"  # a reassessment recommends the level
    clinical_improvement = "clinical_improvement"
    clinical_deterioration = "clinical_deterioration"
    relapse_risk_confirmed = "relapse_risk_confirmed"  # a clinician confirms a step-up proposal
    relapse_risk_flag = "relapse_risk_flag"  # a high flag stepped up at once (automatic policy)
    completion = "completion"  # completed the level (IOP completed: on to aftercare)
    client_request = "client_request"
    closer_to_home = "closer_to_home"
    family_or_housing = "family_or_housing"
    capacity = "capacity"  # moved to where there is room
    programme_fit = "programme_fit"  # another site's programme suits the client better
    other = "other"


class DischargeReason(str, Enum):
    """The detail of a discharge, beside its TEDS-D `disposition` (optional)."""

    goals_met = "goals_met"
    client_choice = "client_choice"
    no_contact = "no_contact"  # the administrative dropped-out discharge
    non_adherence = "non_adherence"
    rule_violation = "rule_violation"
    medical_or_psychiatric_need = "medical_or_psychiatric_need"
    payer_authorization_ended = "payer_authorization_ended"
    relocation = "relocation"
    legal_involvement = "legal_involvement"
    referred_elsewhere = "referred_elsewhere"
    other = "other"


class OverrideReason(str, Enum):
    """Why a clinician placed a client at another level than the rule set recommends."""

    clinical_judgement = "clinical_judgement"
    client_preference = "client_preference"
    medical_need = "medical_need"
    co_occurring_condition = "co_occurring_condition"
    recovery_environment = "recovery_environment"
    payer_authorization = "payer_authorization"
    no_capacity_at_level = "no_capacity_at_level"
    other = "other"


class ReassessmentReason(str, Enum):
    """Why placement asks for a reassessment."""

    moderate_risk_flag = "moderate_risk_flag"
    high_risk_flag_at_top_level = "high_risk_flag_at_top_level"  # no more intensive level
    step_up_proposed = "step_up_proposed"  # urgent: the proposal awaits a clinician


class WaitlistReason(str, Enum):
    """Why someone waits for a place."""

    no_capacity = "no_capacity"


class DeclineReason(str, Enum):
    """Why a clinician declined a proposed step up."""

    clinically_not_indicated = "clinically_not_indicated"
    managed_at_current_level = "managed_at_current_level"
    client_declined = "client_declined"
    no_authorization = "no_authorization"
    other = "other"


class WaitlistExitReason(str, Enum):
    """Why someone left a waitlist without being placed from it."""

    withdrew = "withdrew"
    unreachable = "unreachable"
    referred_elsewhere = "referred_elsewhere"
    placed_elsewhere = "placed_elsewhere"
    no_longer_needed = "no_longer_needed"
    incarcerated = "incarcerated"
    death = "death"
    other = "other"


class CancellationReason(str, Enum):
    no_show = "no_show"


class HoldReleaseReason(str, Enum):
    """Why a bed hold ended (BedHoldReleased)."""

    used = "used"  # the client it was held for was admitted to it
    released = "released"  # staff gave the bed back before anyone arrived
    expired = "expired"  # nobody came by the hold's expiry


class RiskIndicatorCode(str, Enum):
    """What raised a relapse-risk score; each indicator carries its `band`, never the raw
    result (e.g. `phq9>=15`, `missed>=2`)."""

    missed_sessions = "missed_sessions"
    late_arrivals = "late_arrivals"
    positive_tox_screen = "positive_tox_screen"
    craving_elevated = "craving_elevated"
    phq9_elevated = "phq9_elevated"
    gad7_elevated = "gad7_elevated"
    bam_elevated = "bam_elevated"


REASON_CODE_LISTS: tuple[type[Enum], ...] = (
    TransitionReason, DischargeReason, OverrideReason, ReassessmentReason, WaitlistReason,
    DeclineReason, WaitlistExitReason, CancellationReason, HoldReleaseReason, RiskIndicatorCode,
)
