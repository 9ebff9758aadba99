"""How a notification ends — sent, suppressed or failed — each a row change plus its event in the
same transaction, caused by the triggering event and carrying its site and episode. A message
sent under a consent is also a disclosure, kept for the client's accounting (42 CFR 2.25)."""

from __future__ import annotations

from datetime import datetime

from contracts import CausalLink
from contracts.events import (
    Audience,
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
)
from contracts.events.notification import DeliveryFailure, NotificationEvent
from services.notification.consent import Reason
from services.notification.domain import Status
from services.notification.repository import (
    Disclosure,
    Effects,
    Notification,
    NotificationRepository,
)

FAILED_REASON = "delivery_failed"


def suppress(repo: NotificationRepository, tx: Effects, row: Notification,
             reason: Reason) -> None:
    row.status, row.reason, row.next_attempt_at = Status.suppressed.value, reason.value, None
    repo.save(row)
    _emit(tx, row, NotificationSuppressed.model_validate(
        {**_common(row), "reason": reason.value}))


def mark_sent(repo: NotificationRepository, tx: Effects, row: Notification, *, attempts: int,
              now: datetime) -> None:
    row.status, row.sent_at, row.attempts = Status.sent.value, now, attempts
    row.next_attempt_at = None
    repo.save(row)
    disclosure = _disclosure(row, at=now)
    if disclosure is not None:
        repo.add_disclosure(disclosure)
    _emit(tx, row, NotificationSent.model_validate(
        {**_common(row), "channel": row.channel}))


def mark_failed(repo: NotificationRepository, tx: Effects, row: Notification, *, attempts: int,
                failure: DeliveryFailure, detail: str) -> None:
    """The bus hears the failure's code only; `detail` (no addresses or message text) stays in
    the delivery log."""
    row.status, row.reason, row.attempts = Status.failed.value, FAILED_REASON, attempts
    row.last_error, row.next_attempt_at = _error(failure, detail), None
    repo.save(row)
    _emit(tx, row, NotificationFailed.model_validate(
        {**_common(row), "channel": row.channel, "error": failure.value,
         "error_code": failure, "attempts": attempts}))


def schedule_retry(repo: NotificationRepository, row: Notification, *, attempts: int,
                   at: datetime, failure: DeliveryFailure, detail: str) -> None:
    row.attempts, row.next_attempt_at = attempts, at
    row.last_error = _error(failure, detail)
    repo.save(row)


def _error(failure: DeliveryFailure, detail: str) -> str:
    return f"{failure.value}: {detail}"[:300]


def _disclosure(row: Notification, *, at: datetime) -> Disclosure | None:
    """Set by the consent check as the message was claimed: only messages under a consent."""
    if not (row.consent_id and row.purpose and row.information):
        return None
    return Disclosure(notification_id=row.notification_id, client_ref=row.client_ref,
                      site_id=row.site_id, recipient_ref=row.recipient_ref,
                      consent_id=row.consent_id, purpose=row.purpose,
                      information=row.information, event_kind=row.event_kind,
                      channel=row.channel, disclosed_at=at)


def _common(row: Notification) -> dict[str, object]:
    return {
        "notification_id": row.notification_id,
        "audience": Audience(row.audience),
        "template": row.template,
        "trigger_event_id": str(row.trigger_event_id),  # a string in the contract
        "trigger_type": row.trigger_type,
        "recipient_ref": row.recipient_ref,
    }


def _emit(tx: Effects, row: Notification, payload: NotificationEvent) -> None:
    tx.emit(payload, subject=row.client_ref, site_id=row.site_id,
            episode_id=row.episode_id,
            cause=CausalLink(event_id=row.trigger_event_id, correlation_id=row.correlation_id))
