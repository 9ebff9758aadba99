"""Events emitted by assessment."""

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import EventData, register
from contracts.levels import LevelOfCare
from contracts.reasons import OverrideReason, RiskIndicatorCode

Rating = Annotated[int, Field(ge=0, le=4)]


class AssessmentKind(str, Enum):
    initial = "initial"
    reassessment = "reassessment"


class RiskSeverity(str, Enum):
    moderate = "moderate"
    high = "high"


class PriorityPopulation(str, Enum):
    """Populations a waitlist admits first. Federal substance-use block-grant rules (45 CFR
    96.131(a)) give preference, in this order, to pregnant women who inject drugs, pregnant
    women, people who inject drugs, then everyone else; 45 CFR 96.126 asks that people who
    inject drugs be admitted within 14 days of asking. Recorded by the assessing clinician."""

    pregnant = "pregnant"
    injection_drug_use = "injection_drug_use"


class Dimensions(BaseModel):
    """Ratings 0-4 on the six assessment dimensions (d1..d6)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    d1: Rating
    d2: Rating
    d3: Rating
    d4: Rating
    d5: Rating
    d6: Rating


class RiskIndicator(BaseModel):
    """One input of a relapse-risk score: what (`code`), in which band (`band`, e.g.
    `phq9>=15`, `missed>=2`) and its weight; `detail` describes the band in words. Never the
    raw result of an instrument (before 2026-12 `detail` held it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(max_length=40)
    detail: str = Field(max_length=120)
    weight: float
    # Since 2026-12.
    code: RiskIndicatorCode | None = None
    band: str | None = Field(default=None, max_length=40)


class AssessmentEvent(EventData):
    service = "assessment"


@register
class ClientAssessed(AssessmentEvent):
    assessment_id: str = Field(max_length=64)
    kind: AssessmentKind
    dimensions: Dimensions
    recommended_level: LevelOfCare
    rationale: tuple[str, ...] = Field(max_length=20)
    final_level: LevelOfCare
    override_level: LevelOfCare | None = None
    override_reason: str | None = Field(
        default=None, max_length=500, description="since 2026-12 the value of "
        "`override_reason_code`, never free text (a clinician's note stays in assessment)")
    assessed_by: str = Field(max_length=120, description="who assessed: the `sub` of the "
                             "clinician's token")
    rule_set: str = Field(max_length=64)
    asam_edition: int = 3
    # Since 2026-12: populations the waitlist gives priority to (see PriorityPopulation).
    priority_populations: tuple[PriorityPopulation, ...] = Field(default=(), max_length=4)
    # Since 2026-12: why the clinician overrode the recommendation, as a code.
    override_reason_code: OverrideReason | None = None


@register
class RelapseRiskFlagged(AssessmentEvent):
    flag_id: str = Field(max_length=64)
    severity: RiskSeverity
    score: float
    indicators: tuple[RiskIndicator, ...] = Field(max_length=20)
    current_level: LevelOfCare | None = None
