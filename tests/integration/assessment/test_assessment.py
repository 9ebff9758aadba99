"""Assessment against the real broker and database: consumed events in, HTTP requests in,
ClientAssessed and RelapseRiskFlagged out with causation reaching the referral."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from carepath.settings import Settings
from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.events import (
    AttendanceRecorded,
    AttendanceStatus,
    ClientAdmitted,
    ClientReferred,
    ReassessmentRequested,
    ReferralSource,
    SessionKind,
)
from services.assessment.store import NoteRead
from tests.support import EventTap, bearer_for, of_type, principal, wait_until

IOP = {"d1": 1, "d2": 1, "d3": 2, "d4": 2, "d5": 2, "d6": 2}


class Client:
    """One client's events, chained to their referral as the other services would chain them."""

    def __init__(self, site: str = "boston") -> None:
        self.ref = f"c-it{uuid.uuid4().hex[:10]}"
        self.site = site
        self.episode = uuid.uuid4()
        self.referral = new_envelope(
            ClientReferred(referral_source=ReferralSource.hospital,
                           referred_at=datetime.now(UTC), presenting_concern_count=1),
            subject=self.ref, site_id=site, episode_id=None, correlation_id=None,
            causation_id=None)

    def event(self, data: EventData, cause: Envelope | None = None) -> Envelope:
        return new_envelope(data, subject=self.ref, site_id=self.site, episode_id=self.episode,
                            correlation_id=self.referral.id,
                            causation_id=(cause or self.referral).id)

    def missed(self, session_id: str) -> Envelope:
        return self.event(AttendanceRecorded(
            session_id=session_id, status=AttendanceStatus.missed,
            kind=SessionKind.group_therapy, level=LevelOfCare.iop,
            scheduled_at=datetime.now(UTC) - timedelta(hours=2)))


def assess(api: TestClient, ref: str, headers: dict[str, str] | None = None, **body: Any
           ) -> Any:
    return api.post("/assessments", headers=headers,
                    json={"client_ref": ref, "kind": "initial", "dimensions": IOP, **body})


def known(api: TestClient, ref: str, check: Any = lambda c: True) -> dict[str, Any]:
    def look() -> Any:
        response = api.get(f"/clients/{ref}")
        return response.status_code == 200 and check(response.json()) and response.json()

    return wait_until(look)  # type: ignore[return-value]


def test_an_initial_assessment_answers_the_referral(service_client, publish, event_tap: EventTap
                                                    ) -> None:
    client = Client()
    with service_client("assessment") as api:
        publish(client.referral)
        as_clinician = bearer_for(api, principal("clinician", "boston", sub="clinician-7"))
        created = wait_until(lambda: (r := assess(api, client.ref, as_clinician)
                                      ).status_code != 404 and r)
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["kind"], body["recommended_level"], body["final_level"]) == (
            "initial", "iop", "iop")
        assert body["asam_codes"] == ["2.1"] and body["asam_edition"] == 3
        assert body["rule_set"] == "carepath-illustrative-v1" and body["override_level"] is None
        assert body["assessed_by"] == "clinician-7", "the assessor is the token's sub"
        assert any("d3" in line for line in body["rationale"])
        assert api.get(f"/assessments/{body['assessment_id']}").json() == body
        assert api.get(f"/clients/{client.ref}/assessments").json() == [body]
        assert known(api, client.ref)["pending_assessment"] is None
        event = event_tap.wait_for(of_type("ClientAssessed", client.ref))
    assert event.causationid == event.correlationid == client.referral.id
    assert event.siteid == "boston" and event.episodeid is None
    assert event.data["assessment_id"] == body["assessment_id"]
    assert event.data["final_level"] == "iop" and event.data["assessed_by"] == "clinician-7"


def test_iop_client_missing_sessions_then_testing_positive_is_flagged_moderate_then_high(
        service_client, publish, event_tap: EventTap) -> None:
    client = Client()
    with service_client("assessment") as api:
        publish(client.referral, client.event(ClientAdmitted(level=LevelOfCare.iop)))
        known(api, client.ref, lambda c: c["in_care"] and c["current_level"] == "iop")
        publish(client.missed("s-1"), second := client.missed("s-2"))
        moderate = event_tap.wait_for(of_type("RelapseRiskFlagged", client.ref))
        tox = api.post(f"/clients/{client.ref}/observations",
                       json={"kind": "tox_screen", "value": "positive"})
        assert tox.status_code == 201, tox.text
        assert (tox.json()["risk"]["severity"], tox.json()["risk"]["score"]) == ("high", 8.0)
        high = event_tap.wait_for(lambda e: of_type("RelapseRiskFlagged", client.ref)(e)
                                  and e.data["severity"] == "high")
        risk = api.get(f"/clients/{client.ref}/risk").json()
    assert (moderate.data["severity"], moderate.data["score"]) == ("moderate", 4.0)
    assert moderate.causationid == second.id and moderate.data["current_level"] == "iop"
    assert high.data["flag_id"] == tox.json()["flag_id"]
    assert high.causationid == second.id  # the last event assessment consumed for the client
    for flag in (moderate, high):
        assert flag.correlationid == client.referral.id
        assert (flag.episodeid, flag.siteid) == (client.episode, "boston")
    assert {(i["name"], i["code"], i["band"]) for i in high.data["indicators"]} == {
        ("missed_sessions", "missed_sessions", "missed>=2"),
        ("positive_tox_screen", "positive_tox_screen", "tox_positive>=1")}
    assert (risk["severity"], risk["flagged_severity"]) == ("high", "high")
    assert len(event_tap.collected(of_type("RelapseRiskFlagged", client.ref))) == 2


def test_a_requested_reassessment_is_caused_by_the_request(service_client, publish,
                                                           event_tap: EventTap) -> None:
    client = Client()
    with service_client("assessment") as api:
        admitted = client.event(ClientAdmitted(level=LevelOfCare.iop))
        request = client.event(ReassessmentRequested(
            reason="relapse risk", flag_id="flag-abc", current_level=LevelOfCare.iop), admitted)
        publish(client.referral, admitted, request)
        known(api, client.ref, lambda c: (c["pending_assessment"] or {}).get("kind")
              == "reassessment")
        assert assess(api, client.ref).status_code == 409  # in care: initial is refused
        done = assess(api, client.ref, kind="reassessment", override_level="php",
                      override_reason_code="recovery_environment",
                      override_note="daily structure needed after relapse MARK-7f3")
        assert done.status_code == 201, done.text
        body = done.json()
        assert (body["recommended_level"], body["final_level"]) == ("iop", "php")
        assert body["asam_codes"] == ["2.5"]
        assert body["override_note"] is None and "MARK-" not in done.text
        event = event_tap.wait_for(of_type("ClientAssessed", client.ref))
        path = f"/assessments/{body['assessment_id']}"
        care_team = api.get(path, headers=bearer_for(api, principal("care_team", "boston")))
        nurse = api.get(path, params={"purpose": "care_planning"},
                        headers=bearer_for(api, principal("clinician", "boston", sub="nurse-2")))
        listed = api.get(f"/clients/{client.ref}/assessments")
        with api.app.state.runtime.uow.transaction() as tx:  # type: ignore[attr-defined]
            audit = [(r.client_ref, r.assessment_id, r.actor, r.purpose)
                     for r in tx.session.exec(select(NoteRead)).all()]
    assert (event.causationid, event.correlationid) == (request.id, client.referral.id)
    assert event.episodeid == client.episode
    assert (event.data["override_level"], event.data["override_reason"],
            event.data["override_reason_code"]) == ("php", "recovery_environment",
                                                    "recovery_environment")
    assert "MARK-" not in event.to_bytes().decode()
    assert care_team.json()["override_note"] is None and "MARK-" not in listed.text
    assert nurse.json()["override_note"] == "daily structure needed after relapse MARK-7f3"
    assert audit == [(client.ref, body["assessment_id"], "nurse-2", "care_planning")]


def test_bad_requests_are_refused_with_a_reason_and_emit_nothing(service_client, publish,
                                                                 event_tap: EventTap) -> None:
    client = Client()
    with service_client("assessment") as api:
        assert assess(api, client.ref).status_code == 404
        assert api.post(f"/clients/{client.ref}/observations",
                        json={"kind": "craving", "value": 3}).status_code == 404
        assert api.get("/assessments/asmt-nope").status_code == 404
        assert api.get("/clients/NOT-a-ref").status_code == 422  # malformed: not even unknown
        publish(client.referral)
        known(api, client.ref)
        refusals = [
            (assess(api, client.ref, dimensions={**IOP, "d1": 7}), 422, "d1"),
            (assess(api, client.ref, override_level="php"), 422, "override_reason_code"),
            (assess(api, client.ref, assessed_by="MARK-someone-else"), 422,
             "the assessor is the caller"),
            (assess(api, client.ref, override_level="php", override_reason="MARK-free text"),
             422, "send 'override_reason_code'"),
            (assess(api, client.ref, kind="reassessment"), 409, "use kind 'initial'"),
            (api.post(f"/clients/{client.ref}/observations",
                      json={"kind": "craving", "value": 42}), 422, "from 0 to 10"),
            (api.post(f"/clients/{client.ref}/observations",
                      json={"kind": "tox_screen", "value": "unclear"}), 422, "'positive'"),
            (api.post(f"/clients/{client.ref}/observations",
                      json={"kind": "bam", "value": 3, "observed_at":
                            (datetime.now(UTC) + timedelta(days=1)).isoformat()}),
             422, "observed_at is in the future"),
        ]
        for response, status, reason in refusals:
            assert (response.status_code, reason in response.text) == (status, True), \
                response.text
            assert "MARK-" not in response.text, "a refusal never repeats what was sent"
        assert api.get(f"/clients/{client.ref}/assessments").json() == []
        assert api.get(f"/clients/{client.ref}/risk").json()["score"] == 0.0
        barrier = assess(api, client.ref)
        assert barrier.status_code == 201
        event_tap.wait_for(of_type("ClientAssessed", client.ref))
    emitted = event_tap.collected(lambda e: e.subject == client.ref and "assessment" in e.type)
    assert [e.data["assessment_id"] for e in emitted] == [barrier.json()["assessment_id"]]


def test_an_edition_4_assessment_is_judged_by_the_edition_4_rules(service_client, publish,
                                                                  event_tap: EventTap) -> None:
    client = Client()
    use_risk = {"d1": 2, "d2": 2, "d3": 0, "d4": 3, "d5": 0, "d6": 0}
    with service_client("assessment") as api:
        publish(client.referral)
        known(api, client.ref)
        created = assess(api, client.ref, dimensions=use_risk, asam_edition=4,
                         priority_populations=["injection_drug_use", "pregnant"])
        assert created.status_code == 201, created.text
        body = created.json()
        assert api.get(f"/assessments/{body['assessment_id']}").json() == body
        event = event_tap.wait_for(of_type("ClientAssessed", client.ref))
    assert (body["rule_set"], body["asam_edition"]) == ("carepath-illustrative-asam4-v1", 4)
    assert (body["final_level"], body["asam_codes"]) == ("php", ["2.5", "2.7"])
    assert "d4 substance use-related risks=3" in body["rationale"][0]
    assert body["priority_populations"] == ["pregnant", "injection_drug_use"]
    assert (event.data["rule_set"], event.data["asam_edition"]) == (
        "carepath-illustrative-asam4-v1", 4)
    assert event.data["priority_populations"] == ["pregnant", "injection_drug_use"]
    assert event.data["rationale"] == body["rationale"]


def test_an_edition_without_a_rule_set_is_refused_with_the_reason_and_emits_nothing(
        service_client, publish, event_tap: EventTap, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    for name in ("loc-rules.yaml", "risk.yaml"):  # no loc-rules-asam4.yaml
        shutil.copy(Settings().config_dir / name, config / name)
    client = Client()
    with service_client("assessment", config_dir=config) as api:
        publish(client.referral)
        known(api, client.ref)
        refused = assess(api, client.ref, asam_edition=4)
        unknown = assess(api, client.ref, priority_populations=["veteran"])
        assert api.get(f"/clients/{client.ref}/assessments").json() == []
        barrier = assess(api, client.ref, priority_populations=["pregnant"])
        assert barrier.status_code == 201, barrier.text
        event_tap.wait_for(of_type("ClientAssessed", client.ref))
    assert (refused.status_code, refused.json()["error"]) == (422, "NoRuleSetForEdition")
    reason = refused.json()["detail"]
    assert reason.startswith("no level-of-care rule set for ASAM edition 4 is configured")
    assert "'carepath-illustrative-v1' assumes" in reason and "d4 readiness to change" in reason
    assert unknown.status_code == 422 and "priority_populations" in unknown.text
    assert (barrier.json()["asam_edition"], barrier.json()["asam_codes"]) == (3, ["2.1"])
    emitted = event_tap.collected(lambda e: e.subject == client.ref and "assessment" in e.type)
    assert [e.data["assessment_id"] for e in emitted] == [barrier.json()["assessment_id"]]
    assert emitted[0].data["priority_populations"] == ["pregnant"]
