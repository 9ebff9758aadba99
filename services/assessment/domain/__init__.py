"""Assessment's pure rules (no I/O, no FastStream, SQLModel or OTel): the level-of-care
rule-set evaluator (levels.py), relapse-risk scoring (risk.py) and flagging (flagging.py), what
assessment knows of a client's care (care.py) and what it needs of storage (ports.py: the
repository Protocol the store implements). The rules themselves are data, validated by
services.assessment.policy."""

import secrets
import uuid

from services.assessment.domain.care import ClientCare, Pending
from services.assessment.domain.flagging import current_risk, flag_rising_risk
from services.assessment.domain.levels import (
    CareState,
    NoRuleSetForEdition,
    Recommendation,
    care_after,
    check_kind,
    drivers_of,
    final_level,
    recommend,
    rule_set_for,
)
from services.assessment.domain.ports import (
    AssessmentRecord,
    AssessmentRepository,
    ObservationRecord,
    Outbox,
)
from services.assessment.domain.risk import (
    AttendanceMark,
    Indicator,
    ObservationValue,
    Reading,
    RiskScore,
    attendance_time,
    check_observation,
    check_observed_at,
    score_risk,
    should_flag,
)

_NAMESPACE = uuid.UUID("5d0c3f4e-9a51-4c7e-8f0e-6a7d2b1c9e31")


def mint_id(prefix: str, *, from_event: uuid.UUID | None = None) -> str:
    """An opaque id; derived from an event id when given, so a re-run handler mints the same."""
    token = uuid.uuid5(_NAMESPACE, str(from_event)).hex[:16] if from_event else secrets.token_hex(8)
    return f"{prefix}-{token}"


__all__ = [
    "AssessmentRecord", "AssessmentRepository", "AttendanceMark", "CareState", "ClientCare",
    "Indicator", "NoRuleSetForEdition", "ObservationRecord", "ObservationValue", "Outbox",
    "Pending", "Reading", "Recommendation", "RiskScore", "attendance_time", "care_after",
    "check_kind", "check_observation", "check_observed_at", "current_risk", "drivers_of",
    "final_level", "flag_rising_risk", "mint_id", "recommend", "rule_set_for", "score_risk",
    "should_flag",
]
