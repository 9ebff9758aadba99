"""Level-of-care rules: which rule set judges an assessment, the rule-set evaluator, who may be
assessed how, and where placement events leave a client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carepath.errors import Conflict, InvalidInput
from contracts import LevelOfCare
from contracts.events import (
    AdmissionCancelled,
    AssessmentKind,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    Dimensions,
    SteppedDown,
    SteppedUp,
    WaitlistExited,
)
from contracts.events.placement import PlacementEvent
from contracts.levels import ASAM_EDITIONS, DIMENSION_KEYS, DimensionKey
from services.assessment.policy import Condition, RuleSet, RuleSets

Ratings = Mapping[str, int]
Drivers = tuple[DimensionKey, ...]


@dataclass(frozen=True)
class Recommendation:
    level: LevelOfCare
    rule_id: str
    rationale: tuple[str, ...]


class NoRuleSetForEdition(InvalidInput):
    """No configured rule set assumes the dimension meanings the ratings were given with."""


def rule_set_for(rule_sets: RuleSets, edition: int | None) -> RuleSet:
    """The rule set for ratings given under `edition` (None: the default rule set's)."""
    wanted = rule_sets.default_edition if edition is None else edition
    found = rule_sets.by_edition.get(wanted)
    if found is None:
        configured = " ".join(
            f"Rule set '{rules.name}' assumes the dimension meanings of the "
            f"{ASAM_EDITIONS[rules.asam_edition]}: {rules.assumed_meanings()}."
            for rules in rule_sets.by_edition.values())
        raise NoRuleSetForEdition(
            f"no level-of-care rule set for ASAM edition {wanted} is configured. {configured} "
            f"Ratings given with edition-{wanted} meanings cannot be judged by rules written for "
            f"another edition's: assess under a configured edition, or configure a rule set "
            f"with asam_edition: {wanted}.")
    return found


def recommend(rules: RuleSet, dimensions: Dimensions) -> Recommendation:
    """The first rule whose every condition holds decides; the default catches the rest."""
    ratings = dimensions.model_dump()
    for rule in rules.rules:
        drivers = drivers_of(rule, ratings)
        if drivers is not None:
            return _explain(rules, rule.id, rule.level, rule.reason, ratings, drivers)
    fallback = rules.default
    return _explain(rules, "default", fallback.level, fallback.reason, ratings, ())


def drivers_of(condition: Condition, ratings: Ratings) -> Drivers | None:
    """The dimensions that made every listed condition hold, or None if one fails."""
    tests = (_any_at_least, _all_at_least, _all_at_most, _count_at_least, _sum_at_least)
    drivers: set[DimensionKey] = set()
    for test in tests:
        found = test(condition, ratings)
        if found is None:
            return None
        drivers.update(found)
    return tuple(key for key in DIMENSION_KEYS if key in drivers)


def _any_at_least(c: Condition, ratings: Ratings) -> Drivers | None:
    if c.any_at_least is None:
        return ()
    hits = tuple(k for k, least in c.any_at_least.items() if ratings[k] >= least)
    return hits or None


def _all_at_least(c: Condition, ratings: Ratings) -> Drivers | None:
    if c.all_at_least is None:
        return ()
    ok = all(ratings[k] >= least for k, least in c.all_at_least.items())
    return tuple(c.all_at_least) if ok else None


def _all_at_most(c: Condition, ratings: Ratings) -> Drivers | None:
    if c.all_at_most is None:
        return ()
    ok = all(ratings[k] <= most for k, most in c.all_at_most.items())
    return tuple(c.all_at_most) if ok else None


def _count_at_least(c: Condition, ratings: Ratings) -> Drivers | None:
    if c.count_at_least is None:
        return ()
    rule = c.count_at_least
    hits = tuple(k for k in rule.among if ratings[k] >= rule.rating)
    return hits if len(hits) >= rule.count else None


def _sum_at_least(c: Condition, ratings: Ratings) -> Drivers | None:
    if c.sum_at_least is None:
        return ()
    total = sum(ratings.values())
    hits = tuple(k for k in DIMENSION_KEYS if ratings[k] > 0)
    return hits if total >= c.sum_at_least else None


def _explain(rules: RuleSet, rule_id: str, level: LevelOfCare, reason: str,
             ratings: Ratings, drivers: Drivers) -> Recommendation:
    named = "; ".join(rules.describe(key, ratings[key]) for key in drivers)
    text = reason.format(dims=named or "no single dimension", level=level.value,
                         total=sum(ratings.values()))
    lines = [text, f"rule '{rule_id}' of rule set '{rules.name}' decided (first match wins)"]
    if rules.illustrative:
        lines.append("illustrative rule set, not ASAM's decision tables: confirm clinically")
    return Recommendation(level=level, rule_id=rule_id, rationale=tuple(lines))


def final_level(recommended: LevelOfCare, override: LevelOfCare | None) -> LevelOfCare:
    return override or recommended


def check_kind(kind: AssessmentKind, *, in_care: bool) -> None:
    if kind is AssessmentKind.initial and in_care:
        raise Conflict("the client is in care: use kind 'reassessment'")
    if kind is AssessmentKind.reassessment and not in_care:
        raise Conflict("the client is not in care: use kind 'initial'")


@dataclass(frozen=True)
class CareState:
    in_care: bool
    level: LevelOfCare | None
    site_id: str | None


def care_after(event: PlacementEvent, *, site_id: str | None) -> CareState | None:
    """Where a placement event leaves the client; None for events that move nobody (a step-up
    proposal or its decline, someone in care leaving a waitlist for another level)."""
    match event:
        case ClientAdmitted(level=level):
            return CareState(in_care=True, level=level, site_id=site_id)
        case SteppedDown(to_level=level, to_site=to_site) | SteppedUp(
                to_level=level, to_site=to_site):
            return CareState(in_care=True, level=level, site_id=to_site or site_id)
        case ClientTransferred(level=level, to_site=to_site):
            return CareState(in_care=True, level=level, site_id=to_site)
        case ClientDischarged() | AdmissionCancelled() | WaitlistExited(in_care=False):
            # A cancelled admission never happened; someone leaving a waitlist they waited on
            # for admission was never admitted: either way, not in care.
            return CareState(in_care=False, level=None, site_id=site_id)
    return None
