"""A care event as notification remembers it, and the notifications it fans out to: pending
rows, or — for family or a payer without a consent in force that covers what the message would
tell — an immediate suppression."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime

from carepath.messaging.consumer import Incoming
from carepath.observability.telemetry import current_trace_headers
from carepath.persistence.db import as_utc
from carepath.persistence.rows import values_of
from contracts import EventData
from services.notification import consent, domain, endings
from services.notification.domain import Status, Target
from services.notification.repository import (
    AwaitingReferral,
    Effects,
    Notification,
    NotificationRepository,
)
from services.notification.wake import DeliveryWake


@dataclass(frozen=True)
class Trigger:
    event_id: uuid.UUID
    event_type: str
    correlation_id: uuid.UUID
    client_ref: str
    site_id: str | None
    episode_id: uuid.UUID | None
    event_kind: str
    level: str | None
    at: datetime
    from_level: str | None = None
    reason_code: str | None = None
    proposal_id: str | None = None
    authorization_id: str | None = None
    ends_on: date | None = None

    @classmethod
    def of(cls, event: Incoming) -> Trigger:
        envelope, data = event.envelope, event.data
        return cls(event_id=envelope.id, event_type=envelope.type,
                   correlation_id=envelope.correlationid, client_ref=envelope.subject,
                   site_id=envelope.siteid, episode_id=envelope.episodeid,
                   event_kind=domain.event_kind(type(data).__name__),
                   level=code_of(data, "to_level", "level", "current_level"),
                   from_level=code_of(data, "from_level"),
                   reason_code=code_of(data, "reason_code", "disposition"),
                   proposal_id=getattr(data, "proposal_id", None),
                   authorization_id=getattr(data, "authorization_id", None),
                   ends_on=getattr(data, "ends_on", None),
                   at=as_utc(envelope.time))


def code_of(data: EventData, *fields: str) -> str | None:
    """The first of `fields` the event carries: levels, dispositions and reasons are closed
    lists (enums), never free text."""
    for field in fields:
        value = getattr(data, field, None)
        if value is not None:
            return str(value.value)
    return None


def record(repo: NotificationRepository, tx: Effects, trigger: Trigger, targets: list[Target],
           *, wake: DeliveryWake) -> None:
    """Pending rows for the targets, which `wake` brings to the delivery worker once `tx`
    commits."""
    if targets:
        tx.after_commit(wake.ring)
    grants = repo.grants_of(trigger.client_ref)
    ends = repo.episode_ends_of(trigger.client_ref)
    for target in targets:
        row = _pending_row(trigger, target)
        repo.save(row)
        if target.purpose is None:
            continue
        reason = consent.coverage(grants, recipient_ref=target.recipient_ref,
                                  purpose=target.purpose, information=row.information,
                                  at=trigger.at, episode_ends=ends).reason
        if reason is not None:
            endings.suppress(repo, tx, row, reason)


def await_referral(repo: NotificationRepository, trigger: Trigger) -> None:
    """Topics are not ordered against each other: a placement event can arrive before the
    referral that names the family. Keep it, so family still hear of it once we know them."""
    kept = {field.name for field in fields(AwaitingReferral)}
    repo.keep_awaiting(AwaitingReferral(**{name: value for name, value in vars(trigger).items()
                                           if name in kept}))


def release_awaiting(repo: NotificationRepository, client_ref: str) -> list[Trigger]:
    """The client's placement events kept until their referral, oldest first."""
    return [Trigger(**values_of(row)) for row in repo.release_awaiting(client_ref)]


def _pending_row(trigger: Trigger, target: Target) -> Notification:
    return Notification(
        notification_id=domain.notification_id(trigger.event_id, target.audience,
                                                target.recipient_ref),
        client_ref=trigger.client_ref, audience=target.audience.value,
        recipient_ref=target.recipient_ref, channel=target.channel, address=target.address,
        template=domain.template_for(target.audience, trigger.event_kind),
        event_kind=trigger.event_kind, level=trigger.level, from_level=trigger.from_level,
        reason_code=domain.reason_code_for(target.audience, trigger.reason_code),
        proposal_id=trigger.proposal_id, site_id=trigger.site_id,
        episode_id=trigger.episode_id,
        purpose=target.purpose,
        information=domain.information_of(trigger.event_kind),
        authorization_id=trigger.authorization_id, ends_on=trigger.ends_on,
        status=Status.pending.value, trigger_event_id=trigger.event_id,
        trigger_type=trigger.event_type, correlation_id=trigger.correlation_id,
        created_at=trigger.at, next_attempt_at=trigger.at,
        trace_headers=current_trace_headers() or None)
