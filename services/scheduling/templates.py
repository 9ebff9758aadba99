"""The weekly session templates of config/schedules.yaml, validated against each level's rules
(weekly hour band, session kinds it must offer, daily programme) when the service starts."""

from __future__ import annotations

from datetime import time
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts import LevelOfCare
from contracts.events import Modality, SessionKind

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
MAX_SESSIONS_PER_EVENT = 500


class SessionTemplate(BaseModel):
    """One recurring session of a level's week, e.g. evening CBT group Mon/Wed/Fri at 18:00."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SessionKind
    modality: Modality | None = None
    days: tuple[Weekday, ...] = Field(min_length=1, max_length=7)
    start: ClockTime
    duration_min: int = Field(ge=10, le=8 * 60)

    @field_validator("start", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        # pydantic reports a ValueError (not a TypeError) as a validation error.
        if not isinstance(value, str):
            raise ValueError('start must be a quoted "HH:MM" string (YAML reads an '  # noqa: TRY004
                             "unquoted 18:00 as a number)")
        return value

    @model_validator(mode="after")
    def _fits_its_days(self) -> SessionTemplate:
        if len(set(self.days)) != len(self.days):
            raise ValueError(f"{self.kind.value}: a day is listed twice in {list(self.days)}")
        if self.start_minute + self.duration_min > 24 * 60:
            raise ValueError(f"{self.kind.value} at {self.start} runs past midnight")
        return self

    @property
    def start_time(self) -> time:
        hour, minute = self.start.split(":")
        return time(int(hour), int(minute))

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def weekly_minutes(self) -> int:
        return len(self.days) * self.duration_min


Week = tuple[SessionTemplate, ...]


def weekly_hours(week: Week) -> float:
    return round(sum(entry.weekly_minutes for entry in week) / 60, 2)


class HourBand(BaseModel):
    """Programme hours per week a level must offer: `at_least`, `at_most` (inclusive), `below`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_least: float = Field(default=0, ge=0)
    at_most: float | None = Field(default=None, gt=0)
    below: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_upper_bound(self) -> HourBand:
        if self.at_most is not None and self.below is not None:
            raise ValueError("give at most one of at_most and below")
        return self

    def contains(self, hours: float) -> bool:
        if hours < self.at_least:
            return False
        if self.at_most is not None and hours > self.at_most:
            return False
        return self.below is None or hours < self.below

    def describe(self) -> str:
        upper = (f"at most {self.at_most:g}" if self.at_most is not None
                 else f"below {self.below:g}" if self.below is not None else "no upper limit")
        return f"at least {self.at_least:g} and {upper} h/week"


class LevelRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly_hours: HourBand
    required_kinds: tuple[SessionKind, ...] = ()
    every_day: bool = False


def week_problems(week: Week, rules: LevelRules) -> list[str]:
    """What makes a level's week break its rules; empty when it is fine."""
    problems = []
    hours = weekly_hours(week)
    if not rules.weekly_hours.contains(hours):
        problems.append(f"{hours:g} h/week is outside the band ({rules.weekly_hours.describe()})")
    offered = {entry.kind for entry in week}
    missing = [kind.value for kind in rules.required_kinds if kind not in offered]
    if missing:
        problems.append(f"missing required session kinds {missing}")
    idle = [day for day in WEEKDAYS if not any(day in entry.days for entry in week)]
    if rules.every_day and idle:
        problems.append(f"a daily programme has no session on {idle}")
    problems.extend(_overlaps(week))
    return problems


def _overlaps(week: Week) -> list[str]:
    problems = []
    for day in WEEKDAYS:
        on_day = sorted((e for e in week if day in e.days), key=lambda e: e.start_minute)
        for earlier, later in pairwise(on_day):
            if earlier.start_minute + earlier.duration_min > later.start_minute:
                problems.append(f"{earlier.kind.value} at {earlier.start} overlaps "
                                f"{later.kind.value} at {later.start} on {day}")
    return problems


class SiteSchedule(BaseModel):
    """A site's own weeks for some levels (the rest come from `defaults`), and its time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str | None = None
    residential: Week | None = None
    php: Week | None = None
    iop: Week | None = None
    aftercare: Week | None = None

    def week(self, level: LevelOfCare) -> Week | None:
        week: Week | None = getattr(self, level.value)
        return week


class ScheduleConfig(BaseModel):
    """config/schedules.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "America/New_York"
    horizon_weeks: int = Field(default=2, ge=1, le=8)
    levels: dict[LevelOfCare, LevelRules]
    defaults: dict[LevelOfCare, Week]
    sites: dict[str, SiteSchedule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_week_keeps_its_rules(self) -> ScheduleConfig:
        problems = [f"{section}: {gap}" for section in ("levels", "defaults")
                    for gap in _missing_levels(getattr(self, section))]
        if not problems:
            problems = [f"{where}: {problem}" for where, level, week in self._all_weeks()
                        for problem in week_problems(week, self.levels[level])]
            problems += self._too_many_sessions() + self._unknown_zones()
        if problems:
            raise ValueError("invalid session templates:\n  " + "\n  ".join(problems))
        return self

    def _all_weeks(self) -> list[tuple[str, LevelOfCare, Week]]:
        weeks = [(f"defaults.{level.value}", level, week) for level, week in self.defaults.items()]
        for site_id, site in self.sites.items():
            weeks += [(f"sites.{site_id}.{level.value}", level, week)
                      for level in LevelOfCare if (week := site.week(level)) is not None]
        return weeks

    def _too_many_sessions(self) -> list[str]:
        return [f"{where}: {count} sessions in {self.horizon_weeks} weeks exceed "
                f"{MAX_SESSIONS_PER_EVENT}" for where, _, week in self._all_weeks()
                if (count := sum(len(e.days) for e in week) * self.horizon_weeks)
                > MAX_SESSIONS_PER_EVENT]

    def _unknown_zones(self) -> list[str]:
        zones = {self.timezone, *(s.timezone for s in self.sites.values() if s.timezone)}
        return [f"unknown time zone {zone!r}" for zone in sorted(zones) if not _zone_exists(zone)]

    def week_for(self, level: LevelOfCare, site_id: str | None) -> Week:
        site = self.sites.get(site_id or "")
        return (site.week(level) if site else None) or self.defaults[level]

    def zone_for(self, site_id: str | None) -> ZoneInfo:
        site = self.sites.get(site_id or "")
        return ZoneInfo((site.timezone if site else None) or self.timezone)


def _missing_levels(by_level: dict[LevelOfCare, object]) -> list[str]:
    return [f"no entry for level {level.value!r}" for level in LevelOfCare
            if level not in by_level]


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
