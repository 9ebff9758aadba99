"""Utilization review end to end, every service its own process: an authorization ending tomorrow
is in placement's and journey's UR queue and its AuthorizationExpiring fires once, however many
rounds the check runs; a stay no authorization covers fires UnauthorizedStay once, shows its
days in both queues and counts in journey's outcomes; the care team hears of both. The payer
hears of an expiring authorization (a concurrent-review notice) only under the client's written
consent to that payer: then the notice is sent and listed in the accounting of disclosures;
without one it is suppressed (no_consent) and never disclosed.

This module's platform runs placement's checks every second."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from carepath.dev.client import ApiError, CarepathClient
from carepath.dev.platform import Platform
from tests.conftest import running_platform
from tests.e2e.test_care_path import admitted_at, referral
from tests.support import EventTap, of_type

CONFIG = Path(__file__).resolve().parents[2] / "config"
CHECK_ROUNDS = 5  # seconds of waiting, at one round a second


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    config = tmp_path_factory.mktemp("config")
    shutil.copytree(CONFIG, config, dirs_exist_ok=True)
    policy = yaml.safe_load((config / "placement.yaml").read_text())
    policy["checks"]["every_s"] = 1
    policy["utilization_review"]["unauthorized_after_days"] = 0  # reported on its first day
    (config / "placement.yaml").write_text(yaml.safe_dump(policy))
    with running_platform(tmp_path_factory.mktemp("platform"),
                          env={"CAREPATH_CONFIG_DIR": str(config)}) as running:
        yield running


def admitted(api: CarepathClient, site: str, level: str) -> str:
    ref: str = api.refer(**referral(site))["client_ref"]
    api.assess_to(ref, kind="initial", level=level)
    admitted_at(api, ref, level)
    return ref


def queue_item(api: CarepathClient, service: str, ref: str, site: str,
               accept: Any = lambda item: True) -> dict[str, Any]:
    def mine() -> list[dict[str, Any]]:
        items = api.call("GET", service, "/ur/queue", params={"site_id": site})
        return [item for item in items if item["client_ref"] == ref]

    found = api.wait(mine, lambda items: len(items) == 1 and accept(items[0]), timeout=30)
    return found[0]  # type: ignore[no-any-return]


def care_team_told(api: CarepathClient, ref: str, event_id: Any) -> None:
    api.wait(lambda: api.notifications(ref),
             lambda ns: any(n["trigger_event_id"] == str(event_id) and n["audience"] ==
                            "care_team" and n["status"] == "sent" for n in ns), timeout=30)


def unauthorized_days(api: CarepathClient, site: str, level: str) -> float:
    rows = api.call("GET", "journey", "/outcomes", params={"site_id": site})
    return float(sum(r["unauthorized_bed_days"] for r in rows if r["level"] == level))


def test_an_authorization_ending_tomorrow_is_queued_and_expires_once(
        api: CarepathClient, tap: EventTap) -> None:
    ref = admitted(api, "boston", "residential")
    today = datetime.now(UTC).date()
    recorded = api.call("POST", "placement", f"/clients/{ref}/authorizations", json={
        "payer_ref": "bcbs-ma", "level": "residential", "starts_on": str(today),
        "ends_on": str(today + timedelta(days=1)), "approved_days": 2,
        "authorization_number": "BC-20261203-77"})
    assert (recorded["site_id"], recorded["authorization_number"]) == ("boston", "BC-20261203-77")
    event = tap.wait_for(of_type("AuthorizationRecorded", ref))
    assert event.data["authorization_id"] == recorded["authorization_id"]
    assert "BC-20261203-77" not in str(event.data)  # the number stays in placement

    expiring = tap.wait_for(of_type("AuthorizationExpiring", ref))
    assert (expiring.data["authorization_id"], expiring.data["days_left"],
            expiring.data["ends_on"]) == (recorded["authorization_id"], 1,
                                          str(today + timedelta(days=1)))
    placed = queue_item(api, "placement", ref, "boston")
    assert (placed["ends_in_days"], placed["authorization"]["authorization_id"]) == (
        1, recorded["authorization_id"])
    assert "expiring" in placed["flags"] and "authorization_number" not in placed["authorization"]
    journey = queue_item(api, "journey", ref, "boston", lambda item: item == placed)
    assert journey == placed  # one rule set, read from the events journey keeps
    care_team_told(api, ref, expiring.id)

    time.sleep(CHECK_ROUNDS)
    assert len(tap.collected(of_type("AuthorizationExpiring", ref))) == 1


def test_a_payer_is_named_by_its_code_never_a_member_id(api: CarepathClient) -> None:
    ref = admitted(api, "boston", "php")
    today = str(datetime.now(UTC).date())
    with pytest.raises(ApiError) as refused:
        api.call("POST", "placement", f"/clients/{ref}/authorizations", json={
            "payer_ref": "w123456789", "level": "php", "starts_on": today, "ends_on": today,
            "approved_days": 1, "authorization_number": "X1"})
    assert refused.value.status_code == 422
    assert "payer" in refused.value.body and "w123456789" not in refused.value.body


def test_a_stay_without_authorization_is_counted(api: CarepathClient, tap: EventTap) -> None:
    before = unauthorized_days(api, "worcester", "php")
    ref = admitted(api, "worcester", "php")
    today = datetime.now(UTC).date()
    unauthorized = tap.wait_for(of_type("UnauthorizedStay", ref))
    assert (unauthorized.data["level"], unauthorized.data["site_id"],
            unauthorized.data["uncovered_since"], unauthorized.data["days"]) == (
        "php", "worcester", str(today), 1)
    placed = queue_item(api, "placement", ref, "worcester")
    assert (placed["unauthorized_days"], placed["authorization"], placed["flags"]) == (
        1, None, ["unauthorized"])
    assert queue_item(api, "journey", ref, "worcester", lambda item: item == placed) == placed
    api.wait(lambda: unauthorized_days(api, "worcester", "php"),
             lambda days: days == before + 1, timeout=30)
    care_team_told(api, ref, unauthorized.id)

    time.sleep(CHECK_ROUNDS)
    assert len(tap.collected(of_type("UnauthorizedStay", ref))) == 1


def ur_consent(api: CarepathClient, ref: str, payer: str) -> str:
    """The client's written consent to disclose utilization review to a payer (42 CFR 2.31)."""
    today = datetime.now(UTC).date()
    consent = api.call("POST", "intake", f"/clients/{ref}/consents", json={
        "recipient_ref": f"payer-{payer}", "purpose": "payment",
        "information": ["utilization_review"], "expires_at": str(today + timedelta(days=90)),
        "signed_at": str(today), "document_ref": "dms:consent-ur-0001"})
    return str(consent["consent_id"])


def expiring_tomorrow(api: CarepathClient, tap: EventTap, ref: str, level: str) -> Any:
    today = datetime.now(UTC).date()
    api.call("POST", "placement", f"/clients/{ref}/authorizations", json={
        "payer_ref": "bcbs-ma", "level": level, "starts_on": str(today),
        "ends_on": str(today + timedelta(days=1)), "approved_days": 2,
        "authorization_number": f"BC-{ref[-8:]}"})
    return tap.wait_for(of_type("AuthorizationExpiring", ref))


def payer_notice(api: CarepathClient, ref: str, event_id: Any, status: str) -> dict[str, Any]:
    found = api.wait(lambda: [n for n in api.notifications(ref)
                              if n["trigger_event_id"] == str(event_id)
                              and n["audience"] == "payer"],
                     lambda ns: len(ns) == 1 and ns[0]["status"] == status, timeout=30)
    return found[0]  # type: ignore[no-any-return]


def test_with_the_clients_consent_the_payer_is_asked_for_review_and_it_is_a_disclosure(
        api: CarepathClient, tap: EventTap) -> None:
    ref: str = api.refer(**referral("boston"))["client_ref"]
    consent_id = ur_consent(api, ref, "bcbs-ma")
    tap.wait_for(of_type("ConsentRecorded", ref))
    api.assess_to(ref, kind="initial", level="residential")
    admitted_at(api, ref, "residential")
    expiring = expiring_tomorrow(api, tap, ref, "residential")

    notice = payer_notice(api, ref, expiring.id, "sent")
    assert (notice["recipient_ref"], notice["consent_id"], notice["information"],
            notice["template"]) == ("payer-bcbs-ma", consent_id, "utilization_review",
                                    "payer.concurrent_review")
    sent = tap.wait_for(lambda e: e.event_name == "NotificationSent" and e.subject == ref
                        and e.data["audience"] == "payer")
    assert sent.causationid == expiring.id and f"BC-{ref[-8:]}" not in str(sent.data)
    disclosures = api.wait(
        lambda: api.call("GET", "notification", f"/clients/{ref}/disclosures"),
        lambda rows: any(r["recipient_ref"] == "payer-bcbs-ma" for r in rows), timeout=30)
    disclosure, = [r for r in disclosures if r["recipient_ref"] == "payer-bcbs-ma"]
    assert (disclosure["consent_id"], disclosure["purpose"], disclosure["information"],
            disclosure["event_kind"]) == (consent_id, "payment", "utilization_review",
                                          "authorization_expiring")
    care_team_told(api, ref, expiring.id)


def test_without_a_consent_to_the_payer_its_notice_is_suppressed(
        api: CarepathClient, tap: EventTap) -> None:
    ref = admitted(api, "boston", "residential")
    expiring = expiring_tomorrow(api, tap, ref, "residential")

    notice = payer_notice(api, ref, expiring.id, "suppressed")
    assert (notice["recipient_ref"], notice["reason"], notice["consent_id"]) == (
        "payer-bcbs-ma", "no_consent", None)
    suppressed = tap.wait_for(lambda e: e.event_name == "NotificationSuppressed"
                              and e.subject == ref and e.data["audience"] == "payer")
    assert suppressed.data["reason"] == "no_consent"
    care_team_told(api, ref, expiring.id)
    assert api.call("GET", "notification", f"/clients/{ref}/disclosures") == []
