"""Assessment's pure rules (no I/O, no FastStream, SQLModel or OTel): the level-of-care
rule-set evaluator (levels.py) and relapse-risk scoring (risk.py). The rules themselves are
data, validated by services.assessment.policy."""

import secrets
import uuid

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
    "AttendanceMark", "CareState", "Indicator", "NoRuleSetForEdition", "ObservationValue",
    "Reading", "Recommendation", "RiskScore", "attendance_time", "care_after", "check_kind",
    "check_observation", "check_observed_at", "drivers_of", "final_level", "mint_id",
    "recommend", "rule_set_for", "score_risk", "should_flag",
]
