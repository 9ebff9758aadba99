"""Notification against the real broker and database, delivering to a real SMTP server and a
real webhook receiver on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from contracts import Envelope, EventData, new_envelope
from contracts.events import (
    ClientReferred,
    ConsentRecorded,
    ConsentRevoked,
    DeclineReason,
    FamilyRecipient,
    ReferralSource,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
)
from contracts.events.assessment import RiskSeverity
from contracts.levels import LevelOfCare
from services.notification.store import ConsentGrantRow, KnownClientRow
from tests.integration.notification.conftest import SmtpInbox, WebhookReceiver, config_dir
from tests.support import EventTap, of_type, wait_until

TEAM_MAILBOX = "care-team@boston.example"
PHI = ("Ann Example", "1988-", "617-555", "@example.org")


class Client:
    """One client's events, each caused by the referral, as the producing services send them."""

    def __init__(self, publish: Callable[..., None]) -> None:
        self.publish = publish
        self.ref = f"c-{secrets.token_hex(6)}"
        self.recipient = f"r-{secrets.token_hex(6)}"
        self.referral: Envelope | None = None

    def send(self, data: EventData) -> Envelope:
        root = self.referral
        envelope = new_envelope(data, subject=self.ref, site_id="boston", episode_id=None,
                                correlation_id=root.id if root else None,
                                causation_id=root.id if root else None)
        self.referral = root or envelope
        self.publish(envelope)
        return envelope

    def refer(self) -> Envelope:
        return self.send(ClientReferred(
            referral_source=ReferralSource.family, referred_at=datetime.now(UTC),
            presenting_concern_count=1,
            family_recipients=(FamilyRecipient(recipient_ref=self.recipient,
                                               relationship="spouse"),)))

    def consent(self, consent_id: str = "consent-0001", **scope: Any) -> Envelope:
        """A consent to tell the family of moves and admissions for 90 days, unless `scope`
        says otherwise."""
        now = datetime.now(UTC)
        return self.send(ConsentRecorded.model_validate({
            "consent_id": consent_id, "recipient_ref": self.recipient,
            "purpose": "treatment_updates", "signed_at": now,
            "information": ["level_of_care", "admission_discharge"],
            "expires_at": now + timedelta(days=90), **scope}))

    def step_up(self) -> Envelope:
        return self.send(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                   trigger=TransitionTrigger.risk_flag, reason="risk flag"))


def wait_for_consent(service: TestClient, consent_id: str, *, revoked: bool = False) -> None:
    """Intake and placement are different topics: let the consent land before the trigger."""
    def known() -> bool:
        with service.app.state.runtime.uow.transaction() as tx:  # type: ignore[attr-defined]
            grant = tx.session.exec(select(ConsentGrantRow).where(
                ConsentGrantRow.consent_id == consent_id)).first()
            return grant is not None and (grant.revoked_at is not None) == revoked

    wait_until(known)


def wait_for_referral(service: TestClient, client_ref: str) -> None:
    def known() -> bool:
        with service.app.state.runtime.uow.transaction() as tx:  # type: ignore[attr-defined]
            client = tx.session.get(KnownClientRow, client_ref)
            return client is not None and client.referred

    wait_until(known)


def trace_id(headers: dict[str, str]) -> str:
    return headers["traceparent"].split("-")[1]


def notifications(service: TestClient, client_ref: str, **params: str) -> list[dict[str, Any]]:
    response = service.get("/notifications", params={"client_ref": client_ref, **params})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_a_step_up_emails_the_care_team_and_updates_the_consenting_family(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        smtp_inbox: SmtpInbox, tmp_path: Path) -> None:
    configured = config_dir(tmp_path, care_team={"channel": "email", "address": TEAM_MAILBOX})
    with service_client("notification", config_dir=configured, smtp_host="127.0.0.1",
                        smtp_port=smtp_inbox.port) as service:
        client = Client(publish)
        client.refer()
        client.consent()
        wait_for_consent(service, "consent-0001")
        trigger = client.step_up()
        sent = event_tap.wait_for_count(of_type("NotificationSent", client.ref), 2)
        rows = notifications(service, client.ref)

    assert {e.data["audience"]: e.data["channel"] for e in sent} == {
        "care_team": "email", "family": "log"}
    referral = client.referral
    assert referral is not None
    assert all(e.causationid == trigger.id and e.correlationid == referral.id
               and e.siteid == "boston" for e in sent)
    (recipients, email), = smtp_inbox.received
    assert recipients == [TEAM_MAILBOX]
    body = email.get_payload()
    assert client.ref in body and "stepped up at level php" in body
    assert [(r["audience"], r["status"], r["attempts"]) for r in rows] == [
        ("care_team", "sent", 1), ("family", "sent", 1)]
    assert rows[1]["recipient_ref"] == client.recipient
    assert rows[1]["trigger_event_id"] == str(trigger.id)
    log = (tmp_path / "notification" / "notifications.log").read_text()
    assert client.recipient in log and not any(phi in log + str(email) for phi in PHI)


def test_a_consumed_step_up_is_delivered_without_waiting_for_the_poll(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        tmp_path: Path) -> None:
    configured = config_dir(tmp_path, delivery={"poll_interval_s": 30})
    with service_client("notification", config_dir=configured) as service:
        client = Client(publish)
        client.refer()
        wait_for_referral(service, client.ref)  # long after the worker's first, idle pass
        trigger = client.step_up()
        # Well inside the 30 s poll: the handler's commit woke the worker.
        sent = event_tap.wait_for(of_type("NotificationSent", client.ref), timeout=10)

    assert sent.data["audience"] == "care_team" and sent.causationid == trigger.id


def test_without_consent_the_family_update_is_suppressed(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None]) -> None:
    with service_client("notification") as service:
        client = Client(publish)
        client.refer()
        wait_for_referral(service, client.ref)
        trigger = client.step_up()
        suppressed = event_tap.wait_for(of_type("NotificationSuppressed", client.ref))
        event_tap.wait_for(of_type("NotificationSent", client.ref))
        rows = notifications(service, client.ref, audience="family")
        bad_status = service.get("/notifications", params={"status": "lost"})
        too_many = service.get("/notifications", params={"limit": 5000})
        bad_ref = service.get("/notifications", params={"client_ref": "C-Not A Ref"})
        bad_path = service.get("/clients/not-a-ref/disclosures")
        unknown = service.get("/clients/c-nobody-0000/disclosures")

    assert suppressed.data["reason"] == "no_consent"
    assert suppressed.data["recipient_ref"] == client.recipient
    assert suppressed.causationid == trigger.id
    assert [(r["status"], r["reason"], r["attempts"]) for r in rows] == [
        ("suppressed", "no_consent", 0)]
    assert bad_status.status_code == 422 and too_many.status_code == 422
    # A client ref is one intake could have minted (contracts.envelope.ClientRef), or refused.
    assert bad_ref.status_code == 422 and bad_path.status_code == 422
    assert unknown.status_code == 200 and unknown.json() == []  # well formed: no disclosures
    assert len(event_tap.collected(of_type("NotificationSent", client.ref))) == 1  # care team
    # The handler's suppression and the worker's later delivery continue one trace.
    decided, = event_tap.headers_of(of_type("NotificationSuppressed", client.ref))
    delivered, = event_tap.headers_of(of_type("NotificationSent", client.ref))
    assert trace_id(decided) == trace_id(delivered)


def test_a_revocation_before_delivery_suppresses_the_family_update(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        webhook: WebhookReceiver, tmp_path: Path) -> None:
    # The contact gateway is down, so the family update waits in retries when consent is revoked.
    webhook.status = 503
    configured = config_dir(tmp_path, audiences={"family": {"channel": "webhook",
                                                             "url": webhook.url}},
                            delivery={"max_attempts": 50, "base_backoff_s": 0.1,
                                      "max_backoff_s": 0.3})
    with service_client("notification", config_dir=configured) as service:
        client = Client(publish)
        client.refer()
        client.consent()
        wait_for_consent(service, "consent-0001")
        client.step_up()
        wait_until(lambda: webhook.requests)
        client.send(ConsentRevoked(consent_id="consent-0001", recipient_ref=client.recipient))
        suppressed = event_tap.wait_for(of_type("NotificationSuppressed", client.ref))
        family, = notifications(service, client.ref, audience="family")

    assert suppressed.data["reason"] == "consent_revoked"
    assert (family["status"], family["reason"]) == ("suppressed", "consent_revoked")
    assert family["attempts"] >= 1
    assert all(request["status"] == 503 for request in webhook.requests)
    sent = event_tap.collected(of_type("NotificationSent", client.ref))
    assert [e.data["audience"] for e in sent] == ["care_team"]


def test_a_refusing_mail_server_ends_in_notification_failed_after_retries(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        smtp_inbox: SmtpInbox, tmp_path: Path) -> None:
    smtp_inbox.refuse = True
    configured = config_dir(tmp_path, care_team={"channel": "email", "address": TEAM_MAILBOX},
                            delivery={"max_attempts": 5, "base_backoff_s": 0.05})
    with service_client("notification", config_dir=configured, smtp_host="127.0.0.1",
                        smtp_port=smtp_inbox.port) as service:
        client = Client(publish)
        client.refer()
        trigger = client.step_up()
        failed = event_tap.wait_for(of_type("NotificationFailed", client.ref))
        care_team, = notifications(service, client.ref, audience="care_team")

    assert failed.data["attempts"] == 5 and failed.data["channel"] == "email"
    assert failed.data["error"] == failed.data["error_code"] == "server_error"  # a code only
    assert failed.causationid == trigger.id
    assert (care_team["status"], care_team["attempts"]) == ("failed", 5)
    assert care_team["error"] == "server_error: email: SMTPDataError 451"
    assert smtp_inbox.received == []


def decoded_body(email: Message) -> str:
    """The text as sent: long lines travel quoted-printable, soft-wrapped."""
    payload = email.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_a_proposal_and_its_decline_go_to_the_care_team_only(
        service_client: Any, event_tap: EventTap, publish: Callable[..., None],
        smtp_inbox: SmtpInbox, tmp_path: Path) -> None:
    configured = config_dir(tmp_path, care_team={"channel": "email", "address": TEAM_MAILBOX})
    with service_client("notification", config_dir=configured, smtp_host="127.0.0.1",
                        smtp_port=smtp_inbox.port) as service:
        client = Client(publish)
        client.refer()
        client.consent()
        wait_for_consent(service, "consent-0001")
        proposed = client.send(StepUpProposed(
            proposal_id="p-1", flag_id="f-1", severity=RiskSeverity.high,
            from_level=LevelOfCare.iop, to_level=LevelOfCare.php))
        declined = client.send(StepUpDeclined(
            proposal_id="p-1", flag_id="f-1", level=LevelOfCare.iop,
            reason_code=DeclineReason.client_declined))
        sent = event_tap.wait_for_count(of_type("NotificationSent", client.ref), 2)
        rows = notifications(service, client.ref)

    assert [e.causationid for e in sent] == [proposed.id, declined.id]
    assert [(r["audience"], r["template"]) for r in rows] == [
        ("care_team", "care_team.step_up_proposed"), ("care_team", "care_team.step_up_declined")]
    bodies = [decoded_body(email) for _, email in smtp_inbox.received]
    assert "step-up proposed iop -> php (proposal p-1), awaiting a clinician's decision" in (
        bodies[0])
    assert "step up declined (client_declined) at level iop" in bodies[1]
