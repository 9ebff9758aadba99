"""Delivery channels: a JSON-lines log (embedded default), email over SMTP, and a webhook.
Each takes a PHI-free Message; the notification id travels along so receivers can dedupe."""

from __future__ import annotations

import json
import smtplib
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx

from services.notification.domain import Message


class DeliveryError(Exception):
    """The channel did not take the message; worth retrying."""


class Channel(Protocol):
    name: str

    def send(self, message: Message, *, address: str | None) -> None: ...


class LogChannel:
    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: Message, *, address: str | None) -> None:
        line = json.dumps({"time": datetime.now(UTC).isoformat(), "channel": self.name,
                           "address": address, **message.as_json()})
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        except OSError as exc:
            raise DeliveryError(f"log: {type(exc).__name__}: {exc}") from exc


class EmailChannel:
    name = "email"

    def __init__(self, *, host: str | None, port: int, sender: str, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    def send(self, message: Message, *, address: str | None) -> None:
        if not self.host:
            raise DeliveryError("email: CAREPATH_SMTP_HOST is not set")
        if not address:
            raise DeliveryError("email: no address for this recipient")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(self._email(message, address))
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}: {exc}") from exc

    def _email(self, message: Message, address: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = address
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.notification_id}@carepath.notification>"
        email.set_content(message.text)
        return email


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, default_url: str | None, timeout_s: float) -> None:
        self.default_url = default_url
        self.timeout_s = timeout_s

    def send(self, message: Message, *, address: str | None) -> None:
        is_url = address is not None and address.startswith(("http://", "https://"))
        url = address if is_url else self.default_url
        if not url:
            raise DeliveryError("webhook: no URL configured (notifications.yaml or "
                                "CAREPATH_WEBHOOK_URL)")
        try:
            response = httpx.post(url, json=message.as_json(), timeout=self.timeout_s,
                                  headers={"Idempotency-Key": message.notification_id})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
