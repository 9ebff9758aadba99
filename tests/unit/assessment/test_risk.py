"""Relapse-risk scoring over the shipped weights, and when a score raises a new flag."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from carepath.config import ConfigError
from carepath.settings import Settings
from contracts.events import RiskIndicatorCode
from services.assessment import domain
from services.assessment.deps import make_deps
from services.assessment.domain import AttendanceMark, Reading
from services.assessment.policy import ObservationKind, RiskPolicy, Severity

POLICY = make_deps(Settings()).risk
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def missed(n: int, at: datetime = NOW) -> list[AttendanceMark]:
    return [AttendanceMark(status="missed", at=at) for _ in range(n)]


def reading(kind: str, value: Any, at: datetime = NOW) -> Reading:
    return Reading(kind=ObservationKind(kind), value=value, at=at)


def score(marks: list[AttendanceMark] = [], readings: list[Reading] = [],  # noqa: B006
          now: datetime = NOW) -> domain.RiskScore:
    return domain.score_risk(POLICY, marks=marks, readings=readings, now=now)


def test_two_missed_sessions_are_moderate_and_a_positive_tox_screen_makes_it_high() -> None:
    first = score(missed(1))
    assert (first.score, first.severity) == (2.0, Severity.none)
    moderate = score(missed(2, at=days_ago(3)))
    assert (moderate.score, moderate.severity) == (4.0, Severity.moderate)
    assert [(i.name, i.band, i.detail) for i in moderate.indicators] == [
        ("missed_sessions", "missed>=2", "2 or more missed sessions in 14 days")]
    high = score(missed(2, at=days_ago(3)), [reading("tox_screen", "positive")])
    assert (high.score, high.severity) == (8.0, Severity.high)
    assert {i.name: i.weight for i in high.indicators} == {
        "missed_sessions": 2.0 * 2, "positive_tox_screen": 4.0}


def test_missed_sessions_are_capped_and_late_arrivals_weigh_little() -> None:
    capped = score(missed(5)).indicators[0]
    assert (capped.weight, capped.band, capped.detail) == (
        6.0, "missed>=3", "3 or more missed sessions in 14 days"), "banded where the weight caps"
    late = score([AttendanceMark(status="late", at=NOW)] * 2
                 + [AttendanceMark(status="attended", at=NOW)])
    assert (late.score, late.indicators[0].band) == (1.0, "late>=2")


def test_only_the_recent_window_before_the_scoring_time_counts() -> None:
    old = missed(3, at=days_ago(15))
    later = missed(3, at=NOW + timedelta(hours=1))
    assert score(old + later).score == 0.0
    assert score(missed(1, at=days_ago(14))).score == 2.0


@pytest.mark.parametrize(("kind", "value", "weight"), [
    ("craving", 6, 0.0), ("craving", 7, 2.0),
    ("phq9", 14, 0.0), ("phq9", 15, 2.0), ("phq9", 19, 2.0), ("phq9", 20, 3.0),
    ("gad7", 15, 1.5), ("gad7", 14, 0.0),
    ("bam", 3, 0.0), ("bam", 4, 2.0),
    ("tox_screen", "negative", 0.0),
])
def test_measure_thresholds(kind: str, value: Any, weight: float) -> None:
    assert score(readings=[reading(kind, value)]).score == weight


def test_the_latest_reading_of_a_measure_counts_not_an_earlier_one() -> None:
    improved = [reading("phq9", 22, at=days_ago(5)), reading("phq9", 8, at=days_ago(1))]
    assert score(readings=improved).score == 0.0
    worsened = [reading("craving", 2, at=days_ago(5)), reading("craving", 9, at=days_ago(1))]
    result = score(readings=worsened)
    [indicator] = result.indicators
    assert (result.score, indicator.band, indicator.detail) == (
        2.0, "craving>=7", "latest craving at or above 7")


def test_indicators_carry_codes_and_bands_never_an_instrument_result() -> None:
    everything = score(missed(2) + [AttendanceMark(status="late", at=NOW)],
                       [reading("tox_screen", "positive"), reading("phq9", 21),
                        reading("gad7", 16), reading("bam", 5), reading("craving", 8)])
    assert everything.severity is Severity.high
    assert {(i.name, i.band) for i in everything.indicators} == {
        ("missed_sessions", "missed>=2"), ("late_arrivals", "late>=1"),
        ("positive_tox_screen", "tox_positive>=1"), ("phq9_elevated", "phq9>=20"),
        ("gad7_elevated", "gad7>=15"), ("bam_elevated", "bam>=4"),
        ("craving_elevated", "craving>=7")}
    for indicator in everything.indicators:
        assert RiskIndicatorCode(indicator.name)
        assert len(indicator.band) <= 40 and len(indicator.detail) <= 120
        assert not {"21", "16", "5", "8"} & set(indicator.detail.split() + [indicator.band])


def test_a_flag_is_raised_only_when_severity_rises_above_what_was_flagged() -> None:
    assert not domain.should_flag(Severity.none, None)
    assert domain.should_flag(Severity.moderate, None)
    assert not domain.should_flag(Severity.moderate, Severity.moderate)
    assert domain.should_flag(Severity.high, Severity.moderate)
    assert not domain.should_flag(Severity.moderate, Severity.high)


def test_a_session_counts_when_due_unless_marked_before_its_slot() -> None:
    assert domain.attendance_time(scheduled_at=days_ago(2), recorded_at=NOW) == days_ago(2)
    ahead = NOW + timedelta(days=1)
    assert domain.attendance_time(scheduled_at=ahead, recorded_at=NOW) == NOW


def policy_with(**changes: Any) -> RiskPolicy:
    return RiskPolicy.model_validate({**POLICY.model_dump(), **changes})


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"thresholds": {"moderate": 6, "high": 3}}, "high must be above"),
    ({"measures": {"phq9": [{"at_least": 20, "weight": 3}, {"at_least": 15, "weight": 2}]}},
     "ascending"),
    ({"measures": {"pulse": [{"at_least": 1, "weight": 1}]}}, "pulse"),
    ({"missed_session": {"weight_each": -2}}, "greater than 0"),
    ({"window_days": 0}, "window_days"),
])
def test_invalid_risk_policies_are_rejected(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        policy_with(**changes)


def test_a_bad_risk_file_stops_start_up(tmp_path: Path) -> None:
    config = Settings().config_dir
    (tmp_path / "loc-rules.yaml").write_text((config / "loc-rules.yaml").read_text())
    broken = yaml.safe_load((config / "risk.yaml").read_text()) | {"thresholds": {"high": 6}}
    (tmp_path / "risk.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError, match=r"risk\.yaml is not a valid RiskPolicy: "
                                          r"thresholds\.moderate: Field required"):
        make_deps(Settings(config_dir=tmp_path))
