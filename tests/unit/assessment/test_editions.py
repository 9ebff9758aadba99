"""ASAM editions: the level codes and dimension meanings each edition publishes, rule sets that
declare the edition they assume, and assessments judged by their own edition's rules or refused."""

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import ValidationError

from carepath.config import ConfigError
from carepath.settings import Settings
from contracts import ASAM_CODES, LevelOfCare
from contracts.events import Dimensions
from contracts.levels import ASAM_DIMENSIONS, DIMENSION_KEYS, AsamEdition
from services.assessment import domain
from services.assessment.deps import make_deps
from services.assessment.policy import RuleSet, RuleSets

L = LevelOfCare
REPO_CONFIG = Settings().config_dir
SHIPPED = make_deps(Settings()).rule_sets


def ratings(*values: int) -> Dimensions:
    return Dimensions(**dict(zip(DIMENSION_KEYS, values, strict=True)))


def copy_config(to: Path, *names: str) -> Path:
    for name in names:
        (to / name).write_text((REPO_CONFIG / name).read_text())
    return to


def test_third_edition_codes_follow_the_2013_criteria() -> None:
    assert L.residential.asam_codes(3) == ("3.1", "3.3", "3.5", "3.7")
    assert (L.php.asam_codes(3), L.iop.asam_codes(3)) == (("2.5",), ("2.1",))
    assert L.aftercare.asam_codes(3) == ("1",)  # "Level 1": no 1.x gradations in 2013
    third = {code for codes in ASAM_CODES[3].values() for code in codes}
    assert not third & {"1.0", "1.5", "1.7", "2.7"}  # 4th-edition levels


def test_fourth_edition_codes_follow_the_2023_criteria() -> None:
    assert L.residential.asam_codes(4) == ("3.1", "3.5", "3.7")  # 3.3 retired
    assert (L.php.asam_codes(4), L.iop.asam_codes(4)) == (("2.5", "2.7"), ("2.1",))
    assert L.aftercare.asam_codes(4) == ("1.0", "1.5", "1.7")


def test_every_edition_has_codes_for_every_level_and_a_meaning_for_every_dimension() -> None:
    assert set(get_args(AsamEdition)) == set(ASAM_CODES) == set(ASAM_DIMENSIONS)
    for edition in ASAM_CODES:
        assert set(ASAM_CODES[edition]) == set(LevelOfCare)
        assert tuple(ASAM_DIMENSIONS[edition]) == DIMENSION_KEYS
    assert ASAM_DIMENSIONS[3]["d4"] == "readiness to change"
    assert ASAM_DIMENSIONS[4]["d4"] == "substance use-related risks"


def test_the_shipped_configuration_has_one_rule_set_per_edition() -> None:
    assert SHIPPED.default_edition == 3
    assert {edition: rules.name for edition, rules in SHIPPED.by_edition.items()} == {
        3: "carepath-illustrative-v1", 4: "carepath-illustrative-asam4-v1"}
    text = (REPO_CONFIG / "loc-rules-asam4.yaml").read_text()
    assert "ILLUSTRATIVE ONLY" in text and SHIPPED.by_edition[4].illustrative


@pytest.mark.parametrize(("dims", "level"), [
    ((4, 0, 0, 0, 0, 0), L.residential),
    ((3, 3, 3, 0, 0, 0), L.residential),
    ((2, 2, 0, 3, 0, 0), L.php),          # high substance use-related risk, moderate d1, d2
    ((0, 2, 2, 0, 3, 0), L.php),          # high recovery environment risk
    ((3, 0, 3, 3, 0, 0), L.php),
    ((0, 0, 0, 2, 0, 0), L.iop),
    ((1, 1, 1, 1, 1, 4), L.aftercare),    # d6 shapes the plan, not the intensity, here
    ((0, 0, 0, 0, 0, 0), L.aftercare),
])
def test_the_edition_4_rule_set_reaches_every_level(dims: tuple[int, ...], level: L) -> None:
    assert domain.recommend(SHIPPED.by_edition[4], ratings(*dims)).level is level


def test_an_assessment_is_judged_by_the_rules_of_its_edition() -> None:
    dims = ratings(2, 2, 0, 3, 0, 0)  # d4=3: readiness to change (3rd), use-related risk (4th)
    third = domain.recommend(domain.rule_set_for(SHIPPED, 3), dims)
    fourth = domain.recommend(domain.rule_set_for(SHIPPED, 4), dims)
    assert (third.level, fourth.level) == (L.iop, L.php)
    assert "d4 readiness to change=3" in third.rationale[0]
    assert "d4 substance use-related risks=3" in fourth.rationale[0]
    assert any("carepath-illustrative-asam4-v1" in line for line in fourth.rationale)
    assert domain.rule_set_for(SHIPPED, None) is SHIPPED.by_edition[3]


def test_an_edition_without_a_rule_set_is_refused_saying_what_the_rules_assume() -> None:
    only_third = RuleSets(by_edition={3: SHIPPED.by_edition[3]}, default_edition=3)
    with pytest.raises(domain.NoRuleSetForEdition) as refused:
        domain.rule_set_for(only_third, 4)
    reason = str(refused.value)
    assert reason.startswith("no level-of-care rule set for ASAM edition 4 is configured")
    assert "'carepath-illustrative-v1' assumes the dimension meanings of the ASAM Criteria, " \
           "3rd edition (2013)" in reason
    assert "d4 readiness to change" in reason
    assert refused.value.http_status == 422


def rule_set_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_CONFIG / "loc-rules.yaml").read_text())
    return data | changes


def test_dimension_labels_cannot_contradict_the_edition() -> None:
    assert RuleSet.model_validate(rule_set_data(dimensions={})).meaning("d4") == (
        "readiness to change")
    relabelled = RuleSet.model_validate(rule_set_data(dimensions={"d6": "Recovery/Living  "
                                                                        "Environment"}))
    assert relabelled.describe("d6", 2) == "d6 recovery/living environment=2"
    with pytest.raises(ValidationError, match=r"d4 is 'substance use-related risks', not "
                                              r"'readiness to change'"):
        RuleSet.model_validate(rule_set_data(asam_edition=4))  # 3rd-edition labels kept
    with pytest.raises(ValidationError, match="asam_edition"):
        RuleSet.model_validate(rule_set_data(asam_edition=5))


def test_two_rule_sets_for_one_edition_stop_start_up(tmp_path: Path) -> None:
    copy_config(tmp_path, "loc-rules.yaml", "risk.yaml")
    (tmp_path / "loc-rules-site.yaml").write_text(
        yaml.safe_dump(rule_set_data(name="site-approved")))
    with pytest.raises(ConfigError, match=r"loc-rules-site\.yaml and loc-rules\.yaml both hold a "
                                          r"rule set for ASAM edition 3"):
        make_deps(Settings(config_dir=tmp_path))


def test_a_bad_extra_rule_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    copy_config(tmp_path, "loc-rules.yaml", "risk.yaml")
    (tmp_path / "loc-rules-asam4.yaml").write_text(
        (REPO_CONFIG / "loc-rules-asam4.yaml").read_text().replace(
            "d4: substance use-related risks", "d4: readiness to change"))
    with pytest.raises(ConfigError, match=r"loc-rules-asam4\.yaml is not a valid RuleSet: .*"
                                          r"d4 is 'substance use-related risks'"):
        make_deps(Settings(config_dir=tmp_path))


def test_without_the_edition_4_file_only_edition_3_is_configured(tmp_path: Path) -> None:
    rule_sets = make_deps(Settings(config_dir=copy_config(
        tmp_path, "loc-rules.yaml", "risk.yaml"))).rule_sets
    assert set(rule_sets.by_edition) == {3}
    with pytest.raises(domain.NoRuleSetForEdition):
        domain.rule_set_for(rule_sets, 4)
