"""The delivery worker: claims due pending notifications, checks consent again, sends through the
channel, then records the outcome and its event in one transaction per notification."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry.trace import Span, SpanKind

from carepath.service import Runtime
from carepath.telemetry import context_from_headers, tracer
from carepath.uow import UnitOfWork
from contracts.events import Audience
from services.notification import domain, outcomes, store
from services.notification.channels import DeliveryError
from services.notification.config import NotificationDeps
from services.notification.domain import GiveUp, Message
from services.notification.store import Notification

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def deliver_pending(runtime: Runtime) -> None:
    """Runs for the life of the service; a short poll picks up what handlers committed."""
    delivery = Delivery(uow=runtime.uow, deps=runtime.deps)
    poll_s = delivery.deps.config.delivery.poll_interval_s
    pause_s = poll_s
    while True:
        try:
            handled = await asyncio.to_thread(delivery.deliver_due)
            pause_s = poll_s
        except Exception as exc:  # e.g. the database is away: back off, keep the loop alive
            log.warning("delivery pass failed (%s); retry in %.1fs", type(exc).__name__, pause_s,
                        exc_info=True)
            handled, pause_s = 0, min(pause_s * 2, runtime.settings.retry_max_backoff_s)
        if handled == 0:
            await asyncio.sleep(pause_s)


@dataclass
class Delivery:
    uow: UnitOfWork
    deps: NotificationDeps
    clock: Clock = wall_clock

    def deliver_due(self) -> int:
        """One pass over due notifications; how many it settled or attempted."""
        with self.uow.transaction() as tx:
            due = store.due_ids(tx.session, now=self.clock(),
                                limit=self.deps.config.delivery.batch_size)
        return sum(self.deliver_one(notification_id) for notification_id in due)

    def deliver_one(self, notification_id: str) -> bool:
        """False if another worker holds it or it is no longer due."""
        row = self._claim(notification_id)
        if row is None:
            return False
        with _delivery_span(row):
            if not self._withdrawn_for_consent(notification_id):
                self._record(notification_id, self._send(row))
        return True

    def _claim(self, notification_id: str) -> Notification | None:
        with self.uow.transaction() as tx:
            if not store.claim(tx.session, notification_id, now=self.clock(),
                               lease=self.deps.config.delivery.lease):
                return None
            return store.by_id(tx.session, notification_id)

    def _withdrawn_for_consent(self, notification_id: str) -> bool:
        """Consent is checked again right before sending: a revocation since the trigger (or an
        expiry) turns the notification into a suppression."""
        now = self.clock()
        with self.uow.transaction() as tx:
            row = store.by_id(tx.session, notification_id)
            if row is None or row.status != domain.Status.pending.value:
                return True
            if row.purpose is None:
                return False
            state = domain.consent_state(store.grants_of(tx.session, row.client_ref),
                                         recipient_ref=row.recipient_ref, purpose=row.purpose,
                                         at=now)
            reason = domain.reason_at_send(state)
            if reason is not None:
                outcomes.suppress(tx, row, reason)
            return reason is not None

    def _send(self, row: Notification) -> str | None:
        channel = self.deps.channels.get(row.channel)
        if channel is None:
            return f"unknown channel {row.channel!r}"
        try:
            channel.send(message_of(row), address=row.address)
        except DeliveryError as exc:
            return str(exc)
        except Exception as exc:  # a channel bug must not stall delivery of everything else
            log.exception("channel %s raised unexpectedly", row.channel)
            return f"{type(exc).__name__}: {exc}"
        return None

    def _record(self, notification_id: str, error: str | None) -> None:
        now = self.clock()
        with self.uow.transaction() as tx:
            row = store.by_id(tx.session, notification_id)
            if row is None or row.status != domain.Status.pending.value:
                return
            if error is None:
                outcomes.mark_sent(tx, row, attempts=row.attempts + 1, now=now)
                return
            decision = domain.after_failure(self.deps.config.delivery.retry,
                                            attempts_before=row.attempts, now=now)
            if isinstance(decision, GiveUp):
                outcomes.mark_failed(tx, row, attempts=decision.attempts, error=error)
            else:
                outcomes.schedule_retry(tx, row, attempts=decision.attempts, at=decision.at,
                                        error=error)


def _delivery_span(row: Notification) -> AbstractContextManager[Span]:
    """Continue the trace of the triggering event, so one trace reaches the notification."""
    return tracer().start_as_current_span(
        "notification deliver", context=context_from_headers(row.trace_headers or {}),
        kind=SpanKind.PRODUCER,
        attributes={"carepath.notification.id": row.notification_id,
                    "carepath.notification.channel": row.channel,
                    "carepath.notification.audience": row.audience})


def message_of(row: Notification) -> Message:
    return Message(notification_id=row.notification_id, audience=Audience(row.audience),
                   recipient_ref=row.recipient_ref, template=row.template,
                   client_ref=row.client_ref, site_id=row.site_id, level=row.level,
                   event_kind=row.event_kind)
