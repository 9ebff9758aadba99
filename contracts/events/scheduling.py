"""Events emitted by scheduling."""

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import EventData, register
from contracts.levels import LevelOfCare


class SessionKind(str, Enum):
    individual_therapy = "individual_therapy"
    group_therapy = "group_therapy"
    family_therapy = "family_therapy"
    medication_management = "medication_management"
    life_skills = "life_skills"
    case_management = "case_management"


class Modality(str, Enum):
    cbt = "cbt"
    dbt = "dbt"
    mi = "mi"
    trauma_informed = "trauma_informed"


class AttendanceStatus(str, Enum):
    attended = "attended"
    missed = "missed"
    excused = "excused"
    late = "late"


class ScheduledSession(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: str = Field(max_length=64)
    kind: SessionKind
    modality: Modality | None = None
    starts_at: datetime
    duration_min: int = Field(gt=0, le=24 * 60)


class SchedulingEvent(EventData):
    service = "scheduling"


@register
class SessionsScheduled(SchedulingEvent):
    level: LevelOfCare
    sessions: tuple[ScheduledSession, ...] = Field(max_length=500)
    weekly_hours: float
    period_start: datetime
    period_end: datetime


@register
class SessionsCancelled(SchedulingEvent):
    session_ids: tuple[Annotated[str, Field(max_length=64)], ...] = Field(max_length=500)
    reason: str = Field(max_length=200)


@register
class AttendanceRecorded(SchedulingEvent):
    session_id: str = Field(max_length=64)
    status: AttendanceStatus
    kind: SessionKind
    level: LevelOfCare
    scheduled_at: datetime
