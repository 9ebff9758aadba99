"""The care path end to end, over HTTP only, with every service its own process."""

from __future__ import annotations

import itertools
from typing import Any

from carepath.dev.client import ApiError, CarepathClient
from carepath.dev.platform import Platform
from carepath.http.auth import hs256_secret
from contracts import Envelope
from tests.support import EventTap, of_type

_names = itertools.count()


def referral(site: str = "boston", **extra: Any) -> dict[str, Any]:
    n = next(_names)
    return {
        "site_id": site, "first_name": f"Quentin{n}", "last_name": f"Zebulon{n}",
        "date_of_birth": f"19{60 + n:02d}-07-{10 + n % 18:02d}",
        "phone": f"+1 508 555 {1000 + n}", "email": f"quentin{n}@example.org",
        "referral_source": "clinician", "presenting_concerns": ["opioid use disorder"],
        **extra,
    }


def admitted_at(api: CarepathClient, ref: str, level: str) -> dict[str, Any]:
    return api.wait_placement(ref, lambda p: p["status"] == "active" and p["level"] == level,
                              timeout=30)  # type: ignore[no-any-return]


def causal_roots(events: list[dict[str, Any]]) -> set[str | None]:
    by_id = {event["id"]: event for event in events}
    roots = set()
    for event in events:
        seen, current = set(), event
        while current.get("causation_id") and current["causation_id"] in by_id:
            assert current["id"] not in seen, "causation cycle"
            seen.add(current["id"])
            current = by_id[current["causation_id"]]
        roots.add(current["id"] if not current.get("causation_id") else None)
    return roots


def test_one_client_from_referral_through_every_level_to_aftercare(api: CarepathClient) -> None:
    ref = api.refer(**referral())["client_ref"]
    assert api.assess_to(ref, kind="initial", level="residential")["final_level"] == "residential"
    admitted_at(api, ref, "residential")
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) > 0)
    assert {"individual_therapy", "group_therapy"} <= {s["kind"] for s in sessions}

    for level in ("php", "iop"):
        api.assess_to(ref, kind="reassessment", level=level)
        admitted_at(api, ref, level)
    api.discharge(ref, "completed", reason_code="goals_met")
    admitted_at(api, ref, "aftercare")

    def complete(journey: dict[str, Any]) -> bool:
        levels = [s["level"] for e in journey["episodes"] for s in e["segments"]]
        return levels == ["residential", "php", "iop", "aftercare"] and causal_roots(
            journey["events"]) == {journey["events"][0]["id"]}

    journey = api.wait(lambda: api.maybe(lambda: api.journey(ref)), complete, timeout=30)
    segments = journey["episodes"][0]["segments"]
    assert all(s["los_days"] >= 0 for s in segments)
    assert all(s["ended_at"] for s in segments[:3]) and not segments[3].get("ended_at")
    root = journey["events"][0]
    assert root["type"] == "carepath.intake.ClientReferred.v1"
    assert {e["correlation_id"] for e in journey["events"]} == {root["id"]}


def test_relapse_signs_a_confirmed_step_up_and_family_without_consent_gets_nothing(
    api: CarepathClient, tap: EventTap
) -> None:
    family = [{"name": "Ursula Zebulon", "relationship": "sister", "email": "ursula@example.org"}]
    created = api.refer(**referral(family_contacts=family))
    ref = created["client_ref"]
    api.assess_to(ref, kind="initial", level="iop")
    admitted_at(api, ref, "iop")
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) >= 2)
    for session in sessions[:2]:
        api.attend(session["session_id"], "missed")
    api.observe(ref, "tox_screen", "positive")

    flag = tap.wait_for(lambda e: of_type("RelapseRiskFlagged", ref)(e)
                        and e.data["severity"] == "high")
    proposed = tap.wait_for(of_type("StepUpProposed", ref))
    api.confirm_proposal(ref, proposed.data["proposal_id"], to_level="php")
    step_up = tap.wait_for(of_type("SteppedUp", ref))
    assert (step_up.data["from_level"], step_up.data["to_level"]) == ("iop", "php")
    assert (step_up.causationid, proposed.causationid) == (proposed.id, flag.id)
    admitted_at(api, ref, "php")
    rescheduled = tap.wait_for(lambda e: of_type("SessionsScheduled", ref)(e)
                               and e.causationid == step_up.id)
    assert rescheduled.data["level"] == "php"
    tap.wait_for(lambda e: of_type("SessionsCancelled", ref)(e) and e.causationid == step_up.id)

    def about_step_up(n: dict[str, Any]) -> bool:
        return n["trigger_event_id"] == str(step_up.id)

    notes = api.wait(lambda: [n for n in api.notifications(ref) if about_step_up(n)],
                     lambda ns: {n["audience"] for n in ns if n["status"] != "pending"}
                     >= {"care_team", "family"})
    by_audience = {n["audience"]: n for n in notes}
    assert by_audience["care_team"]["status"] == "sent"
    assert by_audience["family"]["status"] == "suppressed"
    assert by_audience["family"]["reason"] == "no_consent"
    suppressed = tap.wait_for(of_type("NotificationSuppressed", ref))
    assert suppressed.data["audience"] == "family"
    assert not tap.collected(lambda e: of_type("NotificationSent", ref)(e)
                             and e.data["audience"] == "family")


def test_a_full_site_waitlists_and_admits_when_a_bed_frees(api: CarepathClient) -> None:
    site = "worcester"
    original = {row["level"]: row["capacity"]
                for row in api.call("GET", "placement", "/census", params={"site_id": site})}
    api.call("PUT", "placement", f"/sites/{site}/capacity", json={**original, "residential": 2})
    try:
        refs = [api.refer(**referral(site))["client_ref"] for _ in range(3)]
        for ref in refs[:2]:
            api.assess_to(ref, kind="initial", level="residential")
            admitted_at(api, ref, "residential")
        api.assess_to(refs[2], kind="initial", level="residential")
        waiting = api.wait_placement(refs[2], lambda p: p["status"] == "waitlisted")
        assert waiting["waitlisted_for"]["level"] == "residential"

        api.assess_to(refs[0], kind="reassessment", level="php")
        admitted_at(api, refs[0], "php")
        admitted_at(api, refs[2], "residential")
    finally:
        api.call("PUT", "placement", f"/sites/{site}/capacity", json=original)


def test_invalid_requests_and_impossible_moves_are_refused_and_change_nothing(
    api: CarepathClient, tap: EventTap
) -> None:
    def status_of(call: Any) -> int:
        try:
            call()
        except ApiError as error:
            return error.status_code
        raise AssertionError("the request was accepted")

    assert status_of(lambda: api.refer(**referral(site="atlantis"))) == 422
    assert status_of(lambda: api.refer(**referral(date_of_birth="2999-01-01"))) == 422
    ref = api.refer(**referral())["client_ref"]
    assert status_of(lambda: api.call("POST", "assessment", "/assessments", json={
        "client_ref": ref, "kind": "initial",
        "dimensions": {"d1": 7, "d2": 0, "d3": 0, "d4": 0, "d5": 0, "d6": 0}})) == 422
    assert status_of(lambda: api.discharge(ref, "completed")) in (404, 409)
    api.assess_to(ref, kind="initial", level="iop")
    before = admitted_at(api, ref, "iop")
    tap.wait_for(of_type("ClientAdmitted", ref))  # committed is not yet on the bus: wait for it

    def moves(event: Envelope) -> bool:  # not what placement's periodic UR check may add
        return event.subject == ref and "placement" in event.type and not any(
            name in event.type for name in ("UnauthorizedStay", "AuthorizationExpiring"))

    events_before = len(tap.collected(moves))

    assert status_of(lambda: api.transition(ref, to_level="residential", kind="step_down",
                                            reason_code="other")) == 409
    assert status_of(lambda: api.transition(ref, to_level="detox", reason_code="other")) == 422
    assert status_of(lambda: api.transition(ref, to_level="iop", reason_code="other")) == 409
    assert status_of(lambda: api.transition(ref, to_level="php", reason="free text")) == 422
    assert status_of(lambda: api.attend("no-such-session", "attended")) == 404
    assert status_of(lambda: api.observe(ref, "craving", 42)) == 422

    api.transition(ref, to_level="php", reason_code="clinical_deterioration",
                   note="barrier: a valid move after the invalid ones")
    barrier = tap.wait_for(of_type("SteppedUp", ref))
    assert tap.collected(moves)[events_before:] == [barrier]
    assert api.placement(ref)["episode_id"] == before["episode_id"]


def test_no_event_carries_a_name_birth_date_phone_or_email(api: CarepathClient,
                                                          tap: EventTap) -> None:
    ref = api.refer(**referral())["client_ref"]
    api.assess_to(ref, kind="initial", level="iop")
    admitted_at(api, ref, "iop")
    tap.wait_for(of_type("SessionsScheduled", ref))
    n = next(_names)
    markers = ["Quentin", "Zebulon", "Ursula", "example.org", "508 555", "opioid"]
    markers += [f"19{60 + i:02d}-07-" for i in range(n)]
    assert tap.collected(), "the tap saw events"
    for envelope in tap.collected():
        text = envelope.to_bytes().decode()
        assert not [m for m in markers if m in text], envelope.type
    for headers in tap.headers_of():
        assert not [m for m in markers if m in repr(headers)]


def test_no_log_carries_phi_or_a_secret(platform: Platform, api: CarepathClient) -> None:
    """After the whole run: the services' logs and the local notification channel name no
    test client and show neither the token secret nor a bearer token."""
    ref = api.refer(**referral())["client_ref"]
    api.call("GET", "intake", f"/clients/{ref}")  # an audited read of the identity
    n = next(_names)
    markers = ["Quentin", "Zebulon", "Ursula", "example.org", "508 555", "opioid",
               *[f"19{60 + i:02d}-07-" for i in range(n)],
               hs256_secret(platform.settings), "Bearer ", "eyJ"]
    logs = sorted((platform.var_dir / "logs").glob("*.log")) + sorted(
        platform.var_dir.glob("notifications.log"))
    assert logs, "the services wrote logs"
    for path in logs:
        text = path.read_text(errors="replace")
        assert not [m for m in markers if m in text], path.name
