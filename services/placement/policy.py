"""The shape of placement's configuration file (config/placement.yaml), validated at start-up.
Pure pydantic: loading is app.py's job, applying it the domain's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from carepath.config import Payer, Payers
from contracts.events import PriorityPopulation
from contracts.utilization import ReviewWindows

STANDARD = "standard"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepUpPolicy(str, Enum):
    review = "review"
    automatic = "automatic"


class PriorityClass(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    all_of: tuple[PriorityPopulation, ...] = Field(min_length=1)


@dataclass(frozen=True, order=True)
class Priority:
    """Where someone waits: a lower rank is admitted first; FIFO within a rank."""

    rank: int
    name: str


class AdmissionRules(Frozen):
    no_show_after_days: PositiveFloat = 3.0


class EpisodeRules(Frozen):
    dropped_out_after_days: PositiveFloat = 30.0


class WaitlistRules(Frozen):
    priority_classes: tuple[PriorityClass, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [c.id for c in self.priority_classes]
        if len(set(ids)) != len(ids) or STANDARD in ids:
            raise ValueError(f"priority class ids must be unique and not {STANDARD!r}: {ids}")
        return self


class Checks(Frozen):
    every_s: PositiveFloat = 60.0


class HoldRules(Frozen):
    max_days: PositiveFloat = 14.0  # the longest a bed may be held (POST /sites/{id}/holds)


class PlacementPolicy(Frozen):
    organization: str = Field(min_length=1, max_length=64)
    step_up_policy: StepUpPolicy = StepUpPolicy.review
    admission: AdmissionRules = AdmissionRules()
    episodes: EpisodeRules = EpisodeRules()
    waitlist: WaitlistRules = WaitlistRules()
    checks: Checks = Checks()
    holds: HoldRules = HoldRules()
    payers: tuple[Payer, ...] = ()
    utilization_review: ReviewWindows = ReviewWindows()

    @model_validator(mode="after")
    def _unique_payers(self) -> Self:
        Payers(payers=self.payers)  # the rules of the list intake reads too (carepath.config)
        return self

    def payer(self, code: str) -> Payer | None:
        return Payers(payers=self.payers).payer(code)

    @property
    def no_show_after(self) -> timedelta:
        return timedelta(days=self.admission.no_show_after_days)

    @property
    def dropped_out_after(self) -> timedelta:
        return timedelta(days=self.episodes.dropped_out_after_days)

    def priority_of(self, populations: Iterable[PriorityPopulation]) -> Priority:
        """The first class whose every population applies; otherwise the standard class."""
        have = set(populations)
        classes = self.waitlist.priority_classes
        for rank, klass in enumerate(classes):
            if have.issuperset(klass.all_of):
                return Priority(rank, klass.id)
        return Priority(len(classes), STANDARD)


DEFAULT_POLICY = PlacementPolicy(organization="default")
