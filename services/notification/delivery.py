"""The delivery worker: claims due pending notifications and checks their consent again in one
transaction, sends each through its channel, then records the outcome and its event in one
transaction per notification. It wakes when a handler commits pending notifications and polls
as a safety net (retries coming due)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry.trace import Span, SpanKind

from carepath.runtime import Runtime
from carepath.telemetry import context_from_headers, tracer
from carepath.uow import Transaction, UnitOfWork
from contracts.events import Audience
from services.notification import domain, outcomes, store
from services.notification.channels import DeliveryError
from services.notification.config import DeliveryConfig, NotificationDeps
from services.notification.domain import GiveUp, Message
from services.notification.store import Notification

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def deliver_pending(runtime: Runtime) -> None:
    """Runs for the life of the service."""
    delivery = Delivery(uow=runtime.uow, deps=runtime.deps)
    await delivery.run(max_backoff_s=runtime.settings.retry_max_backoff_s)


@dataclass
class Delivery:
    uow: UnitOfWork
    deps: NotificationDeps
    clock: Clock = wall_clock

    @property
    def policy(self) -> DeliveryConfig:
        return self.deps.config.delivery

    async def run(self, *, max_backoff_s: float) -> None:
        """Deliver until cancelled: a pass, then (unless it claimed a full batch) wait for a
        handler's commit to wake it, or the poll interval at most."""
        pause_s = self.policy.poll_interval_s
        with self.deps.wake.listening() as woken:
            while True:
                woken.clear()  # a wake during the pass below then starts another at once
                try:
                    claimed = await asyncio.to_thread(self.deliver_due)
                    pause_s = self.policy.poll_interval_s
                except Exception as exc:  # e.g. the database is away: back off, keep going
                    log.warning("delivery pass failed (%s); retry in %.1fs",
                                type(exc).__name__, pause_s, exc_info=True)
                    claimed, pause_s = 0, min(pause_s * 2, max_backoff_s)
                if claimed < self.policy.claim_limit:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=pause_s)

    def deliver_due(self) -> int:
        """One pass over due notifications; how many it claimed (each settled or attempted,
        unless the pass ran out of lease)."""
        claimed_at = self.clock()
        claimed, to_send = self._claim(now=claimed_at)
        send_until = claimed_at + self.policy.lease / 2
        for row in to_send:
            if self.clock() > send_until:  # slow channels: the rest wait out their lease,
                break                      # rather than risk another worker sending them too
            with _delivery_span(row):
                self._record(row.notification_id, self._send(row))
        return claimed

    def _claim(self, *, now: datetime) -> tuple[int, list[Notification]]:
        """Claim the next due notifications; of those, the ones consent still allows."""
        with self.uow.transaction() as tx:
            claimed = store.claim_due(tx.session, now=now, lease=self.policy.lease,
                                      limit=self.policy.claim_limit)
            return len(claimed), [row for row in claimed
                                  if not self._withdrawn_for_consent(tx, row, now=now)]

    def _withdrawn_for_consent(self, tx: Transaction, row: Notification, *,
                               now: datetime) -> bool:
        """Consent is checked again as the notification is claimed, just before it is sent: a
        revocation since the trigger (or an expiry) turns it into a suppression."""
        if row.purpose is None:
            return False
        state = domain.consent_state(store.grants_of(tx.session, row.client_ref),
                                     recipient_ref=row.recipient_ref, purpose=row.purpose,
                                     at=now)
        reason = domain.reason_at_send(state)
        if reason is not None:
            with _delivery_span(row):
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
            decision = domain.after_failure(self.policy.retry,
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
                   event_kind=row.event_kind, from_level=row.from_level,
                   reason_code=row.reason_code, proposal_id=row.proposal_id)
