"""The level-of-care rule set: the shipped illustrative rules, the condition language, and
rejection of rule files that would give wrong or unexplained recommendations."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from carepath.config import ConfigError
from carepath.errors import Conflict
from carepath.settings import Settings
from contracts import LevelOfCare
from contracts.events import AssessmentKind, Dimensions
from services.assessment import domain
from services.assessment.deps import make_deps
from services.assessment.policy import RuleSet

SHIPPED = make_deps(Settings()).rule_sets.by_edition[3]
REPO_CONFIG = Settings().config_dir


def ratings(*values: int) -> Dimensions:
    return Dimensions(**{f"d{i}": v for i, v in enumerate(values, start=1)})


def rule_set(*rules: dict[str, Any], default: str = "iop", **extra: Any) -> RuleSet:
    return RuleSet.model_validate({
        "name": "test-rules", "asam_edition": 3, "illustrative": False,
        "rules": list(rules), "default": {"level": default, "reason": "fallback, total {total}"},
        **extra})


@pytest.mark.parametrize(("dims", "level"), [
    ((4, 0, 0, 0, 0, 0), LevelOfCare.residential),   # any 4 in d1..d3
    ((0, 0, 4, 0, 0, 0), LevelOfCare.residential),
    ((3, 3, 3, 0, 0, 0), LevelOfCare.residential),   # all of d1..d3 at 3 or more
    ((2, 2, 1, 1, 4, 1), LevelOfCare.php),           # high d5 with moderate others
    ((1, 2, 2, 1, 1, 3), LevelOfCare.php),           # high d6 with moderate others
    ((3, 3, 0, 3, 0, 0), LevelOfCare.php),           # several high ratings
    ((1, 1, 2, 2, 2, 2), LevelOfCare.iop),
    ((0, 0, 0, 0, 4, 0), LevelOfCare.iop),           # high d5 alone is moderate overall
    ((1, 1, 1, 1, 1, 1), LevelOfCare.aftercare),
    ((0, 0, 0, 0, 0, 0), LevelOfCare.aftercare),
])
def test_shipped_rules_reach_every_level(dims: tuple[int, ...], level: LevelOfCare) -> None:
    assert domain.recommend(SHIPPED, ratings(*dims)).level is level


def test_rationale_names_the_dimensions_that_drove_the_recommendation() -> None:
    result = domain.recommend(SHIPPED, ratings(0, 1, 4, 0, 0, 0))
    assert result.rule_id == "severe-acute-need"
    assert "d3 emotional, behavioral, or cognitive conditions and complications=4" in (
        result.rationale[0])
    assert "d1" not in result.rationale[0] and "d2" not in result.rationale[0]
    assert any("severe-acute-need" in line for line in result.rationale)


def test_shipped_rules_say_they_are_illustrative_everywhere_a_reader_looks() -> None:
    text = (REPO_CONFIG / "loc-rules.yaml").read_text()
    assert "ILLUSTRATIVE ONLY" in text and "not the ASAM" in text.replace("NOT", "not")
    assert SHIPPED.illustrative
    assert any("illustrative" in line for line in domain.recommend(SHIPPED, ratings(
        1, 1, 1, 1, 1, 1)).rationale)


def test_first_matching_rule_wins_even_when_a_later_one_also_matches() -> None:
    rules = rule_set(
        {"id": "first", "level": "php", "reason": "first: {dims}", "any_at_least": {"d5": 3}},
        {"id": "second", "level": "residential", "reason": "second", "sum_at_least": 3})
    result = domain.recommend(rules, ratings(0, 0, 0, 0, 3, 0))
    assert (result.level, result.rule_id) == (LevelOfCare.php, "first")
    reordered = rule_set(*reversed(rules.model_dump(exclude_none=True)["rules"]))
    assert domain.recommend(reordered, ratings(0, 0, 0, 0, 3, 0)).rule_id == "second"


def test_default_applies_when_no_rule_matches() -> None:
    rules = rule_set({"id": "only", "level": "residential", "reason": "x",
                      "any_at_least": {"d1": 4}}, default="aftercare")
    result = domain.recommend(rules, ratings(1, 2, 0, 0, 0, 0))
    assert (result.level, result.rule_id) == (LevelOfCare.aftercare, "default")
    assert result.rationale[0] == "fallback, total 3"


def test_every_condition_of_a_rule_must_hold() -> None:
    rules = rule_set({"id": "both", "level": "php", "reason": "{dims}",
                      "any_at_least": {"d5": 3, "d6": 3},
                      "count_at_least": {"rating": 2, "count": 2, "among": ["d1", "d2", "d3"]}})
    assert domain.recommend(rules, ratings(2, 2, 0, 0, 3, 0)).rule_id == "both"
    assert domain.recommend(rules, ratings(2, 0, 0, 0, 3, 0)).rule_id == "default"
    assert domain.recommend(rules, ratings(2, 2, 0, 0, 2, 2)).rule_id == "default"


@pytest.mark.parametrize(("condition", "holds", "fails"), [
    ({"all_at_least": {"d1": 2, "d2": 2}}, (2, 3, 0, 0, 0, 0), (2, 1, 0, 0, 0, 0)),
    ({"all_at_most": {"d1": 1, "d4": 0}}, (1, 4, 4, 0, 4, 4), (2, 0, 0, 0, 0, 0)),
    ({"count_at_least": {"rating": 3, "count": 2}}, (3, 0, 0, 0, 0, 4), (3, 2, 2, 2, 2, 2)),
    ({"sum_at_least": 10}, (2, 2, 2, 2, 2, 0), (2, 2, 2, 2, 1, 0)),
])
def test_condition_language(condition: dict[str, Any], holds: tuple[int, ...],
                            fails: tuple[int, ...]) -> None:
    rules = rule_set({"id": "r", "level": "residential", "reason": "{dims}", **condition})
    assert domain.recommend(rules, ratings(*holds)).level is LevelOfCare.residential
    assert domain.recommend(rules, ratings(*fails)).rule_id == "default"


def test_count_rationale_names_only_the_dimensions_that_counted() -> None:
    rules = rule_set({"id": "r", "level": "php", "reason": "high: {dims}",
                      "count_at_least": {"rating": 3, "count": 2}})
    assert domain.recommend(rules, ratings(3, 0, 1, 0, 4, 2)).rationale[0] == (
        "high: d1 acute intoxication and/or withdrawal potential=3; "
        "d5 relapse, continued use, or continued problem potential=4")


@pytest.mark.parametrize(("broken", "complaint"), [
    ({"any_at_least": {"d7": 4}}, "d7"),
    ({"any_at_least": {"d1": 5}}, "less than or equal to 4"),
    ({"any_at_leest": {"d1": 4}}, "any_at_leest"),
    ({}, "has no condition"),
    ({"count_at_least": {"rating": 3, "count": 3, "among": ["d1", "d2"]}}, "count 3"),
    ({"reason": "driven by {dimensions}"}, "unknown placeholder"),
    ({"level": "detox"}, "level"),
])
def test_invalid_rules_are_rejected_with_a_reason(broken: dict[str, Any], complaint: str) -> None:
    rule = {"id": "bad", "level": "php", "reason": "{dims}", **broken}
    if broken and not any(key.endswith(("least", "most", "leest")) for key in broken):
        rule["sum_at_least"] = 0  # the rule is otherwise valid: only `broken` is wrong
    with pytest.raises(ValidationError, match=complaint):
        rule_set(rule)


def test_rule_set_level_problems_are_rejected() -> None:
    ok = {"id": "a", "level": "php", "reason": "x", "sum_at_least": 1}
    with pytest.raises(ValidationError, match="unique"):
        rule_set(ok, ok)
    with pytest.raises(ValidationError, match="asam_edition"):
        rule_set(ok, asam_edition=9)
    with pytest.raises(ValidationError, match="rules"):
        rule_set()


def test_a_bad_rule_file_stops_start_up_naming_the_file_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "risk.yaml").write_text((REPO_CONFIG / "risk.yaml").read_text())
    (tmp_path / "loc-rules.yaml").write_text(
        (REPO_CONFIG / "loc-rules.yaml").read_text().replace("level: php", "level: hospital", 1))
    with pytest.raises(ConfigError, match=r"loc-rules\.yaml is not a valid RuleSet: rules\.2\.lev"):
        make_deps(Settings(config_dir=tmp_path))
    (tmp_path / "loc-rules.yaml").unlink()
    with pytest.raises(ConfigError, match="loc-rules.yaml not found"):
        make_deps(Settings(config_dir=tmp_path))


def test_another_rule_file_plugs_in_through_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "risk.yaml").write_text((REPO_CONFIG / "risk.yaml").read_text())
    (tmp_path / "loc-rules.yaml").write_text(
        "name: site-approved\nasam_edition: 4\nillustrative: false\n"
        "rules: [{id: all-iop, level: iop, reason: always, sum_at_least: 0}]\n"
        "default: {level: iop, reason: unreachable}\n")
    rule_sets = make_deps(Settings(config_dir=tmp_path)).rule_sets
    rules = domain.rule_set_for(rule_sets, None)  # loc-rules.yaml judges when no edition is named
    result = domain.recommend(rules, ratings(4, 4, 4, 4, 4, 4))
    assert (rules.name, rules.asam_edition, result.level) == ("site-approved", 4, LevelOfCare.iop)
    assert not any("illustrative" in line for line in result.rationale)
    with pytest.raises(domain.NoRuleSetForEdition, match="no level-of-care rule set for ASAM "
                                                         "edition 3 is configured"):
        domain.rule_set_for(rule_sets, 3)


def test_override_decides_the_final_level() -> None:
    assert domain.final_level(LevelOfCare.iop, None) is LevelOfCare.iop
    assert domain.final_level(LevelOfCare.iop, LevelOfCare.php) is LevelOfCare.php


def test_assessment_kind_must_fit_whether_the_client_is_in_care() -> None:
    domain.check_kind(AssessmentKind.initial, in_care=False)
    domain.check_kind(AssessmentKind.reassessment, in_care=True)
    with pytest.raises(Conflict, match="use kind 'reassessment'"):
        domain.check_kind(AssessmentKind.initial, in_care=True)
    with pytest.raises(Conflict, match="use kind 'initial'"):
        domain.check_kind(AssessmentKind.reassessment, in_care=False)
