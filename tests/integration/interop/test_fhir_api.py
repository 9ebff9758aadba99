"""Interop's FHIR API on the real broker and database: read, search and paging, the
OperationOutcomes of refusals, site scope, and the public CapabilityStatement."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.integration.interop.stories import projected, tell_story
from tests.support import bearer_for, principal

ServiceClient = Callable[..., AbstractContextManager[TestClient]]
TYPES = ("Patient", "EpisodeOfCare", "Encounter", "Appointment", "Flag", "Consent",
         "Organization", "Location")


def _outcome(response: object, status: int) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(  # type: ignore[attr-defined]
        "application/fhir+json")
    OperationOutcome.model_validate(response.json())  # type: ignore[attr-defined]


def test_read_search_paging_and_scope(service_client: ServiceClient, publish: Callable[..., None]
                                      ) -> None:
    with service_client("interop") as client:
        first = tell_story(publish, "boston", sessions=5)
        projected(client, first, sessions=5)
        time.sleep(0.05)
        boundary = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        time.sleep(0.05)
        other = tell_story(publish, "worcester")
        projected(client, other)

        for kind in TYPES:
            found = client.get(f"/fhir/{kind}", params={"_count": 500})
            assert found.status_code == 200, found.text
            assert found.headers["content-type"].startswith("application/fhir+json")
            bundle = Bundle.model_validate(found.json())
            assert bundle.type == "searchset" and bundle.total and bundle.entry
            one = bundle.entry[0]
            assert one.search is not None and one.search.mode == "match"
            read = client.get(f"/fhir/{kind}/{one.resource.id}")  # type: ignore[union-attr]
            assert read.status_code == 200
            assert read.json() == found.json()["entry"][0]["resource"]

        patient = client.get(f"/fhir/Patient/{first}").json()
        assert patient["identifier"][0]["value"] == first
        assert client.get("/fhir/Patient", params={"identifier": first}).json()["total"] == 1

        # paging: 5 appointments two at a time
        page = client.get("/fhir/Appointment", params={"patient": f"Patient/{first}",
                                                       "_count": 2}).json()
        seen = [e["resource"]["id"] for e in page["entry"]]
        while (nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]):
            page = client.get(nxt[0]).json()
            assert any(link["relation"] == "previous" for link in page["link"])
            seen += [e["resource"]["id"] for e in page["entry"]]
        assert len(seen) == len(set(seen)) == 5 == page["total"]

        before = client.get("/fhir/Patient", params={"_lastUpdated": f"lt{boundary}"}).json()
        after = client.get("/fhir/Patient", params={"_lastUpdated": f"ge{boundary}"}).json()
        assert [e["resource"]["id"] for e in before["entry"]] == [first]
        assert [e["resource"]["id"] for e in after["entry"]] == [other]

        # site scope: worcester cannot read boston, and its searches list worcester only
        worcester = bearer_for(client, principal("clinician", "worcester"))
        _outcome(client.get(f"/fhir/Patient/{first}", headers=worcester), 404)
        _outcome(client.get("/fhir/Organization/boston", headers=worcester), 404)
        listed = client.get("/fhir/Patient", headers=worcester).json()
        assert [e["resource"]["id"] for e in listed["entry"]] == [other]
        _outcome(client.get("/fhir/Flag", headers=bearer_for(
            client, principal("scheduler", "boston"))), 403)
        _outcome(client.get("/fhir/Patient", headers={"authorization": "Bearer nope"}), 401)


def test_refusals_are_operation_outcomes(service_client: ServiceClient) -> None:
    with service_client("interop") as client:
        _outcome(client.get("/fhir/Patient/c-nobody00000"), 404)
        for kind in ("EpisodeOfCare", "Encounter"):  # ids are UUIDs: another id is not known
            _outcome(client.get(f"/fhir/{kind}/not-a-uuid"), 404)
            _outcome(client.get(f"/fhir/{kind}/{'0' * 32}"), 404)
            none = client.get(f"/fhir/{kind}", params={"_id": "not-a-uuid"}).json()
            assert (none["total"], none["entry"]) == (0, [])
        _outcome(client.get("/fhir/Encounter", params={"_count": "many"}), 400)
        _outcome(client.get("/fhir/Encounter", params={"_lastUpdated": "sa2026-01-01"}), 400)
        _outcome(client.get("/fhir/Encounter", params={"_lastUpdated": "yesterday"}), 400)
        lenient = client.get("/fhir/Encounter", params={"colour": "blue"})
        assert lenient.status_code == 200 and "colour" not in lenient.json()["link"][0]["url"]
        _outcome(client.get("/fhir/Encounter", params={"colour": "blue"},
                            headers={"prefer": "handling=strict"}), 400)


def test_metadata_is_public_and_a_capability_statement(service_client: ServiceClient) -> None:
    with service_client("interop") as client:
        response = client.get("/fhir/metadata", headers={"authorization": ""})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        statement = CapabilityStatement.model_validate(response.json())
        assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
        rest = response.json()["rest"][0]
        assert sorted(r["type"] for r in rest["resource"]) == sorted(TYPES)
        assert rest["operation"][0]["definition"].endswith("/OperationDefinition/export")
