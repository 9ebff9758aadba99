"""Acceptance 3: reading a client's PHI creates exactly one audit record (who, when, which
client, why); refused reads create none; no endpoint changes or deletes a record, and the
database itself refuses to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.security.conftest import consent_body
from tests.support import bearer_for, principal

REFERRAL = {"site_id": "boston", "first_name": "Audit", "last_name": "Subject",
            "date_of_birth": "1979-09-09", "referral_source": "self",
            "family_contacts": [{"name": "Audit Relative", "relationship": "parent"}]}


def audit_rows(intake: TestClient) -> list[tuple[Any, ...]]:
    engine = intake.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT id, client_ref, actor, purpose, accessed_at FROM phiaccess ORDER BY id"))]


def test_one_read_of_identity_is_one_audit_record_and_refused_reads_none(
        service_client: Callable[..., Any]) -> None:
    with service_client("intake") as intake:
        ref = intake.post("/referrals", json=REFERRAL).json()["client_ref"]
        for who in (principal("scheduler", "boston"), principal("clinician", "worcester")):
            assert intake.get(f"/clients/{ref}", headers=bearer_for(intake, who)
                              ).status_code in (403, 404)
        assert intake.get(f"/clients/{ref}", headers={"authorization": ""}).status_code == 401
        assert audit_rows(intake) == []

        before = datetime.now(UTC)
        nurse = principal("clinician", "boston", sub="nurse-9")
        read = intake.get(f"/clients/{ref}", params={"purpose": "treatment"},
                          headers=bearer_for(intake, nurse))
        assert read.status_code == 200 and read.json()["last_name"] == "Subject"
        listed = intake.get("/audit", params={"client_ref": ref}).json()
        assert intake.get("/audit", headers=bearer_for(intake, nurse)).status_code == 403
    (record,) = listed
    assert (record["actor"], record["client_ref"], record["purpose"]) == (
        "nurse-9", ref, "treatment")
    assert before <= datetime.fromisoformat(record["accessed_at"]) <= datetime.now(UTC)


def test_no_endpoint_changes_or_deletes_an_audit_record(service_client: Callable[..., Any]
                                                        ) -> None:
    with service_client("intake") as intake:
        created = intake.post("/referrals", json=REFERRAL).json()
        ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
        intake.get(f"/clients/{ref}")
        recorded = audit_rows(intake)
        consent = intake.post(f"/clients/{ref}/consents", json=consent_body(recipient))
        calls = {  # every intake endpoint, the writes and deletes included
            "POST /referrals": lambda: intake.post("/referrals", json=REFERRAL),
            "POST /clients/{client_ref}/referrals": lambda: intake.post(
                f"/clients/{ref}/referrals", json={"site_id": "boston",
                                                   "referral_source": "self"}),
            "GET /clients/{client_ref}": lambda: intake.get(f"/clients/{ref}"),
            "POST /clients/{client_ref}/consents": lambda: intake.post(
                f"/clients/{ref}/consents", json=consent_body(recipient)),
            "DELETE /clients/{client_ref}/consents/{consent_id}": lambda: intake.delete(
                f"/clients/{ref}/consents/{consent.json()['consent_id']}"),
            "GET /audit": lambda: intake.get("/audit"),
        }
        paths = intake.get("/openapi.json").json()["paths"]
        served = {f"{method.upper()} {path}" for path, operations in paths.items()
                  for method in operations if path not in ("/healthz", "/readyz", "/metrics")}
        assert served == set(calls)
        assert all(call().status_code < 300 for call in calls.values())
        after = audit_rows(intake)
    assert after[:len(recorded)] == recorded  # every earlier record as it was
    assert [row[1:4] for row in after[len(recorded):]] == [(ref, "test-admin", "treatment")]


def test_the_database_refuses_to_change_or_delete_an_audit_record(
        service_client: Callable[..., Any]) -> None:
    with service_client("intake") as intake:
        ref = intake.post("/referrals", json=REFERRAL).json()["client_ref"]
        intake.get(f"/clients/{ref}")
        recorded = audit_rows(intake)
        engine = intake.app.state.runtime.engine  # type: ignore[attr-defined]
        for statement in ("UPDATE phiaccess SET actor = 'someone-else'", "DELETE FROM phiaccess"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        assert audit_rows(intake) == recorded
