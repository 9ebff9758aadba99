"""Assessment's HTTP request and response shapes. Requests refuse unknown fields and bound
every string; identities never appear here, only pseudonymous refs and staff ids (the assessor
is the caller's token). An override's reason is a code; free text only as `override_note`,
which stays in assessment and is shown to clinicians only, each read audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from carepath.http.validation import UtcDateTime
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import AssessmentKind, Dimensions, OverrideReason, PriorityPopulation
from contracts.levels import AsamEdition
from services.assessment import domain
from services.assessment.policy import ObservationKind, Severity

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def _refused(instead: str) -> Callable[[object], None]:
    def refuse(_value: object) -> None:
        raise PydanticCustomError("retired_field", instead)

    return refuse


# Fields of the first release, refused (422) saying what to send instead; not in the schema.
RetiredOverrideReason = SkipJsonSchema[Annotated[None, BeforeValidator(_refused(
    "'override_reason' is no longer accepted: send 'override_reason_code' (a code from the "
    "list in the API schema) and any free text as 'override_note'"))]]
RetiredAssessedBy = SkipJsonSchema[Annotated[None, BeforeValidator(_refused(
    "'assessed_by' is no longer accepted: the assessor is the caller, as their token says "
    "('sub')"))]]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_ref: ClientRef
    kind: AssessmentKind
    dimensions: Dimensions
    override_level: LevelOfCare | None = None
    override_reason_code: OverrideReason | None = None
    override_note: Note | None = Field(
        default=None, description="free text explaining the override: kept in assessment, "
        "shown only to clinicians by GET /assessments/{assessment_id} (every read audited), "
        "never in an event or a log")
    override_reason: RetiredOverrideReason = None
    assessed_by: RetiredAssessedBy = None
    asam_edition: AsamEdition | None = Field(
        default=None, description="the ASAM Criteria edition whose dimension meanings the "
        "ratings use; judged by the rule set for that edition (absent: the default rule set)")
    priority_populations: tuple[PriorityPopulation, ...] = Field(
        default=(), max_length=len(PriorityPopulation),
        description="populations the waitlist admits first (45 CFR 96.131)")

    @field_validator("priority_populations")
    @classmethod
    def _once_each_in_priority_order(cls, value: tuple[PriorityPopulation, ...]
                                     ) -> tuple[PriorityPopulation, ...]:
        return tuple(population for population in PriorityPopulation if population in value)

    @model_validator(mode="after")
    def _override_is_explained(self) -> Self:
        if self.override_level is not None and self.override_reason_code is None:
            raise ValueError("override_level needs an override_reason_code")
        if self.override_level is None and (self.override_reason_code or self.override_note):
            raise ValueError("override_reason_code and override_note explain an override: "
                             "give override_level too")
        return self


class AssessmentOut(BaseModel):
    assessment_id: str
    client_ref: str
    kind: AssessmentKind
    dimensions: Dimensions
    recommended_level: LevelOfCare
    final_level: LevelOfCare
    rationale: list[str]
    rule_id: str
    override_level: LevelOfCare | None
    override_reason: str | None = Field(description="= override_reason_code")
    override_reason_code: OverrideReason | None
    override_note: str | None = Field(
        default=None, description="only on GET /assessments/{assessment_id}, to clinicians "
        "(the read is audited)")
    rule_set: str
    asam_edition: int
    asam_codes: list[str]
    priority_populations: list[PriorityPopulation]
    assessed_by: str
    assessed_at: datetime
    event_id: uuid.UUID


class IndicatorOut(BaseModel):
    name: str
    code: str
    band: str
    detail: str
    weight: float


class RiskOut(BaseModel):
    score: float
    severity: Severity
    indicators: list[IndicatorOut]

    @classmethod
    def of(cls, risk: domain.RiskScore) -> Self:
        return cls(score=risk.score, severity=risk.severity, indicators=[
            IndicatorOut(name=i.name, code=i.name, band=i.band, detail=i.detail, weight=i.weight)
            for i in risk.indicators])


class ClientRiskOut(RiskOut):
    client_ref: str
    flagged_severity: Severity | None = Field(
        description="the highest severity flagged since the client's last placement change")


class PendingOut(BaseModel):
    kind: AssessmentKind
    trigger_event_id: uuid.UUID
    flag_id: str | None


class ClientOut(BaseModel):
    """What assessment knows of a client: no identity, only care state."""

    client_ref: str
    site_id: str | None
    in_care: bool
    current_level: LevelOfCare | None
    episode_id: uuid.UUID | None
    pending_assessment: PendingOut | None


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ObservationKind
    value: Annotated[str, StringConstraints(max_length=20)] | StrictInt | StrictFloat
    observed_at: UtcDateTime | None = None


class ObservationOut(BaseModel):
    observation_id: str
    client_ref: str
    kind: ObservationKind
    value: str | int | float
    observed_at: datetime
    risk: RiskOut
    flag_id: str | None = Field(description="the RelapseRiskFlagged this observation raised")
