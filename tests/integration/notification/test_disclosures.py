"""Family messages under 42 CFR Part 2 consent, against the real broker and database: a message
goes out only if its consent covers what it tells, carries the redisclosure notice, and is
listed in the client's accounting of disclosures; a consent that expired (its date, or the end
of the episode) stops a message still waiting to be sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.consent import REDISCLOSURE_NOTICE
from contracts.events import ClientAdmitted, ClientDischarged, Disposition
from contracts.levels import LevelOfCare
from tests.integration.notification.conftest import WebhookReceiver, config_dir
from tests.integration.notification.test_notification import (
    Client,
    notifications,
    wait_for_consent,
)
from tests.support import EventTap, bearer_for, of_type, principal, wait_until


def family_by_webhook(tmp_path: Path, webhook: WebhookReceiver, **delivery: Any) -> Path:
    return config_dir(tmp_path, audiences={"family": {"channel": "webhook", "url": webhook.url}},
                      delivery=delivery)


def test_a_covered_message_is_sent_with_the_notice_and_listed_as_a_disclosure(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        webhook: WebhookReceiver, tmp_path: Path) -> None:
    with service_client("notification", config_dir=family_by_webhook(tmp_path, webhook)
                        ) as service:
        client = Client(publish)
        client.refer()
        client.consent("consent-0042", information=["level_of_care"])
        wait_for_consent(service, "consent-0042")
        step = client.step_up()  # level_of_care: covered
        client.send(ClientAdmitted(level=LevelOfCare.php))  # admission_discharge: not covered
        suppressed = event_tap.wait_for(of_type("NotificationSuppressed", client.ref))
        wait_until(lambda: webhook.requests)
        # The send is recorded (sent, and its disclosure) once the channel has answered.
        wait_until(lambda: service.get(f"/clients/{client.ref}/disclosures").json())
        disclosures = service.get(f"/clients/{client.ref}/disclosures")
        elsewhere = service.get(f"/clients/{client.ref}/disclosures", headers=bearer_for(
            service, principal("clinician", "worcester")))
        family = notifications(service, client.ref, audience="family")

    assert suppressed.data["reason"] == "not_covered_by_consent"
    (sent,) = webhook.requests
    assert sent["consent_id"] == "consent-0042" and sent["information"] == "level_of_care"
    assert sent["redisclosure_notice"] == REDISCLOSURE_NOTICE
    assert sent["text"].endswith(REDISCLOSURE_NOTICE) and "consent-0042" in sent["text"]
    assert disclosures.status_code == 200, disclosures.text
    (listed,) = disclosures.json()
    assert {key: listed[key] for key in ("recipient_ref", "consent_id", "purpose",
                                         "information", "event_kind")} == {
        "recipient_ref": client.recipient, "consent_id": "consent-0042",
        "purpose": "treatment_updates", "information": "level_of_care",
        "event_kind": "stepped_up"}
    sent_row = next(row for row in family if row["status"] == "sent")
    assert listed["notification_id"] == sent_row["notification_id"]
    assert sent_row["trigger_event_id"] == str(step.id)
    assert (sent_row["consent_id"], sent_row["information"]) == ("consent-0042", "level_of_care")
    assert listed["disclosed_at"] == sent_row["sent_at"]
    assert elsewhere.status_code == 200 and elsewhere.json() == []  # another site's client


def test_a_consent_until_discharge_stops_a_message_still_waiting_once_discharged(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        webhook: WebhookReceiver, tmp_path: Path) -> None:
    webhook.status = 503  # the contact gateway is down: the family update waits in retries
    configured = family_by_webhook(tmp_path, webhook, max_attempts=50, base_backoff_s=0.1,
                                   max_backoff_s=0.3)
    with service_client("notification", config_dir=configured) as service:
        client = Client(publish)
        client.refer()
        client.consent(expires_at=None, expires_on="discharge")
        wait_for_consent(service, "consent-0001")
        client.step_up()
        wait_until(lambda: webhook.requests)
        client.send(ClientDischarged(level=LevelOfCare.php, disposition=Disposition.completed,
                                     los_days=20))
        suppressed = event_tap.wait_for_count(of_type("NotificationSuppressed", client.ref), 2)
        webhook.status = 200
        disclosures = service.get(f"/clients/{client.ref}/disclosures").json()

    assert [e.data["reason"] for e in suppressed] == ["consent_expired"] * 2
    assert disclosures == []
    assert all(request["status"] == 503 for request in webhook.requests)


def test_a_consent_past_its_date_stops_a_message_still_waiting(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        webhook: WebhookReceiver, tmp_path: Path) -> None:
    webhook.status = 503
    # Retries that outlast the consent (about 45 s) however slow the machine.
    configured = family_by_webhook(tmp_path, webhook, max_attempts=50, base_backoff_s=0.3,
                                   max_backoff_s=1.0)
    with service_client("notification", config_dir=configured) as service:
        client = Client(publish)
        client.refer()
        expires = datetime.now(UTC) + timedelta(seconds=8)
        client.consent(expires_at=expires)
        wait_for_consent(service, "consent-0001")
        client.step_up()
        wait_until(lambda: webhook.requests)
        # Past the expiry by more than a retry's backoff, so no attempt claimed before it is
        # still in flight when the receiver starts answering.
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 3.0)
        webhook.status = 200  # too late: the consent has expired
        suppressed = event_tap.wait_for(of_type("NotificationSuppressed", client.ref))
        family, = notifications(service, client.ref, audience="family")

    assert suppressed.data["reason"] == "consent_expired"
    assert (family["status"], family["reason"]) == ("suppressed", "consent_expired")
    assert all(request["status"] == 503 for request in webhook.requests)
