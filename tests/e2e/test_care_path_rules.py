"""The care path as programmes run it, end to end over HTTP and Kafka, every service its own
process: a flag proposes and a clinician decides; a cross-site step down counts as a step; an
episode ends in aftercare and the client's return is a readmission; a no-show frees the bed for
the next on the waitlist; a priority client is admitted before an earlier ordinary one.

This module's platform cancels an admission after about 40 s without an attended session
(config: admission.no_show_after_days) and checks every second, so every client here but the
no-show attends a session as soon as one is scheduled."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from carepath.dev.client import RATINGS, CarepathClient
from carepath.dev.platform import Platform
from tests.conftest import running_platform
from tests.e2e.test_care_path import admitted_at, referral
from tests.support import EventTap, of_type

CONFIG = Path(__file__).resolve().parents[2] / "config"
NO_SHOW_DAYS = 0.0005  # 43 s


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    config = tmp_path_factory.mktemp("config")
    shutil.copytree(CONFIG, config, dirs_exist_ok=True)
    policy = yaml.safe_load((config / "placement.yaml").read_text())
    policy["admission"]["no_show_after_days"] = NO_SHOW_DAYS
    policy["checks"]["every_s"] = 1
    (config / "placement.yaml").write_text(yaml.safe_dump(policy))
    with running_platform(tmp_path_factory.mktemp("platform"),
                          env={"CAREPATH_CONFIG_DIR": str(config)}) as running:
        yield running


def arrive(api: CarepathClient, ref: str) -> None:
    """The client turns up: their first scheduled session is attended."""
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) > 0)
    api.attend(sessions[0]["session_id"], "attended")


def in_care(api: CarepathClient, site: str, level: str, **extra: Any) -> str:
    ref = api.refer(**referral(site))["client_ref"]
    if extra:
        api.assess(ref, kind="initial", dimensions=RATINGS[level], **extra)
    else:
        api.assess_to(ref, kind="initial", level=level)
    admitted_at(api, ref, level)
    arrive(api, ref)
    return ref


def flagged(api: CarepathClient, tap: EventTap, site: str = "boston") -> tuple[str, Any]:
    """An IOP client whose missed sessions and positive tox screen raise a high flag."""
    ref = in_care(api, site, "iop")
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) >= 2)
    for session in sessions[:2]:
        api.attend(session["session_id"], "missed")
    api.observe(ref, "tox_screen", "positive")
    return ref, tap.wait_for(lambda e: of_type("RelapseRiskFlagged", ref)(e)
                             and e.data["severity"] == "high")


def open_proposal(api: CarepathClient, ref: str) -> dict[str, Any]:
    found = api.wait(lambda: [p for p in api.proposals(status="open") if p["client_ref"] == ref],
                     lambda ps: len(ps) == 1)
    return found[0]  # type: ignore[no-any-return]


def journey_shows(api: CarepathClient, path: str, accept: Callable[[Any], bool],
                  **params: Any) -> Any:
    return api.wait(lambda: api.call("GET", "journey", path, params=params), accept, timeout=30)


def test_a_flag_proposes_the_care_team_hears_and_a_clinician_confirms(
        api: CarepathClient, tap: EventTap) -> None:
    ref, flag = flagged(api, tap)
    proposed = tap.wait_for(of_type("StepUpProposed", ref))
    urgent = tap.wait_for(lambda e: of_type("ReassessmentRequested", ref)(e)
                          and e.data.get("urgent") is True)
    proposal = open_proposal(api, ref)
    assert api.placement(ref)["level"] == "iop"  # nobody moved on the score
    assert (proposed.causationid, urgent.causationid, urgent.data["urgent"]) == (
        flag.id, proposed.id, True)
    queue = journey_shows(api, "/proposals", lambda ps: any(p["client_ref"] == ref for p in ps),
                          status="open")
    assert [p["proposal_id"] for p in queue if p["client_ref"] == ref] == [
        proposal["proposal_id"]]
    api.wait(lambda: api.notifications(ref),
             lambda ns: any(n["trigger_event_id"] == str(proposed.id) and n["audience"] ==
                            "care_team" and n["status"] == "sent" for n in ns))

    api.confirm_proposal(ref, proposal["proposal_id"], to_level="php")
    step = tap.wait_for(of_type("SteppedUp", ref))
    admitted_at(api, ref, "php")
    assert (step.causationid, step.data["proposal_id"], step.data["trigger"]) == (
        proposed.id, proposal["proposal_id"], "risk_flag")
    journey_shows(api, "/proposals", lambda ps: all(p["client_ref"] != ref for p in ps),
                  status="open")


def test_a_flag_a_clinician_declines_leaves_the_client_where_they_are(
        api: CarepathClient, tap: EventTap) -> None:
    ref, _ = flagged(api, tap, site="worcester")
    proposal = open_proposal(api, ref)
    declined = api.decline_proposal(proposal["proposal_id"], "managed_at_current_level")
    event = tap.wait_for(of_type("StepUpDeclined", ref))
    assert declined["status"] == "declined"
    assert (event.data["level"], event.data["reason_code"]) == ("iop", "managed_at_current_level")
    assert api.placement(ref)["level"] == "iop"
    assert not [p for p in api.proposals(status="open") if p["client_ref"] == ref]
    assert not tap.collected(of_type("SteppedUp", ref))


def test_a_cross_site_step_down_is_counted_as_a_step_in_flows_and_outcomes(
        api: CarepathClient, tap: EventTap) -> None:
    def php_to_iop() -> int:
        return sum(r["count"] for r in api.call("GET", "journey", "/flows")
                   if (r["from_level"], r["to_level"]) == ("php", "iop"))

    def boston_php_step_downs() -> int:
        rows = api.call("GET", "journey", "/outcomes", params={"site_id": "boston"})
        return sum(r["step_downs"] for r in rows if r["level"] == "php")

    ref = in_care(api, "boston", "php")
    flows_before, outcomes_before = php_to_iop(), boston_php_step_downs()
    api.transition(ref, to_level="iop", to_site="worcester", reason_code="closer_to_home")
    step = tap.wait_for(of_type("SteppedDown", ref))
    assert (step.data["from_site"], step.data["to_site"], step.siteid) == (
        "boston", "worcester", "worcester")
    assert not tap.collected(of_type("ClientTransferred", ref))
    api.wait(php_to_iop, lambda n: n == flows_before + 1, timeout=30)
    api.wait(boston_php_step_downs, lambda n: n == outcomes_before + 1, timeout=30)
    journey = api.wait(lambda: api.journey(ref), lambda j: len(j["episodes"][0]["segments"]) == 2)
    assert [(s["level"], s["site_id"]) for s in journey["episodes"][0]["segments"]] == [
        ("php", "boston"), ("iop", "worcester")]


def test_an_episode_ends_in_aftercare_and_the_return_is_a_readmission(
        api: CarepathClient, tap: EventTap) -> None:
    def readmitted_from_aftercare() -> int:
        rows = api.call("GET", "journey", "/outcomes", params={"site_id": "worcester"})
        return sum(r["readmission_30d"]["met"] for r in rows if r["level"] == "aftercare")

    before = readmitted_from_aftercare()
    ref = in_care(api, "worcester", "iop")
    api.discharge(ref, "completed")
    first = admitted_at(api, ref, "aftercare")
    api.discharge(ref, "completed")
    ended = api.wait_placement(ref, lambda p: p["status"] == "discharged")
    discharged = tap.wait_for(of_type("ClientDischarged", ref))
    assert (discharged.data["level"], discharged.data["disposition"]) == ("aftercare",
                                                                          "completed")
    assert ended["episode_id"] == first["episode_id"]

    api.rerefer(ref, site_id="worcester", referral_source="self")
    api.assess_to(ref, kind="initial", level="iop")
    again = admitted_at(api, ref, "iop")
    assert again["episode_id"] != first["episode_id"]
    journey = api.wait(lambda: api.journey(ref), lambda j: len(j["episodes"]) == 2)
    assert [e["status"] for e in journey["episodes"]] == ["discharged", "active"]
    api.wait(readmitted_from_aftercare, lambda n: n == before + 1, timeout=30)


def capacity_for_one_more(api: CarepathClient, site: str, level: str) -> dict[str, int]:
    """Room for exactly one more client at site × level; returns the capacities to restore."""
    rows = api.call("GET", "placement", "/census", params={"site_id": site})
    original = {row["level"]: row["capacity"] for row in rows}
    occupied = next(row["occupied"] for row in rows if row["level"] == level)
    api.call("PUT", "placement", f"/sites/{site}/capacity",
             json={**original, level: occupied + 1})
    return original


def test_a_no_show_frees_the_bed_for_the_next_on_the_waitlist(
        api: CarepathClient, tap: EventTap) -> None:
    original = capacity_for_one_more(api, "boston", "residential")
    try:
        absent = api.refer(**referral("boston"))["client_ref"]
        api.assess_to(absent, kind="initial", level="residential")
        admitted = admitted_at(api, absent, "residential")
        waiting = api.refer(**referral("boston"))["client_ref"]
        api.assess_to(waiting, kind="initial", level="residential")
        api.wait_placement(waiting, lambda p: p["status"] == "waitlisted")

        cancelled = tap.wait_for(of_type("AdmissionCancelled", absent), timeout=120)
        assert cancelled.data["reason_code"] == "no_show"
        next_in = admitted_at(api, waiting, "residential")
        arrive(api, waiting)
        after = api.placement(absent)
        assert (after["status"], after["episode_id"]) == ("cancelled", admitted["episode_id"])
        assert next_in["status"] == "active"
        assert tap.wait_for(of_type("ClientAdmitted", waiting)).data["from_waitlist"] is True
        tap.wait_for(lambda e: of_type("SessionsCancelled", absent)(e)
                     and e.causationid == cancelled.id)
    finally:
        api.call("PUT", "placement", "/sites/boston/capacity", json=original)


def test_a_priority_client_is_admitted_before_an_earlier_ordinary_one(
        api: CarepathClient, tap: EventTap) -> None:
    original = capacity_for_one_more(api, "worcester", "php")
    try:
        holder = in_care(api, "worcester", "php")
        ordinary = api.refer(**referral("worcester"))["client_ref"]
        api.assess_to(ordinary, kind="initial", level="php")
        api.wait_placement(ordinary, lambda p: p["status"] == "waitlisted")
        pregnant = api.refer(**referral("worcester"))["client_ref"]
        api.assess(pregnant, kind="initial", dimensions=RATINGS["php"],
                   priority_populations=["pregnant"])
        waits = api.wait_placement(pregnant, lambda p: p["status"] == "waitlisted")
        assert waits["waitlisted_for"]["position"] == 1
        listed = tap.wait_for(of_type("PlacementWaitlisted", pregnant))
        assert (listed.data["priority"], listed.data["site_id"]) == ("pregnant", "worcester")

        api.transition(holder, to_level="iop", reason_code="clinical_improvement")
        admitted_at(api, pregnant, "php")
        arrive(api, pregnant)
        assert api.placement(ordinary)["status"] == "waitlisted"
        assert api.placement(ordinary)["waitlisted_for"]["position"] == 1
    finally:
        api.call("PUT", "placement", "/sites/worcester/capacity", json=original)
    admitted_at(api, ordinary, "php")
