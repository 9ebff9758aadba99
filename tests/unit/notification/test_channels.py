"""Channels: the log line carries no PHI fields; misconfigured channels fail with a reason."""

import json
from pathlib import Path

import pytest

from contracts.events import Audience
from services.notification.channels import DeliveryError, EmailChannel, LogChannel, WebhookChannel
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
                          "from_level", "reason_code", "proposal_id", "event_kind", "text"}
    assert entry["text"] == ("Carepath update for client c-0a1b2c3d: client admitted at level "
                             "residential, site boston.")


def test_email_without_an_smtp_host_fails_with_a_reason() -> None:
    channel = EmailChannel(host=None, port=25, sender="carepath@localhost", timeout_s=1)
    with pytest.raises(DeliveryError, match="SMTP_HOST"):
        channel.send(MESSAGE, address="team@boston.example")


def test_a_webhook_without_a_url_fails_with_a_reason() -> None:
    channel = WebhookChannel(default_url=None, timeout_s=1)
    with pytest.raises(DeliveryError, match="no URL"):
        channel.send(MESSAGE, address="care-team-boston")
