"""Events emitted by placement."""

from enum import Enum
from typing import Annotated

from pydantic import Field, model_validator

from contracts.envelope import EventData, register
from contracts.levels import LevelOfCare


class Disposition(str, Enum):
    completed = "completed"
    ama = "ama"
    administrative = "administrative"
    transferred_out = "transferred_out"


class TransitionTrigger(str, Enum):
    reassessment = "reassessment"
    risk_flag = "risk_flag"
    manual = "manual"
    completion = "completion"
    waitlist = "waitlist"


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
    reason: str = Field(max_length=200)
    current_level: LevelOfCare | None = None


class _Step(PlacementEvent):
    from_level: LevelOfCare
    to_level: LevelOfCare
    trigger: TransitionTrigger
    reason: str = Field(max_length=500)
    from_waitlist: bool = False


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
    from_site: str = Field(max_length=64)
    to_site: str = Field(max_length=64)
    level: LevelOfCare
    reason: str = Field(max_length=500)


@register
class ClientDischarged(PlacementEvent):
    level: LevelOfCare
    disposition: Disposition
    reason: str | None = Field(default=None, max_length=500)
    los_days: float = Field(ge=0)


@register
class ReassessmentRequested(PlacementEvent):
    reason: str = Field(max_length=500)
    flag_id: str | None = Field(default=None, max_length=64)
    current_level: LevelOfCare


@register
class CapacityChanged(PlacementEvent):
    """A site's capacity per level; its subject is the site (`site-<id>`), not a client."""

    site_id: str = Field(max_length=64)
    capacity: dict[LevelOfCare, int]
