"""The shapes of assessment's configuration files, validated at start-up.

- loc-rules.yaml, loc-rules-*.yaml -> RuleSet: an ordered list of level-of-care rules in a small
  condition language (see Condition), first match wins, then a default; each for the ASAM
  edition whose dimension meanings it assumes. RuleSets holds them all, one per edition.
- risk.yaml -> RiskPolicy: relapse-risk indicator weights, the window and severity thresholds.

Pure pydantic models: loading the files is deps.py's job, evaluating them the domain's.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from contracts import LevelOfCare
from contracts.levels import (
    ASAM_DIMENSIONS,
    ASAM_EDITIONS,
    DIMENSION_KEYS,
    AsamEdition,
    DimensionKey,
)

Rating = Annotated[int, Field(ge=0, le=4)]
PLACEHOLDERS = frozenset({"dims", "level", "total"})


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountAtLeast(Frozen):
    """At least `count` of the dimensions in `among` are rated `rating` or more."""

    rating: Rating
    count: int = Field(ge=1, le=6)
    among: tuple[DimensionKey, ...] = Field(default=DIMENSION_KEYS, min_length=1)

    @model_validator(mode="after")
    def _count_fits(self) -> Self:
        if self.count > len(self.among):
            raise ValueError(f"count {self.count} is more than the {len(self.among)} "
                             "dimensions in 'among'")
        return self


class Condition(Frozen):
    """The condition language. A rule holds when every condition it lists holds.

    any_at_least: {d1: 4, d3: 4}    one or more of these dimensions is at or above its rating
    all_at_least: {d1: 3, d2: 3}    every one of these is at or above its rating
    all_at_most:  {d1: 1, ...}      every one of these is at or below its rating
    count_at_least: {rating: 3, count: 2, among: [d1, d2, d3]}   (among defaults to all six)
    sum_at_least: 14                 the six ratings add up to at least this
    """

    any_at_least: dict[DimensionKey, Rating] | None = Field(default=None, min_length=1)
    all_at_least: dict[DimensionKey, Rating] | None = Field(default=None, min_length=1)
    all_at_most: dict[DimensionKey, Rating] | None = Field(default=None, min_length=1)
    count_at_least: CountAtLeast | None = None
    sum_at_least: int | None = Field(default=None, ge=0, le=24)


def _check_placeholders(reason: str) -> str:
    used = {field for _, field, _, _ in string.Formatter().parse(reason) if field is not None}
    unknown = used - PLACEHOLDERS
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in reason; "
                         f"use {sorted(PLACEHOLDERS)}")
    return reason


class DefaultRule(Frozen):
    level: LevelOfCare
    reason: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _placeholders(self) -> Self:
        _check_placeholders(self.reason)
        return self


class Rule(Condition, DefaultRule):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")

    @model_validator(mode="after")
    def _has_a_condition(self) -> Self:
        if not any(getattr(self, name) is not None for name in Condition.model_fields):
            raise ValueError(f"rule '{self.id}' has no condition; "
                             f"use one of {sorted(Condition.model_fields)}")
        return self


class RuleSet(Frozen):
    """A level-of-care rule set for ratings given with the dimension meanings of
    `asam_edition` (contracts.levels.ASAM_DIMENSIONS). `dimensions` may restate those meanings
    for the reader of the file; it cannot redefine them."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    asam_edition: AsamEdition
    illustrative: bool
    dimensions: dict[DimensionKey, str] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = Field(min_length=1, max_length=100)
    default: DefaultRule

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [rule.id for rule in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule ids must be unique; repeated: {repeated}")
        return self

    @model_validator(mode="after")
    def _dimensions_are_the_editions(self) -> Self:
        published = ASAM_DIMENSIONS[self.asam_edition]
        wrong = [f"{key} is {published[key]!r}, not {label!r}"
                 for key, label in self.dimensions.items()
                 if " ".join(label.lower().split()) != published[key]]
        if wrong:
            raise ValueError(f"dimensions must have the meanings of the "
                             f"{ASAM_EDITIONS[self.asam_edition]} (or be left out): "
                             + "; ".join(wrong))
        return self

    def meaning(self, key: DimensionKey) -> str:
        return ASAM_DIMENSIONS[self.asam_edition][key]

    def describe(self, key: DimensionKey, rating: int) -> str:
        return f"{key} {self.meaning(key)}={rating}"

    def assumed_meanings(self) -> str:
        return "; ".join(f"{key} {self.meaning(key)}" for key in DIMENSION_KEYS)


@dataclass(frozen=True)
class RuleSets:
    """Every configured rule set by the ASAM edition it assumes; an assessment that names no
    edition is judged by the one of `default_edition` (loc-rules.yaml's)."""

    by_edition: Mapping[int, RuleSet]
    default_edition: int


class Severity(str, Enum):
    none = "none"
    moderate = "moderate"
    high = "high"

    @property
    def rank(self) -> int:
        return {"none": 0, "moderate": 1, "high": 2}[self.value]


class ObservationKind(str, Enum):
    tox_screen = "tox_screen"
    craving = "craving"
    phq9 = "phq9"
    gad7 = "gad7"
    bam = "bam"

    @property
    def label(self) -> str:
        return {"tox_screen": "tox screen", "craving": "craving", "phq9": "PHQ-9",
                "gad7": "GAD-7", "bam": "BAM use days"}[self.value]


MeasureKind = Literal["craving", "phq9", "gad7", "bam"]


class PerEvent(Frozen):
    weight_each: PositiveFloat
    cap: PositiveFloat | None = None

    def weight_for(self, count: int) -> float:
        weight = count * self.weight_each
        return min(weight, self.cap) if self.cap is not None else weight


class Band(Frozen):
    at_least: float = Field(ge=0)
    weight: PositiveFloat


class Thresholds(Frozen):
    moderate: PositiveFloat
    high: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high <= self.moderate:
            raise ValueError("thresholds.high must be above thresholds.moderate")
        return self


class RiskPolicy(Frozen):
    window_days: int = Field(ge=1, le=90)
    thresholds: Thresholds
    missed_session: PerEvent
    late_arrival: PerEvent
    positive_tox_screen: PerEvent
    measures: dict[MeasureKind, tuple[Band, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bands_ascend(self) -> Self:
        for kind, bands in self.measures.items():
            cutoffs = [band.at_least for band in bands]
            if not bands or cutoffs != sorted(set(cutoffs)):
                raise ValueError(f"measures.{kind}: give bands with strictly ascending at_least")
        return self

    def severity_of(self, score: float) -> Severity:
        if score >= self.thresholds.high:
            return Severity.high
        if score >= self.thresholds.moderate:
            return Severity.moderate
        return Severity.none

    def measure_bands(self) -> dict[ObservationKind, tuple[Band, ...]]:
        return {ObservationKind(kind): bands for kind, bands in self.measures.items()}

