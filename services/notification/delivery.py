"""The delivery worker: claims due pending notifications and checks their consent again in one
transaction, sends each through its channel, then records the outcomes with their events (and,
for a message sent under a consent, the disclosure) in one transaction for what it sent in the
last RECORD_EVERY_S at most. It wakes when a handler commits pending notifications and polls as
a safety net (retries coming due)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from carepath.observability.telemetry import context_from_headers, tracer
from carepath.persistence.uow import UnitOfWork
from contracts.events import Audience
from contracts.events.notification import DeliveryFailure
from services.notification import consent, domain, endings
from services.notification.channels import DeliveryError
from services.notification.config import DeliveryConfig
from services.notification.consent import Grant
from services.notification.deps import NotificationDeps, NotificationRuntime
from services.notification.domain import GiveUp, Message
from services.notification.repository import Effects, Notification, NotificationRepository
from services.notification.store import BatchedNotifications

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MIN_SEND_S = 0.001  # a send is never taken to cost less
# Outcomes are recorded together, at the end of a pass or once the oldest unrecorded one is this
# old: a transaction (a read, an update, an outbox insert) per notification made notification
# the costliest service per pipeline event. What this costs: a crash between a send and its
# record sends that notification again once its lease ends (at-least-once, as before), now for
# up to this long of sends instead of one.
RECORD_EVERY_S = 0.25
Claimed = tuple[Notification, Grant | None]  # a notification, and the consent it is sent under


@dataclass(frozen=True)
class Failure:
    code: DeliveryFailure
    detail: str  # no addresses or message text: an exception class, a status


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def deliver_pending(runtime: NotificationRuntime) -> None:
    """Runs for the life of the service."""
    delivery = Delivery(uow=runtime.uow, deps=runtime.deps)
    await delivery.run(max_backoff_s=runtime.settings.retry_max_backoff_s)


@dataclass
class Delivery:
    uow: UnitOfWork
    deps: NotificationDeps
    clock: Clock = wall_clock
    # The longest a notification took to send in the last pass that sent any
    # (seconds, on `clock`); None until one did.
    slowest_s: float | None = field(default=None, init=False)
    last_limit: int = field(default=0, init=False)  # what the last pass could claim

    @property
    def policy(self) -> DeliveryConfig:
        return self.deps.config.delivery

    def claim_limit(self) -> int:
        """How many notifications a pass claims: as many as half the lease holds if each takes
        as long as the slowest of the last pass that sent any, or, before one has, as if every
        send ran to its timeout; at most `batch_size`. (A pass stops sending at half its lease
        whatever it claimed; what it leaves waits out the lease.) Claiming three at a time as
        if every send could time out cost a claim transaction per three notifications, which
        on PostgreSQL under load held delivery below what the consumers created."""
        policy = self.policy
        per_send = policy.send_timeout_s if self.slowest_s is None else max(self.slowest_s,
                                                                             MIN_SEND_S)
        return max(1, min(policy.batch_size, int(policy.lease_s / (2 * per_send))))

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
                if claimed < self.last_limit:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=pause_s)

    def deliver_due(self) -> int:
        """One pass over due notifications; how many it claimed (each settled or attempted,
        unless the pass ran out of lease)."""
        claimed_at = self.clock()
        self.last_limit = self.claim_limit()
        claimed, to_send = self._claim(now=claimed_at, limit=self.last_limit)
        send_until = claimed_at + self.policy.lease / 2
        slowest: float | None = None
        sent: list[Sent] = []
        for row, grant in to_send:
            began = self.clock()
            if began > send_until:  # slow channels: the rest wait out their lease,
                break               # rather than risk another worker sending them too
            span = _delivery_span(row)
            with trace.use_span(span):
                sent.append(Sent(row.notification_id, self._send(row, grant), span, began))
            slowest = max(slowest or 0.0, (self.clock() - began).total_seconds())
            if (self.clock() - sent[0].at).total_seconds() >= RECORD_EVERY_S:
                self._record(sent)
                sent = []
        self._record(sent)
        if slowest is not None:
            self.slowest_s = slowest
        return claimed

    def _claim(self, *, now: datetime, limit: int) -> tuple[int, list[Claimed]]:
        """Claim the next due notifications; of those, the ones consent still allows."""
        with self.uow.transaction() as tx:
            repo = BatchedNotifications.of(tx)
            claimed = repo.claim_due(now=now, lease=self.policy.lease, limit=limit)
            repo.read_ahead([], consenting=[row.client_ref for row in claimed if row.purpose])
            allowed = [(row, self._consent_at_send(repo, tx, row, now=now)) for row in claimed]
            return len(claimed), [(row, grant) for row, grant in allowed
                                  if row.status == domain.Status.pending.value]

    def _consent_at_send(self, repo: NotificationRepository, tx: Effects, row: Notification,
                         *, now: datetime) -> Grant | None:
        """Consent is checked again as the notification is claimed, just before it is sent: a
        revocation or an expiry (its date, or the end of the episode) since the trigger turns
        it into a suppression; otherwise the row names the consent it is sent under."""
        if row.purpose is None:
            return None
        found = consent.coverage(repo.grants_of(row.client_ref),
                                 recipient_ref=row.recipient_ref, purpose=row.purpose,
                                 information=row.information, at=now,
                                 episode_ends=repo.episode_ends_of(row.client_ref))
        if found.reason is not None:
            with trace.use_span(_delivery_span(row), end_on_exit=True):
                endings.suppress(repo, tx, row, found.reason)
            return None
        row.consent_id = found.grant.consent_id if found.grant else None
        repo.save(row)
        return found.grant

    def _send(self, row: Notification, grant: Grant | None) -> Failure | None:
        channel = self.deps.channels.get(row.channel)
        if channel is None:
            return Failure(DeliveryFailure.not_configured, f"unknown channel {row.channel!r}")
        try:
            channel.send(message_of(row, consent=grant), address=row.address)
        except DeliveryError as exc:
            return Failure(exc.failure, exc.detail)
        except Exception as exc:  # a channel bug must not stall delivery of everything else
            # The class only: an error's text may hold an address.
            log.error("channel %s raised %s unexpectedly", row.channel, type(exc).__name__)
            return Failure(DeliveryFailure.unknown, f"{row.channel}: {type(exc).__name__}")
        return None

    def _record(self, sent: list[Sent]) -> None:
        """The outcomes of `sent`, with their events, in one transaction; each event in its
        notification's delivery span, which ends here."""
        if not sent:
            return
        now = self.clock()
        try:
            with self.uow.transaction() as tx:
                repo = BatchedNotifications.of(tx)
                rows = repo.by_ids([outcome.notification_id for outcome in sent])
                for outcome in sent:
                    row = rows.get(outcome.notification_id)
                    if row is not None and row.status == domain.Status.pending.value:
                        with trace.use_span(outcome.span, end_on_exit=False):
                            self._settle(repo, tx, row, outcome.failure, now=now)
        finally:
            for outcome in sent:
                outcome.span.end()

    def _settle(self, repo: NotificationRepository, tx: Effects, row: Notification,
                failure: Failure | None, *, now: datetime) -> None:
        if failure is None:
            endings.mark_sent(repo, tx, row, attempts=row.attempts + 1, now=now)
            return
        decision = domain.after_failure(self.policy.retry, attempts_before=row.attempts, now=now)
        if isinstance(decision, GiveUp):
            endings.mark_failed(repo, tx, row, attempts=decision.attempts,
                                 failure=failure.code, detail=failure.detail)
        else:
            endings.schedule_retry(repo, row, attempts=decision.attempts, at=decision.at,
                                    failure=failure.code, detail=failure.detail)


@dataclass(frozen=True)
class Sent:
    """A notification the pass tried to send, its outcome not yet recorded."""

    notification_id: str
    failure: Failure | None
    span: Span
    at: datetime


def _delivery_span(row: Notification) -> Span:
    """Continue the trace of the triggering event, so one trace reaches the notification (the
    caller ends the span)."""
    return tracer().start_span(
        "notification deliver", context=context_from_headers(row.trace_headers or {}),
        kind=SpanKind.PRODUCER,
        attributes={"carepath.notification.id": row.notification_id,
                    "carepath.notification.channel": row.channel,
                    "carepath.notification.audience": row.audience})


def message_of(row: Notification, *, consent: Grant | None = None) -> Message:
    return Message(notification_id=row.notification_id, audience=Audience(row.audience),
                   recipient_ref=row.recipient_ref, template=row.template,
                   client_ref=row.client_ref, site_id=row.site_id, level=row.level,
                   event_kind=row.event_kind, from_level=row.from_level,
                   reason_code=row.reason_code, proposal_id=row.proposal_id,
                   information=row.information, consent=consent,
                   authorization_id=row.authorization_id, ends_on=row.ends_on)
