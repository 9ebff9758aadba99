"""Channels: the log line carries no PHI fields; channels that fail say why as a code, with a
detail that names no address."""

import json
import smtplib
from pathlib import Path

import httpx
import pytest

from contracts.events import Audience
from contracts.events.notification import DeliveryFailure
from services.notification.channels import (
    DeliveryError,
    EmailChannel,
    LogChannel,
    WebhookChannel,
    failure_of,
    http_failure,
    smtp_failure,
)
from services.notification.domain import Message

MESSAGE = Message(notification_id="n-1", audience=Audience.care_team,
                  recipient_ref="care-team-boston", template="care_team.client_admitted",
                  client_ref="c-0a1b2c3d", site_id="boston", level="residential",
                  event_kind="client_admitted")


def test_the_log_channel_appends_one_json_line_of_refs_and_codes(tmp_path: Path) -> None:
    channel = LogChannel(tmp_path / "var" / "notifications.log")
    channel.send(MESSAGE, address="care-team-boston")
    channel.send(MESSAGE, address="care-team-boston")
    lines = (tmp_path / "var" / "notifications.log").read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert set(entry) == {"time", "channel", "address", "notification_id", "audience",
                          "recipient_ref", "template", "client_ref", "site_id", "level",
                          "from_level", "reason_code", "proposal_id", "event_kind",
                          "information", "authorization_id", "ends_on", "consent_id",
                          "redisclosure_notice", "text"}
    assert entry["text"] == ("Carepath update for client c-0a1b2c3d: client admitted at level "
                             "residential, site boston.")


def test_email_without_an_smtp_host_fails_with_a_reason() -> None:
    channel = EmailChannel(host=None, port=25, sender="carepath@localhost", timeout_s=1)
    with pytest.raises(DeliveryError, match="SMTP_HOST") as raised:
        channel.send(MESSAGE, address="team@boston.example")
    assert raised.value.failure is DeliveryFailure.not_configured


def test_a_webhook_without_a_url_fails_with_a_reason() -> None:
    channel = WebhookChannel(default_url=None, timeout_s=1)
    with pytest.raises(DeliveryError, match="no URL") as raised:
        channel.send(MESSAGE, address="care-team-boston")
    assert raised.value.failure is DeliveryFailure.not_configured


def test_failures_are_coded_by_what_the_receiver_or_the_network_said() -> None:
    assert [http_failure(status) for status in (404, 422, 500, 503)] == [
        DeliveryFailure.rejected, DeliveryFailure.rejected, DeliveryFailure.server_error,
        DeliveryFailure.server_error]
    assert [smtp_failure(code) for code in (451, 550, 250)] == [
        DeliveryFailure.server_error, DeliveryFailure.rejected, DeliveryFailure.unknown]
    refused = smtplib.SMTPRecipientsRefused({"kin@example.org": (550, b"no such user")})
    assert failure_of(refused) is DeliveryFailure.invalid_address
    assert failure_of(TimeoutError()) is DeliveryFailure.timeout
    assert failure_of(httpx.ReadTimeout("slow")) is DeliveryFailure.timeout
    assert failure_of(ConnectionRefusedError()) is DeliveryFailure.connection_refused
    assert failure_of(httpx.ConnectError("refused")) is DeliveryFailure.connection_refused
    assert failure_of(ValueError("kin@example.org")) is DeliveryFailure.unknown


def test_a_webhook_nobody_listens_on_fails_as_refused_without_naming_the_url() -> None:
    channel = WebhookChannel(default_url=None, timeout_s=1)
    with pytest.raises(DeliveryError) as raised:
        channel.send(MESSAGE, address="http://127.0.0.1:9/notify")
    assert raised.value.failure is DeliveryFailure.connection_refused
    assert raised.value.detail == "webhook: ConnectError"
