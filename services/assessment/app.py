"""Assessment: multidimensional assessments, the level-of-care recommendation (a pluggable
rule set), observations and relapse-risk scoring.

Configuration, validated at start-up (a bad file stops the service with a clear message), from
`Settings.config_dir`: `loc-rules.yaml` (the default rule set: it judges assessments that name
no ASAM edition), every `loc-rules-*.yaml` beside it (rule sets for other editions, at most one
per edition) and `risk.yaml`. To plug in other rule sets, set CAREPATH_CONFIG_DIR to a folder
holding your own files.
"""

from __future__ import annotations

from fastapi import FastAPI

from carepath.config import ConfigError, load_config
from carepath.runtime import ServiceSpec
from carepath.service import build_app
from carepath.settings import Settings
from services.assessment import api, handlers, store
from services.assessment.policy import AssessmentDeps, RiskPolicy, RuleSet, RuleSets

RULES_FILE = "loc-rules.yaml"
MORE_RULES = "loc-rules-*.yaml"
RISK_FILE = "risk.yaml"



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


SPEC = ServiceSpec(name="assessment", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers.handlers,
                   make_deps=make_deps)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
