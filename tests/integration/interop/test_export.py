"""FHIR Bulk Data `$export` on the real broker and database: kick-off, polling, the manifest,
NDJSON that validates as R4 line by line, `_type` and `_since`, refusals and cancel."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from services.interop.export import LEASE, Exporter
from services.interop.store import ExportJob
from tests.integration.interop.stories import projected, tell_story
from tests.support import wait_until

ServiceClient = Callable[..., AbstractContextManager[TestClient]]
ASYNC = {"prefer": "respond-async"}


def _kick_off(client: TestClient, **params: str) -> str:
    response = client.get("/fhir/$export", params=params, headers=ASYNC)
    assert response.status_code == 202, response.text
    return response.headers["content-location"].split("/fhir", 1)[1]


def _manifest(client: TestClient, status_path: str) -> dict[str, Any]:
    def complete() -> Any:
        response = client.get(f"/fhir{status_path}")
        if response.status_code == 202:
            assert " of " in response.headers["x-progress"]
            assert response.headers["retry-after"]
            return None
        assert response.status_code == 200, response.text
        return response.json()

    return wait_until(complete, timeout=30)  # type: ignore[return-value]


def test_export_kick_off_poll_manifest_and_files(service_client: ServiceClient,
                                                 publish: Callable[..., None]) -> None:
    with service_client("interop") as client:
        ref = tell_story(publish, "boston")
        projected(client, ref)
        manifest = _manifest(client, _kick_off(client))
        assert manifest["requiresAccessToken"] is True and manifest["error"] == []
        assert {o["type"] for o in manifest["output"]} == {
            "Patient", "EpisodeOfCare", "Encounter", "Appointment", "Flag", "Consent",
            "Organization", "Location"}
        for output in manifest["output"]:
            path = output["url"].split("testserver", 1)[1]
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/fhir+ndjson")
            lines = response.text.splitlines()
            assert len(lines) == output["count"]
            for line in lines:
                resource = json.loads(line)
                assert resource["resourceType"] == output["type"]
                get_fhir_model_class(output["type"]).model_validate(resource)

        since = datetime.now(UTC).isoformat()
        only = _manifest(client, _kick_off(client, _type="Patient,Flag"))
        assert {o["type"] for o in only["output"]} == {"Patient", "Flag"}
        later = _manifest(client, _kick_off(client, _type="Patient", _since=since))
        assert later["output"] == []

        job = only["output"][0]["url"].split("/$export-files/")[1].split("/")[0]
        assert client.get(f"/fhir/$export-files/{job}/..%2F..%2Fsecret").status_code == 404
        assert client.get(f"/fhir/$export-files/{job}/Encounter.ndjson").status_code == 404
        assert client.delete(f"/fhir/$export-status/{job}").status_code == 202
        assert client.get(f"/fhir/$export-status/{job}").status_code == 404
        assert client.get(f"/fhir/$export-files/{job}/Patient.ndjson").status_code == 404


def test_export_refusals(service_client: ServiceClient) -> None:
    with service_client("interop") as client:
        for params, headers in (({}, {}), ({"_type": "Observation"}, ASYNC),
                                ({"_since": "last week"}, ASYNC),
                                ({"_outputFormat": "text/csv"}, ASYNC)):
            response = client.get("/fhir/$export", params=params, headers=headers)
            assert response.status_code == 400, params
            assert response.json()["resourceType"] == "OperationOutcome"
        assert client.get("/fhir/$export-status/00000000-0000-0000-0000-000000000000"
                          ).status_code == 404
        for path in ("/fhir/$export-status/not-a-job", "/fhir/$export-files/42/Patient.ndjson"):
            malformed = client.get(path)  # a job id is a UUID: FastAPI's 422, in FHIR's terms
            assert malformed.status_code == 400, path
            assert malformed.headers["content-type"].startswith("application/fhir+json")
            assert malformed.json()["resourceType"] == "OperationOutcome"
        assert client.delete("/fhir/$export-status/not-a-job").status_code == 400


def test_a_job_whose_exporter_died_is_taken_over_and_completed(
        service_client: ServiceClient) -> None:
    """A job left running by an exporter that stopped renewing its lease (its process died
    mid-export) is claimed again and finishes; one still within its lease is left alone."""
    with service_client("interop") as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        status_path = _kick_off(client, _type="Organization")
        first = _manifest(client, status_path)
        job_id = uuid.UUID(status_path.rsplit("/", 1)[1])
        with runtime.uow.transaction() as tx:  # as a crash mid-export would leave it
            job = tx.session.get(ExportJob, job_id)
            job.status, job.finished_at, job.done_types = "running", None, 0
            job.claimed_at = datetime.now(UTC) - LEASE - timedelta(seconds=1)
            tx.session.add(job)
        again = _manifest(client, status_path)
        assert again["output"] == first["output"]

        with runtime.uow.transaction() as tx:  # a live exporter's job is not taken
            job = tx.session.get(ExportJob, job_id)
            job.status, job.claimed_at = "running", datetime.now(UTC)
            tx.session.add(job)
        assert Exporter(runtime.uow, runtime.deps).run_next() is False
