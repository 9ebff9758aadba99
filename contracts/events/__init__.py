"""Every Carepath event payload, one module per producing service."""

from contracts.events.assessment import (
    AssessmentKind,
    ClientAssessed,
    Dimensions,
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
    CapacityChanged,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    Disposition,
    PlacementWaitlisted,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    TransitionTrigger,
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
    "AssessmentKind", "AttendanceRecorded", "AttendanceStatus", "Audience", "CapacityChanged",
    "ClientAdmitted", "ClientAssessed", "ClientDischarged", "ClientReferred", "ClientTransferred",
    "ConsentRecorded", "ConsentRevoked", "Dimensions", "Disposition", "FamilyRecipient",
    "Modality", "NotificationFailed", "NotificationSent", "NotificationSuppressed",
    "PlacementWaitlisted", "ReassessmentRequested", "ReferralSource", "RelapseRiskFlagged",
    "RiskIndicator", "RiskSeverity", "ScheduledSession", "SessionKind", "SessionsCancelled",
    "SessionsScheduled", "SteppedDown", "SteppedUp", "TransitionTrigger",
]
