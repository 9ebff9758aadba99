"""How a notification ends — sent, suppressed or failed — each a row change plus its event in the
same transaction, caused by the triggering event and carrying its site and episode."""

from __future__ import annotations

import uuid
from datetime import datetime

from carepath.uow import CausalLink, Transaction
from contracts.events import (
    Audience,
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
)
from contracts.events.notification import NotificationEvent
from services.notification.domain import Reason, Status
from services.notification.store import Notification

FAILED_REASON = "delivery_failed"


def suppress(tx: Transaction, row: Notification, reason: Reason) -> None:
    row.status, row.reason, row.next_attempt_at = Status.suppressed.value, reason.value, None
    tx.session.add(row)
    _emit(tx, row, NotificationSuppressed.model_validate(
        {**_common(row), "reason": reason.value}))


def mark_sent(tx: Transaction, row: Notification, *, attempts: int, now: datetime) -> None:
    row.status, row.sent_at, row.attempts = Status.sent.value, now, attempts
    row.next_attempt_at = None
    tx.session.add(row)
    _emit(tx, row, NotificationSent.model_validate(
        {**_common(row), "channel": row.channel}))


def mark_failed(tx: Transaction, row: Notification, *, attempts: int, error: str) -> None:
    row.status, row.reason, row.attempts = Status.failed.value, FAILED_REASON, attempts
    row.last_error, row.next_attempt_at = error[:300], None
    tx.session.add(row)
    _emit(tx, row, NotificationFailed.model_validate(
        {**_common(row), "channel": row.channel, "error": error[:300], "attempts": attempts}))


def schedule_retry(tx: Transaction, row: Notification, *, attempts: int, at: datetime,
                   error: str) -> None:
    row.attempts, row.next_attempt_at, row.last_error = attempts, at, error[:300]
    tx.session.add(row)


def _common(row: Notification) -> dict[str, object]:
    return {
        "notification_id": row.notification_id,
        "audience": Audience(row.audience),
        "template": row.template,
        "trigger_event_id": row.trigger_event_id,
        "trigger_type": row.trigger_type,
        "recipient_ref": row.recipient_ref,
    }


def _emit(tx: Transaction, row: Notification, payload: NotificationEvent) -> None:
    tx.emit(payload, subject=row.client_ref, site_id=row.site_id,
            episode_id=uuid.UUID(row.episode_id) if row.episode_id else None,
            cause=CausalLink(event_id=uuid.UUID(row.trigger_event_id),
                             correlation_id=uuid.UUID(row.correlation_id)))
