"""Notification's HTTP API: the delivery log, and each client's accounting of the disclosures
made with their consent."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from carepath.app.spec import RuntimeDep
from carepath.http.access import PrincipalDep
from contracts.consent import InformationCategory
from contracts.envelope import ClientRef
from contracts.events import Audience
from services.notification import store
from services.notification.domain import Status
from services.notification.repository import Notification

router = APIRouter(tags=["notification"])


class NotificationOut(BaseModel):
    notification_id: str
    client_ref: str
    audience: Audience
    recipient_ref: str
    channel: str
    template: str
    status: Status
    reason: str | None
    error: str | None
    information: InformationCategory | None  # what the message tells (contracts/consent.py)
    consent_id: str | None  # a family or payer message: the consent it was sent under
    trigger_event_id: uuid.UUID
    trigger_type: str
    site_id: str | None
    episode_id: uuid.UUID | None
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None


@router.get("/notifications", response_model=list[NotificationOut])
def list_notifications(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    client_ref: ClientRef | None = None,
    audience: Audience | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NotificationOut]:
    """The delivery log, newest last; the latest `limit` rows that match, at the caller's
    sites."""
    with runtime.uow.transaction() as tx:
        rows = store.SqlNotifications.of(tx).search(
            client_ref=client_ref, audience=audience.value if audience else None,
            status=status.value if status else None, limit=limit, sites=principal.site_filter)
        return [_out(row) for row in rows]


def _out(row: Notification) -> NotificationOut:
    return NotificationOut(
        notification_id=row.notification_id, client_ref=row.client_ref,
        audience=Audience(row.audience), recipient_ref=row.recipient_ref, channel=row.channel,
        template=row.template, status=Status(row.status), reason=row.reason,
        error=row.last_error,
        information=InformationCategory(row.information) if row.information else None,
        consent_id=row.consent_id, trigger_event_id=row.trigger_event_id,
        trigger_type=row.trigger_type, site_id=row.site_id, episode_id=row.episode_id,
        created_at=row.created_at, sent_at=row.sent_at, attempts=row.attempts,
        next_attempt_at=row.next_attempt_at)


class DisclosureOut(BaseModel):
    """One message sent to a recipient under the client's consent (42 CFR 2.25)."""

    disclosed_at: datetime
    recipient_ref: str
    consent_id: str
    purpose: str
    information: InformationCategory
    notification_id: str
    event_kind: str
    channel: str
    site_id: str | None


@router.get("/clients/{client_ref}/disclosures", response_model=list[DisclosureOut])
def list_disclosures(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    client_ref: ClientRef,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[DisclosureOut]:
    """The family and payer messages sent under the client's consent, newest first, each with
    the consent it was sent under: the accounting of disclosures (42 CFR 2.25), at the caller's
    sites."""
    with runtime.uow.transaction() as tx:
        rows = store.SqlNotifications.of(tx).disclosures_of(client_ref, limit=limit,
                                                            sites=principal.site_filter)
        return [DisclosureOut(
            disclosed_at=row.disclosed_at, recipient_ref=row.recipient_ref,
            consent_id=row.consent_id, purpose=row.purpose,
            information=InformationCategory(row.information),
            notification_id=row.notification_id, event_kind=row.event_kind,
            channel=row.channel, site_id=row.site_id) for row in rows]
