"""Delivery channels: a JSON-lines log (embedded default), email over SMTP, and a webhook.
Each takes a PHI-free Message; the notification id travels along so receivers can dedupe. A
channel that fails says why as a DeliveryFailure code, with a detail naming only the exception
class and status (an error's text may hold an address)."""

from __future__ import annotations

import json
import smtplib
import sys
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from contracts.events.notification import DeliveryFailure
from services.notification.domain import Message


class DeliveryError(Exception):
    """The channel did not take the message; worth retrying."""

    def __init__(self, failure: DeliveryFailure, detail: str) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure
        self.detail = detail


def failure_of(exc: BaseException) -> DeliveryFailure:
    """The code of a transport error that carries no status of its own. httpx is imported by
    the first webhook sent (it costs a process ~5 MB): until then no error is one of its."""
    web = sys.modules.get("httpx")
    if isinstance(exc, TimeoutError) or (web and isinstance(exc, web.TimeoutException)):
        return DeliveryFailure.timeout
    if isinstance(exc, ConnectionRefusedError) or (web and isinstance(exc, web.ConnectError)):
        return DeliveryFailure.connection_refused
    if isinstance(exc, smtplib.SMTPRecipientsRefused) or (
            web and isinstance(exc, web.UnsupportedProtocol)):
        return DeliveryFailure.invalid_address
    if isinstance(exc, smtplib.SMTPResponseException):
        return smtp_failure(exc.smtp_code)
    return DeliveryFailure.unknown


def smtp_failure(code: int) -> DeliveryFailure:
    """SMTP replies (RFC 5321 §4.2.1): 4yz a transient failure, 5yz a permanent refusal."""
    if 400 <= code < 500:
        return DeliveryFailure.server_error
    if 500 <= code < 600:
        return DeliveryFailure.rejected
    return DeliveryFailure.unknown


def http_failure(status: int) -> DeliveryFailure:
    if 400 <= status < 500:
        return DeliveryFailure.rejected
    if status >= 500:
        return DeliveryFailure.server_error
    return DeliveryFailure.unknown


def _detail(channel: str, exc: BaseException, status: int | None = None) -> str:
    return f"{channel}: {type(exc).__name__}" + (f" {status}" if status else "")


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
            raise DeliveryError(DeliveryFailure.unknown, _detail(self.name, exc)) from exc


class EmailChannel:
    name = "email"

    def __init__(self, *, host: str | None, port: int, sender: str, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    def send(self, message: Message, *, address: str | None) -> None:
        if not self.host:
            raise DeliveryError(DeliveryFailure.not_configured,
                                "email: CAREPATH_SMTP_HOST is not set")
        if not address:
            raise DeliveryError(DeliveryFailure.invalid_address,
                                "email: no address for this recipient")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(self._email(message, address))
        except (smtplib.SMTPException, OSError) as exc:
            status = exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else None
            raise DeliveryError(failure_of(exc), _detail(self.name, exc, status)) from exc

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
            raise DeliveryError(DeliveryFailure.not_configured, "webhook: no URL configured "
                                "(notifications.yaml or CAREPATH_WEBHOOK_URL)")
        import httpx

        try:
            response = httpx.post(url, json=message.as_json(), timeout=self.timeout_s,
                                  headers={"Idempotency-Key": message.notification_id})
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise DeliveryError(http_failure(status), _detail(self.name, exc, status)) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise DeliveryError(failure_of(exc), _detail(self.name, exc)) from exc
