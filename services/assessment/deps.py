"""What assessment works from — its validated configuration — and how its endpoints and
handlers receive it (one typed Deps per service, in its deps.py).

From `Settings.config_dir`: `loc-rules.yaml` (the default rule set: it judges assessments that
name no ASAM edition), every `loc-rules-*.yaml` beside it (rule sets for other editions, at most
one per edition) and `risk.yaml`; a bad file stops the service with a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from carepath.app.spec import Runtime, deps_of
from carepath.config import ConfigError, load_config
from carepath.settings import Settings
from services.assessment.policy import RiskPolicy, RuleSet, RuleSets

RULES_FILE = "loc-rules.yaml"
MORE_RULES = "loc-rules-*.yaml"
RISK_FILE = "risk.yaml"


@dataclass(frozen=True)
class AssessmentDeps:
    """The validated configuration assessment's handlers and endpoints work from."""

    rule_sets: RuleSets
    risk: RiskPolicy


def make_deps(settings: Settings) -> AssessmentDeps:
    return AssessmentDeps(rule_sets=load_rule_sets(settings),
                          risk=load_config(settings, RISK_FILE, RiskPolicy))


def load_rule_sets(settings: Settings) -> RuleSets:
    """loc-rules.yaml (the default), then every loc-rules-*.yaml, by the ASAM edition each
    assumes."""
    default = load_config(settings, RULES_FILE, RuleSet)
    by_edition: dict[int, RuleSet] = {default.asam_edition: default}
    files = {default.asam_edition: RULES_FILE}
    for path in sorted(settings.config_dir.glob(MORE_RULES)):
        rules = load_config(settings, path.name, RuleSet)
        if rules.asam_edition in files:
            raise ConfigError(f"{path} and {files[rules.asam_edition]} both hold a rule set for "
                              f"ASAM edition {rules.asam_edition}: keep one per edition")
        by_edition[rules.asam_edition], files[rules.asam_edition] = rules, path.name
    return RuleSets(by_edition=by_edition, default_edition=default.asam_edition)


DepsDep = Annotated[AssessmentDeps, deps_of(AssessmentDeps)]
AssessmentRuntime = Runtime[AssessmentDeps]
