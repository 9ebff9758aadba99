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
    CancellationReason,
    CapacityChanged,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    DeclineReason,
    Disposition,
    PlacementWaitlisted,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
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

__all__ = [
    "TEDS_DISPOSITIONS", "AdmissionCancelled", "CancellationReason", "DeclineReason",
    "PriorityPopulation", "StepUpDeclined", "StepUpProposed", "WaitlistExitReason",
    "WaitlistExited",
    "AssessmentKind", "AttendanceRecorded", "AttendanceStatus", "Audience", "CapacityChanged",
    "ClientAdmitted", "ClientAssessed", "ClientDischarged", "ClientReferred", "ClientTransferred",
    "ConsentRecorded", "ConsentRevoked", "Dimensions", "Disposition", "FamilyRecipient",
    "Modality", "NotificationFailed", "NotificationSent", "NotificationSuppressed",
    "PlacementWaitlisted", "ReassessmentRequested", "ReferralSource", "RelapseRiskFlagged",
    "RiskIndicator", "RiskSeverity", "ScheduledSession", "SessionKind", "SessionsCancelled",
    "SessionsScheduled", "SteppedDown", "SteppedUp", "TransitionTrigger",
]
