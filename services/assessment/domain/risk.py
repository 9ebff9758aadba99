"""Relapse risk: what a valid observation is, the weighted score over a recent window, and
when a score deserves a new flag. An indicator says which band its input reached (`phq9>=15`,
`missed>=2`), never the raw result: no more than its weight already tells."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from carepath.errors import InvalidInput
from services.assessment.policy import Band, ObservationKind, PerEvent, RiskPolicy, Severity

ObservationValue = str | int | float

TOX_RESULTS = ("positive", "negative")
MEASURE_RANGES: dict[ObservationKind, tuple[int, int, str]] = {
    ObservationKind.craving: (0, 10, "a craving rating"),
    ObservationKind.phq9: (0, 27, "a PHQ-9 total"),
    ObservationKind.gad7: (0, 21, "a GAD-7 total"),
    ObservationKind.bam: (0, 30, "days of substance use in the past 30 days (BAM)"),
}
CLOCK_SKEW = timedelta(minutes=1)


def check_observation(kind: ObservationKind, value: object) -> ObservationValue:
    """The value in its canonical form, or InvalidInput saying what a valid one is."""
    if kind is ObservationKind.tox_screen:
        if isinstance(value, str) and value.strip().lower() in TOX_RESULTS:
            return value.strip().lower()
        raise InvalidInput("tox_screen value must be 'positive' or 'negative'")
    low, high, meaning = MEASURE_RANGES[kind]
    whole_only = kind is not ObservationKind.craving
    if (isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
            and (value == int(value) or not whole_only)):
        return int(value) if value == int(value) else float(value)
    kind_of = "a whole number" if whole_only else "a number"
    raise InvalidInput(f"{kind.value} value must be {kind_of} from {low} to {high} ({meaning})")


def check_observed_at(observed_at: datetime, now: datetime) -> None:
    if observed_at > now + CLOCK_SKEW:
        raise InvalidInput("observed_at is in the future")


@dataclass(frozen=True)
class AttendanceMark:
    status: str
    at: datetime


@dataclass(frozen=True)
class Reading:
    kind: ObservationKind
    value: ObservationValue
    at: datetime


@dataclass(frozen=True)
class Indicator:
    name: str  # a RiskIndicatorCode value
    band: str
    detail: str  # the band in words
    weight: float


@dataclass(frozen=True)
class RiskScore:
    score: float
    severity: Severity
    indicators: tuple[Indicator, ...]


def attendance_time(*, scheduled_at: datetime, recorded_at: datetime) -> datetime:
    """A session counts when it was due; one marked ahead of its slot counts when marked."""
    return min(scheduled_at, recorded_at)


def score_risk(policy: RiskPolicy, *, marks: list[AttendanceMark], readings: list[Reading],
               now: datetime) -> RiskScore:
    """Weighted indicators over the `window_days` before `now` (inputs after `now` ignored)."""
    since = now - timedelta(days=policy.window_days)
    marks = [m for m in marks if since <= m.at <= now]
    readings = sorted((r for r in readings if since <= r.at <= now), key=lambda r: r.at)
    days = policy.window_days
    positives = sum(r.kind is ObservationKind.tox_screen and r.value == "positive"
                    for r in readings)
    indicators = [
        _per_event(policy.missed_session, PER_EVENT["missed_sessions"],
                   sum(m.status == "missed" for m in marks), days),
        _per_event(policy.late_arrival, PER_EVENT["late_arrivals"],
                   sum(m.status == "late" for m in marks), days),
        _per_event(policy.positive_tox_screen, PER_EVENT["positive_tox_screen"],
                   positives, days),
        *(_measure(kind, bands, readings) for kind, bands in policy.measure_bands().items()),
    ]
    found = tuple(i for i in indicators if i is not None)
    score = round(sum(i.weight for i in found), 2)
    return RiskScore(score=score, severity=policy.severity_of(score), indicators=found)


@dataclass(frozen=True)
class Counted:
    name: str
    short: str  # in the band
    noun: str  # plural, in the detail


PER_EVENT = {counted.name: counted for counted in (
    Counted("missed_sessions", "missed", "missed sessions"),
    Counted("late_arrivals", "late", "late arrivals"),
    Counted("positive_tox_screen", "tox_positive", "positive tox screens"),
)}


def _per_event(rule: PerEvent, counted: Counted, count: int, days: int) -> Indicator | None:
    """Counts are banded where the weight stops growing (its cap): past it, the exact count
    says more than the score does."""
    if count == 0:
        return None
    at_least = count if rule.cap is None else min(count, math.ceil(rule.cap / rule.weight_each))
    return Indicator(name=counted.name, band=f"{counted.short}>={at_least}",
                     detail=f"{at_least} or more {counted.noun} in {days} days",
                     weight=rule.weight_for(count))


def _measure(kind: ObservationKind, bands: tuple[Band, ...], readings: list[Reading]
             ) -> Indicator | None:
    """The latest reading of a measure in the window, scored by the highest band it reaches."""
    latest = next((r for r in reversed(readings) if r.kind is kind), None)
    if latest is None:
        return None
    reached = [band for band in bands if float(latest.value) >= band.at_least]
    if not reached:
        return None
    band = reached[-1]
    return Indicator(name=f"{kind.value}_elevated", band=f"{kind.value}>={band.at_least:g}",
                     detail=f"latest {kind.label} at or above {band.at_least:g}",
                     weight=band.weight)


def should_flag(current: Severity, already_flagged: Severity | None) -> bool:
    """Flag only when risk rises above what was flagged since the last placement change."""
    return current.rank > (already_flagged.rank if already_flagged else 0)
