"""Every Carepath event payload, one module per producing service."""

from contracts.events.assessment import (
    AssessmentKind,
    ClientAssessed,
    Dimensions,
    PriorityPopulation,
    RelapseRiskFlagged,
    RiskIndicator,
    RiskSeverity,
)
from contracts.events.intake import (
    ClientReferred,
    ConsentRecorded,
    ConsentRevoked,
    FamilyRecipient,
    ReferralSource,
)
from contracts.events.notification import (
    Audience,
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
)
from contracts.events.placement import (
    TEDS_DISPOSITIONS,
    AdmissionCancelled,
    AuthorizationExpiring,
    AuthorizationRecorded,
    BedHeld,
    BedHoldReleased,
    CapacityChanged,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    Disposition,
    PlacementWaitlisted,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    UnauthorizedStay,
    WaitlistExited,
)
from contracts.events.scheduling import (
    AttendanceRecorded,
    AttendanceStatus,
    Modality,
    ScheduledSession,
    SessionKind,
    SessionsCancelled,
    SessionsScheduled,
)
from contracts.reasons import (
    CancellationReason,
    DeclineReason,
    DischargeReason,
    HoldReleaseReason,
    OverrideReason,
    ReassessmentReason,
    RiskIndicatorCode,
    TransitionReason,
    WaitlistExitReason,
    WaitlistReason,
)

__all__ = [
    "TEDS_DISPOSITIONS", "AdmissionCancelled", "CancellationReason", "DeclineReason",
    "PriorityPopulation", "StepUpDeclined", "StepUpProposed", "WaitlistExitReason",
    "WaitlistExited",
    "AuthorizationExpiring", "AuthorizationRecorded", "BedHeld", "BedHoldReleased",
    "HoldReleaseReason", "UnauthorizedStay",
    "AssessmentKind", "AttendanceRecorded", "AttendanceStatus", "Audience", "CapacityChanged",
    "ClientAdmitted", "ClientAssessed", "ClientDischarged", "ClientReferred", "ClientTransferred",
    "ConsentRecorded", "ConsentRevoked", "Dimensions", "Disposition", "FamilyRecipient",
    "Modality", "NotificationFailed", "NotificationSent", "NotificationSuppressed",
    "PlacementWaitlisted", "ReassessmentRequested", "ReferralSource", "RelapseRiskFlagged",
    "RiskIndicator", "RiskSeverity", "ScheduledSession", "SessionKind", "SessionsCancelled",
    "SessionsScheduled", "SteppedDown", "SteppedUp", "TransitionTrigger",
    # The closed reason-code lists (contracts/reasons.py).
    "DischargeReason", "OverrideReason", "ReassessmentReason", "RiskIndicatorCode",
    "TransitionReason", "WaitlistReason",
]
